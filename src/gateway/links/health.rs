//! The active health checks: one thread (`gw-health`) that checks every target of every link
//! (and of every backend name) at its interval, and re-resolves names.

use super::{Links, DNS_REFRESH};
use crate::gateway::snapshot::Snapshot;
use crate::model::HealthCheck;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One active check of `target`: a TCP connect, then (with a path) a GET answered 2xx or 3xx.
async fn check(target: &str, health: &HealthCheck) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let timeout = Duration::from_millis(health.timeout_ms);
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(target).await.ok()?;
        let Some(path) = &health.path else {
            return Some(true);
        };
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: gw-health-check\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 64];
        let mut n = 0;
        while n < 12 {
            let read = stream.read(&mut head[n..]).await.ok()?;
            if read == 0 {
                break;
            }
            n += read;
        }
        let line = std::str::from_utf8(&head[..n]).ok()?;
        let code: u16 = line.get(9..12)?.parse().ok()?;
        Some((200..400).contains(&code))
    };
    matches!(tokio::time::timeout(timeout, attempt).await, Ok(Some(true)))
}

/// Runs the active health checks of every link until `stop`, on a thread of its own.
pub fn spawn_checks(
    links: Arc<Links>,
    snapshot: impl Fn() -> Arc<Snapshot> + Send + 'static,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("gw-health".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                tracing::error!("health checks: cannot start their runtime");
                return;
            };
            rt.block_on(async move {
                let mut names_due = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    let now = Instant::now();
                    if now >= names_due {
                        links.reconcile(&snapshot());
                        links.refresh_names().await;
                        links.refresh_backend_names().await;
                        names_due = now + DNS_REFRESH;
                    }
                    let mut pools = links.all(&snapshot());
                    pools.extend(links.backend_pools());
                    for pool in pools {
                        for target in pool.targets().iter() {
                            {
                                let mut due =
                                    target.next_check.lock().unwrap_or_else(|p| p.into_inner());
                                if *due > now {
                                    continue;
                                }
                                *due = now + Duration::from_millis(pool.health.interval_ms);
                            }
                            let (pool, target) = (pool.clone(), target.clone());
                            tokio::spawn(async move {
                                let ok = check(&target.address, &pool.health).await;
                                target.checked(ok, &pool.health, &pool.name);
                            });
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            });
        })
}
