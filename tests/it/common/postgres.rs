//! A real PostgreSQL server for the tests of the PostgreSQL store: Debian's `postgresql`
//! binaries, a fresh cluster (`initdb`) in a temporary folder, listening on a loopback port of
//! its own; run as the unprivileged `postgres` user when the tests run as root (the server
//! refuses root). Stopped on drop; restartable on the same port and data (an outage).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct PostgresServer {
    pub port: u16,
    data: tempfile::TempDir,
    bin: std::path::PathBuf,
    child: Option<Child>,
}

/// The directory of `initdb` and `postgres`: `GW_PG_BIN`, else the newest under
/// /usr/lib/postgresql (what `scripts/test.sh` installs).
fn bin_dir() -> std::path::PathBuf {
    if let Ok(dir) = std::env::var("GW_PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, std::path::PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| {
                    let v: u32 = e.file_name().to_str()?.parse().ok()?;
                    Some((v, e.path().join("bin")))
                })
                .filter(|(_, p)| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().map(|(_, p)| p).unwrap_or_else(|| {
        panic!("PostgreSQL is not installed: install Debian's postgresql package (scripts/test.sh does when run as root) or set GW_PG_BIN to the directory holding initdb and postgres")
    })
}

fn is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args` as the `postgres` user when running as root (`setpriv` execs in place, so the
/// child is the server itself).
fn as_server_user(program: &std::path::Path) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--reset-env",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

impl PostgresServer {
    pub fn start() -> PostgresServer {
        let bin = bin_dir();
        let data = tempfile::tempdir().unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(data.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the cluster folder failed");
        }
        let out = as_server_user(&bin.join("initdb"))
            .args(["-D"])
            .arg(data.path().join("cluster"))
            .args(["-A", "trust", "-U", "gw", "-E", "UTF8", "--no-sync"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut s = PostgresServer {
            port,
            data,
            bin,
            child: None,
        };
        s.restart();
        s
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = as_server_user(&self.bin.join("postgres"))
            .arg("-D")
            .arg(self.data.path().join("cluster"))
            .args(["-p", &self.port.to_string(), "-k"])
            .arg(self.data.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let started = Instant::now();
        loop {
            if off_runtime(self.url("postgres"), |url| {
                postgres::Client::connect(&url, postgres::NoTls).is_ok()
            }) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "PostgreSQL on port {} did not accept connections within 20 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server (its data stays).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SIGINT: PostgreSQL's fast shutdown.
            let _ = Command::new("kill")
                .args(["-INT", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://gw@127.0.0.1:{}/{database}", self.port)
    }

    /// A new, empty database; its URL.
    pub fn database(&self, name: &str) -> String {
        let sql = format!("CREATE DATABASE {name}");
        off_runtime(self.url("postgres"), move |url| {
            let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            c.batch_execute(&sql).unwrap();
        });
        self.url(name)
    }
}

/// Runs `f(url)` on a thread of its own: the sync client blocks on a runtime of its own, which
/// tokio refuses inside an async test's.
fn off_runtime<T: Send + 'static>(url: String, f: impl FnOnce(String) -> T + Send + 'static) -> T {
    std::thread::spawn(move || f(url)).join().unwrap()
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
    }
}
