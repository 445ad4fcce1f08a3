//! The directory watcher: one inotify instance for every watched directory
//! (pictures, books, articles, and the directory of the rules file), each
//! routed to the service that owns that directory or, for a single file, to
//! the service that owns the file.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::ErrorKind;
use std::path::Path;
use std::time::{Duration, Instant};

use crossbeam_channel::never;
use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

use super::Service;
use crate::shutdown::Shutdown;

/// What happened to a file in a watched directory. Names only: a service
/// looks at the file itself when it handles the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileEvent {
    /// Written and closed, or moved in: complete and ready to read.
    Changed(String),
    /// Deleted or moved out.
    Removed(String),
    /// The kernel dropped events (queue overflow): look at the whole directory.
    Rescan,
}

/// Where a directory's events go: usually a closure that wraps the event into
/// the owning service's inbox message.
pub type Route = Box<dyn Fn(FileEvent) + Send>;

/// inotify offers no way to wait on it and a channel at once, so the watcher
/// reads without blocking at this interval and waits for shutdown between.
const POLL: Duration = Duration::from_millis(100);

pub struct Watcher {
    inotify: Inotify,
    /// inotify gives a directory watched twice one descriptor: each route
    /// of it is kept, with the file name it is for (None: the whole directory).
    routes: HashMap<WatchDescriptor, Vec<(Option<String>, Route)>>,
    buffer: Vec<u8>,
    /// None once inotify has failed.
    next_poll: Option<Instant>,
}

impl Watcher {
    pub fn new() -> std::io::Result<Watcher> {
        let next_poll = Some(Instant::now());
        Ok(Watcher {
            inotify: Inotify::init()?,
            routes: HashMap::new(),
            buffer: vec![0u8; 16 * 1024],
            next_poll,
        })
    }

    /// Watch `dir` (which must exist) and send its events to `route`.
    pub fn watch(&mut self, dir: &Path, route: Route) -> std::io::Result<()> {
        self.add(dir, None, route)
    }

