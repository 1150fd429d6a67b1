//! Which `gw serve` processes run on a state directory, and which store generation each serves,
//! so that a CLI command can return only once its change is live ("read your writes" across
//! processes).
//!
//! Every committed write bumps the store's generation ([`crate::store::Store::generation`]). A
//! server keeps a marker file `serving/PID-N` in the state directory holding the generation of the
//! snapshot it serves, rewritten (atomically, by rename) after every reload and removed when it
//! stops. [`wait_until_served`] polls the markers of live processes until each has reached a
//! generation; a marker left by a process that no longer exists is removed.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const DIR: &str = "serving";

/// One server's marker; removed on drop.
#[derive(Debug)]
pub struct Marker {
    path: PathBuf,
}

impl Marker {
    /// A marker for this process (several servers in one process get distinct markers).
    pub fn new(state_dir: &Path) -> Marker {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        Marker {
            path: state_dir
                .join(DIR)
                .join(format!("{}-{n}", std::process::id())),
        }
    }

    /// Records that `generation` is being served. Best effort: a failure only means CLI commands
    /// do not wait for this server.
    pub fn set(&self, generation: i64) {
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = self.path.with_extension("tmp");
            std::fs::write(&tmp, generation.to_string())?;
            std::fs::rename(&tmp, &self.path)
        };
        if let Err(e) = write() {
            tracing::debug!("cannot write {}: {e}", self.path.display());
        }
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A server that had not reached the generation when the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Behind {
    pub pid: u32,
    pub serving: i64,
}

/// Waits until every live server on `state_dir` serves `generation` or newer, at most `timeout`.
/// Returns the servers still behind (none when all caught up or none runs).
pub fn wait_until_served(state_dir: &Path, generation: i64, timeout: Duration) -> Vec<Behind> {
    let deadline = Instant::now() + timeout;
    loop {
        let behind = behind(state_dir, generation);
        if behind.is_empty() || Instant::now() >= deadline {
            return behind;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn behind(state_dir: &Path, generation: i64) -> Vec<Behind> {
    let Ok(entries) = std::fs::read_dir(state_dir.join(DIR)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.split_once('-'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "tmp") {
            continue;
        }
        if !alive(pid) {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        match text.trim().parse::<i64>() {
            Ok(serving) if serving < generation => out.push(Behind { pid, serving }),
            _ => {}
        }
    }
    out
}

#[cfg(target_os = "linux")]
fn alive(pid: u32) -> bool {
    Path::new("/proc").join(pid.to_string()).exists()
}

/// Without /proc, a marker is taken as live; the wait is bounded by its timeout.
#[cfg(not(target_os = "linux"))]
fn alive(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_live_markers_and_clears_dead_ones() {
        let dir = tempfile::tempdir().unwrap();
        // No server: nothing to wait for.
        assert!(wait_until_served(dir.path(), 5, Duration::ZERO).is_empty());
        let marker = Marker::new(dir.path());
        marker.set(4);
        let behind = wait_until_served(dir.path(), 5, Duration::from_millis(5));
        assert_eq!(
            behind,
            vec![Behind {
                pid: std::process::id(),
                serving: 4
            }]
        );
        marker.set(5);
        assert!(wait_until_served(dir.path(), 5, Duration::ZERO).is_empty());
        // A marker whose process is gone (pid beyond the kernel's limit) is removed.
        let stale = dir.path().join(DIR).join("4194305-0");
        std::fs::write(&stale, "1").unwrap();
        assert!(wait_until_served(dir.path(), 5, Duration::ZERO).is_empty());
        assert!(!stale.exists());
        drop(marker);
        assert_eq!(std::fs::read_dir(dir.path().join(DIR)).unwrap().count(), 0);
    }
}
