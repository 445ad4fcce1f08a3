//! Small tmpfs file systems for the full-disk tests: mounted (root may, as
//! in CI), filled to the last byte, unmounted however the test ends.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::TempDir;

/// tmpfs file systems mounted under one temp dir, unmounted when dropped,
/// however the test ends.
pub struct Mounts {
    points: Vec<PathBuf>,
    root: TempDir,
}

impl Mounts {
    pub fn new(name: &str) -> Mounts {
        Mounts { points: Vec::new(), root: TempDir::new(name) }
    }

    /// A fresh tmpfs of `size` (as `mount -o size=` reads it) at `relative`
    /// in this temp dir.
    pub fn tmpfs(&mut self, relative: &str, size: &str) -> PathBuf {
        let dir = self.root.path().join(relative);
        self.tmpfs_at(&dir, size);
        dir
    }

    /// A fresh tmpfs at `dir`, which must outlive these mounts.
    pub fn tmpfs_at(&mut self, dir: &Path, size: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "cannot mount a tmpfs at {} ({}): the full-disk tests need root, as CI runs them; \
             run `sudo -E cargo test --locked --test full_disk`",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        self.points.push(dir.to_path_buf());
    }
}

impl Drop for Mounts {
    fn drop(&mut self) {
        for point in self.points.iter().rev() {
            // Lazy: a server killed a moment ago may still hold a file there.
            let _ = Command::new("umount").arg("-l").arg(point).status();
        }
    }
}

/// Fill the file system of `dir` to the last byte with `dir/filler`.
pub fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = File::create(&path).unwrap();
    let chunk = vec![0x5a_u8; 64 * 1024];
    for size in [chunk.len(), 4096, 1] {
        loop {
            match file.write(&chunk[..size]) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("cannot fill {}: {e}", dir.display()),
            }
        }
    }
    path
}
