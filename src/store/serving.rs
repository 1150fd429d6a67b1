//! Which `gw serve` processes run on a state directory, and which store generation each serves,
//! so that a CLI command can return only once its change is live ("read your writes" across
//! processes).
//!
//! Every committed write bumps the store's generation ([`crate::store::Store::generation`]). A
//! server keeps a marker file `serving/PID-N` in the state directory holding the generation of the
//! snapshot it serves, rewritten (atomically, by rename) after every reload and removed when it
//! stops, and holds an exclusive lock on `serving/PID-N.lock` for as long as it runs.
//! [`wait_until_served`] polls the markers whose lock is held until each has reached a generation;
//! a marker whose lock can be taken was left by a server that is gone (killed, crashed) and is
//! removed. The lock is the operating system's (`flock` / `LockFileEx`), so this works wherever
//! the state directory is shared, whatever the process ids.
//!
//! A marker is the generation on its first line, then, for a server that listens for callers
//! (`gw serve`, `gw demo`; not `gw invoke`'s private one), a line `listen ADDR` with the address
//! it listens on, so that CLI commands print invoke URLs with the right port ([`listening`]).
//! A marker holding only the generation (as written before the address was recorded) still
//! counts for waiting and has no address.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const DIR: &str = "serving";

/// One server's marker; removed on drop.
#[derive(Debug)]
pub struct Marker {
    path: PathBuf,
    /// Held (locked) while the server runs; `None` if it could not be made, and then CLI
    /// commands take the marker for a dead server's and do not wait for this one.
    lock: Option<std::fs::File>,
    /// The address the server listens on, if it takes callers.
    listen: Option<SocketAddr>,
}

impl Marker {
    /// A marker for this process (several servers in one process get distinct markers);
    /// `listen` is the address callers reach the server on, if it takes callers.
    pub fn new(state_dir: &Path, listen: Option<SocketAddr>) -> Marker {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = state_dir
            .join(DIR)
            .join(format!("{}-{n}", std::process::id()));
        let lock = (|| -> std::io::Result<std::fs::File> {
            std::fs::create_dir_all(state_dir.join(DIR))?;
            let file = std::fs::File::create(lock_path(&path))?;
            file.try_lock()?;
            Ok(file)
        })();
        let lock = match lock {
            Ok(file) => Some(file),
            Err(e) => {
                tracing::debug!("cannot lock {}: {e}", lock_path(&path).display());
                None
            }
        };
        Marker { path, lock, listen }
    }

    /// Records that `generation` is being served. Best effort: a failure only means CLI commands
    /// do not wait for this server.
    pub fn set(&self, generation: i64) {
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = self.path.with_extension("tmp");
            let text = match self.listen {
                Some(addr) => format!("{generation}\nlisten {addr}\n"),
                None => generation.to_string(),
            };
            std::fs::write(&tmp, text)?;
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
        if self.lock.take().is_some() {
            let _ = std::fs::remove_file(lock_path(&self.path));
        }
    }
}

fn lock_path(marker: &Path) -> PathBuf {
    marker.with_extension("lock")
}

