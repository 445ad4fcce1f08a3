//! The directory watcher: one inotify instance for every watched directory
//! (pictures now; books and articles later), each routed to the service that
//! owns that directory.

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
    routes: HashMap<WatchDescriptor, Route>,
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
        let mask = WatchMask::CLOSE_WRITE
            | WatchMask::MOVED_TO
            | WatchMask::MOVED_FROM
            | WatchMask::DELETE;
        let wd = self.inotify.watches().add(dir, mask)?;
        self.routes.insert(wd, route);
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

fn deliver(routes: &HashMap<WatchDescriptor, Route>, wd: &WatchDescriptor, event: FileEvent) {
    if event == FileEvent::Rescan {
        routes.values().for_each(|route| route(FileEvent::Rescan));
    } else if let Some(route) = routes.get(wd) {
        route(event);
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
}
