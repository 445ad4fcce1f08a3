//! What a child process writes to a pipe, line by line, collected by a thread
//! as it comes. A line that the child has written may not have been read yet:
//! the tests wait for the line they need instead of reading the pipe once.

use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use super::wait_until;

pub struct Output {
    lines: Arc<Mutex<Vec<String>>>,
    reader: Option<JoinHandle<()>>,
}

impl Output {
    pub fn collect(pipe: impl Read + Send + 'static) -> Output {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        Output { lines, reader: Some(reader) }
    }

    /// The lines read so far.
    pub fn text(&self) -> String {
        self.lines().join("\n")
    }

    /// The first line read so far that contains `needle`.
    pub fn line_with(&self, needle: &str) -> Option<String> {
        self.lines().iter().find(|line| line.contains(needle)).cloned()
    }

    /// How many of the lines read so far contain `needle`.
    pub fn count(&self, needle: &str) -> usize {
        self.lines().iter().filter(|line| line.contains(needle)).count()
    }

    /// Waits until a line contains `needle`; false if none did within `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> bool {
        self.wait_for_count(needle, 1, timeout)
    }

    /// Waits until `n` lines contain `needle`; false if fewer did within `timeout`.
    pub fn wait_for_count(&self, needle: &str, n: usize, timeout: Duration) -> bool {
        wait_until(timeout, || (self.count(needle) >= n).then_some(())).is_some()
    }

    /// Waits until the pipe has ended, every writer gone, and its last line is
    /// read. Only for a pipe whose process has exited (or is about to).
    pub fn wait_for_end(&mut self) {
        if let Some(reader) = self.reader.take() {
            reader.join().expect("the pipe reader");
        }
    }

    fn lines(&self) -> MutexGuard<'_, Vec<String>> {
        self.lines.lock().unwrap()
    }
}