/// Whether the server that wrote `marker` still runs: it holds the marker's lock.
fn alive(marker: &Path) -> bool {
    match std::fs::File::open(lock_path(marker)) {
        Ok(file) => matches!(file.try_lock(), Err(std::fs::TryLockError::WouldBlock)),
        Err(_) => false,
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

/// Waits until every live node of `store` (its `nodes` table: a PostgreSQL store's nodes on any
/// machine) serves `generation` or newer, at most `timeout`. Returns the nodes still behind.
pub fn wait_until_nodes_serve(
    store: &super::Store,
    generation: i64,
    timeout: Duration,
) -> Vec<super::Node> {
    let deadline = Instant::now() + timeout;
    loop {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let behind: Vec<super::Node> = match store.read(|tx| tx.nodes(now_ms)) {
            Ok(nodes) => nodes
                .into_iter()
                .filter(|n| n.generation < generation)
                .collect(),
            // The store answers no more: nothing to wait for that can be seen.
            Err(_) => return Vec::new(),
        };
        if behind.is_empty() || Instant::now() >= deadline {
            return behind;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn behind(state_dir: &Path, generation: i64) -> Vec<Behind> {
    live_markers(state_dir)
        .into_iter()
        .filter(|m| m.generation < generation)
        .map(|m| Behind {
            pid: m.pid,
            serving: m.generation,
        })
        .collect()
}

/// The addresses the running servers on `state_dir` listen on, each once, in ascending order
/// (empty when none runs, or none recorded an address).
pub fn listening(state_dir: &Path) -> Vec<SocketAddr> {
    let mut addrs: Vec<SocketAddr> = live_markers(state_dir)
        .into_iter()
        .filter_map(|m| m.listen)
        .collect();
    addrs.sort();
    addrs.dedup();
    addrs
}

/// What a live server's marker says.
struct Live {
    pid: u32,
    generation: i64,
    listen: Option<SocketAddr>,
}

/// The markers of the servers that run; the markers of servers that are gone are removed.
fn live_markers(state_dir: &Path) -> Vec<Live> {
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
        if path.extension().is_some() {
            continue; // a lock file, or a marker being written
        }
        if !alive(&path) {
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(lock_path(&path));
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if let Some((generation, listen)) = parse(&text) {
            out.push(Live {
                pid,
                generation,
                listen,
            });
        }
    }
    out
}

/// A marker's text: the generation, then optional `listen ADDR`.
fn parse(text: &str) -> Option<(i64, Option<SocketAddr>)> {
    let mut lines = text.lines();
    let generation = lines.next()?.trim().parse::<i64>().ok()?;
    let listen = lines
        .filter_map(|l| l.trim().strip_prefix("listen "))
        .find_map(|a| a.trim().parse::<SocketAddr>().ok());
    Some((generation, listen))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_for_live_markers_and_clears_dead_ones() {
        let dir = tempfile::tempdir().unwrap();
        // No server: nothing to wait for.
        assert!(wait_until_served(dir.path(), 5, Duration::ZERO).is_empty());
        let marker = Marker::new(dir.path(), None);
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
        // A marker whose lock nobody holds was left by a server that is gone: removed.
        let stale = dir.path().join(DIR).join("4194305-0");
        std::fs::write(&stale, "1").unwrap();
        std::fs::write(lock_path(&stale), "").unwrap();
        assert!(wait_until_served(dir.path(), 5, Duration::ZERO).is_empty());
        assert!(!stale.exists() && !lock_path(&stale).exists());
        // The live marker was left alone; dropping it removes it and its lock.
        assert!(marker.path.exists());
        drop(marker);
        assert_eq!(std::fs::read_dir(dir.path().join(DIR)).unwrap().count(), 0);
    }

    #[test]
    fn markers_record_the_listen_address_and_old_ones_still_count() {
        let dir = tempfile::tempdir().unwrap();
        assert!(listening(dir.path()).is_empty());
        let a: SocketAddr = "127.0.0.1:4567".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:4566".parse().unwrap();
        let first = Marker::new(dir.path(), Some(a));
        first.set(3);
        let second = Marker::new(dir.path(), Some(b));
        second.set(3);
        let same = Marker::new(dir.path(), Some(a));
        same.set(3);
        let private = Marker::new(dir.path(), None);
        private.set(3);
        assert_eq!(listening(dir.path()), vec![b, a]);
        // A marker in the old form (only the generation) is waited for and has no address.
        assert_eq!(parse("7"), Some((7, None)));
        assert_eq!(
            parse("7\nlisten 127.0.0.1:80\n"),
            Some((7, Some("127.0.0.1:80".parse().unwrap())))
        );
        assert_eq!(parse("7\nlisten nonsense\n"), Some((7, None)));
        assert_eq!(parse(""), None);
        assert_eq!(wait_until_served(dir.path(), 4, Duration::ZERO).len(), 4);
        drop((first, second, same, private));
        assert!(listening(dir.path()).is_empty());
    }
}