    /// Watch the one file `path` (its directory must exist; the file need
    /// not): the events of its directory that name it go to `route`, and so
    /// does a `Rescan`. Editors that save by renaming a new file over the old
    /// one are seen too: the rename is a `Changed` of the file's name.
    pub fn watch_file(&mut self, path: &Path, route: Route) -> std::io::Result<()> {
        let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
            std::io::Error::new(ErrorKind::InvalidInput, "not a file name zatan can watch")
        })?;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        self.add(dir, Some(name.to_string()), route)
    }

    fn add(&mut self, dir: &Path, only: Option<String>, route: Route) -> std::io::Result<()> {
        let mask = WatchMask::CLOSE_WRITE
            | WatchMask::MOVED_TO
            | WatchMask::MOVED_FROM
            | WatchMask::DELETE;
        let wd = self.inotify.watches().add(dir, mask)?;
        self.routes.entry(wd).or_default().push((only, route));
        Ok(())
    }

    pub fn run(mut self, shutdown: &Shutdown) {
        super::run(&mut self, &never(), shutdown);
    }

    /// Hand every event the kernel has queued to its route. False when
    /// inotify itself failed.
    fn read_events(&mut self) -> bool {
        loop {
            match self.inotify.read_events(&mut self.buffer) {
                Ok(events) => {
                    let mut any = false;
                    for event in events {
                        any = true;
                        if let Some(file_event) = classify(event.mask, event.name) {
                            deliver(&self.routes, &event.wd, file_event);
                        }
                    }
                    if !any {
                        return true;
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                Err(e) => {
                    log::error!(
                        "directory watching failed ({e}); changes will be seen at the next start"
                    );
                    return false;
                }
            }
        }
    }
}

impl Service for Watcher {
    /// Nothing is sent to the watcher: it polls the kernel.
    type Message = ();

    fn next_due(&self) -> Option<Instant> {
        self.next_poll
    }

    fn on_message(&mut self, (): ()) {}

    fn on_due(&mut self) {
        self.next_poll = self.read_events().then(|| Instant::now() + POLL);
    }
}

type Routes = HashMap<WatchDescriptor, Vec<(Option<String>, Route)>>;

fn deliver(routes: &Routes, wd: &WatchDescriptor, event: FileEvent) {
    let name = match &event {
        FileEvent::Changed(name) | FileEvent::Removed(name) => name.as_str(),
        FileEvent::Rescan => {
            routes.values().flatten().for_each(|(_, route)| route(FileEvent::Rescan));
            return;
        }
    };
    for (only, route) in routes.get(wd).into_iter().flatten() {
        if only.as_deref().is_none_or(|only| only == name) {
            route(event.clone());
        }
    }
}

fn classify(mask: EventMask, name: Option<&OsStr>) -> Option<FileEvent> {
    if mask.contains(EventMask::Q_OVERFLOW) {
        return Some(FileEvent::Rescan);
    }
    if mask.contains(EventMask::ISDIR) {
        return None;
    }
    let name = name?.to_str()?.to_string();
    if name.starts_with('.') {
        return None; // editors' and downloaders' temporary files
    }
    if mask.intersects(EventMask::CLOSE_WRITE | EventMask::MOVED_TO) {
        Some(FileEvent::Changed(name))
    } else if mask.intersects(EventMask::DELETE | EventMask::MOVED_FROM) {
        Some(FileEvent::Removed(name))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::list_files;
    use crate::temp_dir::TempDir;

    fn expect(rx: &crossbeam_channel::Receiver<FileEvent>, want: FileEvent) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(got) = rx.recv_timeout(Duration::from_millis(100)) {
                if got == want {
                    return;
                }
            }
        }
        panic!("no {want:?}");
    }

    #[test]
    fn real_inotify_reports_writes_moves_and_deletes() {
        let (tmp, elsewhere) = (TempDir::new("watched"), TempDir::new("unwatched"));
        let (dir, outside) = (tmp.path(), elsewhere.path());
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut watcher = Watcher::new().unwrap();
        watcher.watch(dir, Box::new(move |e| tx.send(e).unwrap())).unwrap();
        let (trigger, shutdown) = crate::shutdown::pair();
        let thread = std::thread::spawn(move || watcher.run(&shutdown));

        std::fs::write(dir.join("a.png"), b"x").unwrap();
        expect(&rx, FileEvent::Changed("a.png".into()));
        std::fs::write(outside.join("b.png"), b"y").unwrap();
        std::fs::rename(outside.join("b.png"), dir.join("b.png")).unwrap();
        expect(&rx, FileEvent::Changed("b.png".into()));
        std::fs::rename(dir.join("b.png"), outside.join("b.png")).unwrap();
        expect(&rx, FileEvent::Removed("b.png".into()));
        std::fs::write(dir.join(".partial"), b"z").unwrap();
        std::fs::remove_file(dir.join("a.png")).unwrap();
        expect(&rx, FileEvent::Removed("a.png".into()));
        assert!(rx.try_iter().all(|e| !matches!(e, FileEvent::Changed(n) if n.starts_with('.'))));

        let start = Instant::now();
        trigger.fire();
        thread.join().unwrap();
        assert!(start.elapsed() < Duration::from_secs(1));
        assert!(dir.join(".partial").exists());
        assert!(list_files(dir).unwrap().is_empty(), "hidden files are not listed");
    }

    #[test]
    fn a_watched_file_gets_its_own_events_beside_its_directorys_owner() {
        let tmp = TempDir::new("watched-file");
        let dir = tmp.path();
        let (dir_tx, dir_rx) = crossbeam_channel::unbounded();
        let (file_tx, file_rx) = crossbeam_channel::unbounded();
        let mut watcher = Watcher::new().unwrap();
        watcher.watch(dir, Box::new(move |e| dir_tx.send(e).unwrap())).unwrap();
        watcher
            .watch_file(&dir.join("rules.toml"), Box::new(move |e| file_tx.send(e).unwrap()))
            .unwrap();
        let (trigger, shutdown) = crate::shutdown::pair();
        let thread = std::thread::spawn(move || watcher.run(&shutdown));
        // Every event the file's route gets names the file.
        let (seen_tx, seen) = crossbeam_channel::unbounded();
        let file_rx = {
            let (tx, rx) = crossbeam_channel::unbounded();
            std::thread::spawn(move || {
                for event in file_rx {
                    seen_tx.send(event.clone()).unwrap();
                    tx.send(event).unwrap();
                }
            });
            rx
        };

        std::fs::write(dir.join("other.txt"), b"x").unwrap();
        std::fs::write(dir.join("rules.toml"), b"y").unwrap();
        expect(&dir_rx, FileEvent::Changed("other.txt".into()));
        expect(&dir_rx, FileEvent::Changed("rules.toml".into()));
        expect(&file_rx, FileEvent::Changed("rules.toml".into()));
        // Saved the way many editors do: a new file renamed over the old one.
        std::fs::write(dir.join("rules.toml.new"), b"z").unwrap();
        std::fs::rename(dir.join("rules.toml.new"), dir.join("rules.toml")).unwrap();
        expect(&file_rx, FileEvent::Changed("rules.toml".into()));
        std::fs::remove_file(dir.join("rules.toml")).unwrap();
        expect(&file_rx, FileEvent::Removed("rules.toml".into()));
        trigger.fire();
        thread.join().unwrap();
        let names: Vec<FileEvent> = seen.iter().collect();
        assert!(
            names.iter().all(
                |e| matches!(e, FileEvent::Changed(n) | FileEvent::Removed(n) if n == "rules.toml")
            ),
            "only the file's own events: {names:?}"
        );
    }
}
