//! The other servers on a store: their metrics, read from each one's `/_gw/stats`, so
//! `gw canary status`, `gw promote --check` and a ramp judge a canary by every server's requests,
//! not one's. The servers are those the serving markers of the state directory name, and, on a
//! PostgreSQL store, every live node of the `nodes` table (on any machine).

use crate::gateway::metrics::Series;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// What the servers on a state directory counted.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Every series of every server that answered.
    pub series: Vec<Series>,
    /// The servers that answered.
    pub answered: Vec<SocketAddr>,
    /// The servers that did not, and why.
    pub failed: Vec<(SocketAddr, String)>,
}

/// Where the servers of `store` listen: this state directory's (serving markers) and, on a
/// PostgreSQL store, every live node's (a node listening on every interface is reached by its
/// host name).
pub fn servers(store: &crate::store::Store) -> Vec<SocketAddr> {
    let mut addrs = crate::store::serving::listening(store.dir());
    if store.is_postgres() {
        let now_ms = chrono::Utc::now().timestamp_millis();
        for node in store.read(|tx| tx.nodes(now_ms)).unwrap_or_default() {
            let Ok(addr) = node.address.parse::<SocketAddr>() else {
                continue;
            };
            let reach = if addr.ip().is_unspecified() {
                use std::net::ToSocketAddrs as _;
                (node.host.as_str(), addr.port())
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
            } else {
                Some(addr)
            };
            addrs.extend(reach);
        }
    }
    addrs.sort();
    addrs.dedup();
    addrs
}

/// Reads `/_gw/stats` from every server of `store`.
pub fn gather(store: &crate::store::Store) -> Gathered {
    let mut out = Gathered::default();
    for addr in servers(store) {
        match stats(addr) {
            Ok(mut series) => {
                out.series.append(&mut series);
                out.answered.push(addr);
            }
            Err(e) => out.failed.push((addr, e)),
        }
    }
    out
}

/// One server's series.
pub fn stats(addr: SocketAddr) -> Result<Vec<Series>, String> {
    let body = get(addr, "/_gw/stats")?;
    #[derive(serde::Deserialize)]
    struct Stats {
        series: Vec<Series>,
    }
    serde_json::from_slice::<Stats>(&body)
        .map(|s| s.series)
        .map_err(|e| format!("{addr} answered /_gw/stats with something else: {e}"))
}

/// The servers that did not answer, and why.
pub type Failures = Vec<(SocketAddr, String)>;

/// Every server's `/_gw/api/links` on `store`: (server, its answer), and the servers that did
/// not answer.
pub fn links(store: &crate::store::Store) -> (Vec<(SocketAddr, serde_json::Value)>, Failures) {
    let (mut ok, mut failed) = (Vec::new(), Vec::new());
    for addr in servers(store) {
        match get(addr, "/_gw/api/links")
            .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("{addr}: not JSON: {e}")))
        {
            Ok(v) => ok.push((addr, v)),
            Err(e) => failed.push((addr, e)),
        }
    }
    (ok, failed)
}

/// A plain HTTP/1.1 GET, read to the end (`Connection: close`).
fn get(addr: SocketAddr, path: &str) -> Result<Vec<u8>, String> {
    let timeout = Duration::from_secs(5);
    let mut s = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("cannot reach the server on {addr}: {e}"))?;
    let _ = s.set_read_timeout(Some(timeout));
    let _ = s.set_write_timeout(Some(timeout));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: application/json\r\n\r\n"
    )
    .map_err(|e| format!("cannot ask {addr}: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)
        .map_err(|e| format!("{addr} did not answer: {e}"))?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("{addr} answered without an HTTP head"))?;
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    if !head.starts_with("http/1.1 200") {
        let status = head.lines().next().unwrap_or_default().to_string();
        return Err(format!("{addr} answered {path} with {status}"));
    }
    let body = raw[split + 4..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        return dechunk(&body).ok_or_else(|| format!("{addr} sent a malformed chunked body"));
    }
    Ok(body)
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").as_deref(),
            Some(&b"abcde"[..])
        );
        assert_eq!(dechunk(b"5\r\nab"), None);
    }
}
