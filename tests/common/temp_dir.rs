//! A fresh directory for one test, removed when dropped. Only std, and no other
//! helper: `src/lib.rs` mounts this same file for its unit tests.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// `zatan-test-NAME-PID-N` under the system temp dir. The process id keeps
/// test binaries running at once apart, the counter the tests of one binary
/// (which run on several threads) and two directories of one test.
pub struct TempDir(PathBuf);

impl TempDir {
    /// Created empty: whatever an earlier process with the same id left there goes first.
    pub fn new(name: &str) -> TempDir {
        static CREATED: AtomicUsize = AtomicUsize::new(0);
        let n = CREATED.fetch_add(1, Ordering::Relaxed);
        let name = format!("zatan-test-{name}-{}-{n}", std::process::id());
        let dir = std::env::temp_dir().join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
