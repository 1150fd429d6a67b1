//! `echo`: a Lambda-style gw function that answers 200 with the exact event JSON it received on
//! stdin as its body (`content-type: application/json`). Handy to see what gw sends a function.

use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        eprintln!("echo: cannot read the event: {e}");
        std::process::exit(1);
    }
    let body = String::from_utf8_lossy(&input);
    let resp = serde_json::json!({
        "statusCode": 200,
        "headers": { "content-type": "application/json" },
        "body": body,
        "isBase64Encoded": false,
    });
    if std::io::stdout()
        .write_all(resp.to_string().as_bytes())
        .is_err()
    {
        std::process::exit(1);
    }
}
