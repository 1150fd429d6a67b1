//! `respond`: a Lambda-style test guest that ignores its event and writes its `RESPONSE`
//! environment variable verbatim to stdout (nothing if unset), then exits with `EXIT_CODE` (0 if
//! unset). Tests use it to drive a table of guest responses through the real gateway.

use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut input);
    let response = std::env::var("RESPONSE").unwrap_or_default();
    if std::io::stdout().write_all(response.as_bytes()).is_err() {
        std::process::exit(1);
    }
    let _ = std::io::stdout().flush();
    let code = std::env::var("EXIT_CODE")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    std::process::exit(code);
}
