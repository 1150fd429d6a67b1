//! `lambda-hostile`: a handler-world guest for gw's tests. Every environment counts its `init`
//! calls and invocations (globals survive between warm invocations); `?mode=` picks what an
//! invocation does:
//! - (none) answer 200 with `{"inits", "count", "start", "end"}` (wall-clock ms);
//! - `sleep&ms=N` the same after sleeping N ms (to observe concurrency from start/end);
//! - `trap` hit `unreachable`; `hog` allocate until the memory limit stops it; `spin` loop
//!   forever; `error` return a handler error (`errorType` "ValueError").

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

wit_bindgen::generate!({ path: "../../wit/handler.wit", world: "handler" });

static INITS: AtomicU64 = AtomicU64::new(0);
static COUNT: AtomicU64 = AtomicU64::new(0);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

struct Hostile;

impl Guest for Hostile {
    fn init() -> Result<(), HandlerError> {
        INITS.fetch_add(1, Ordering::Relaxed);
        eprintln!("init: environment starting");
        Ok(())
    }

    fn handle(event: String, _context: Context) -> Result<String, HandlerError> {
        let start = now_ms();
        let count = COUNT.fetch_add(1, Ordering::Relaxed) + 1;
        let event: serde_json::Value = serde_json::from_str(&event).unwrap_or_default();
        let q = &event["queryStringParameters"];
        let mode = q["mode"].as_str().unwrap_or("");
        println!("invocation {count} mode {mode:?}");
        match mode {
            "trap" => core::arch::wasm32::unreachable(),
            "hog" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                }
            }
            "spin" => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            "error" => {
                return Err(HandlerError {
                    error_type: "ValueError".into(),
                    error_message: "bad input: error mode".into(),
                    stack_trace: vec!["  at handle (lambda-hostile)".into()],
                })
            }
            "sleep" => {
                let ms = q["ms"].as_str().and_then(|s| s.parse().ok()).unwrap_or(100);
                std::thread::sleep(Duration::from_millis(ms));
            }
            _ => {}
        }
        let body = serde_json::json!({
            "inits": INITS.load(Ordering::Relaxed),
            "count": count,
            "start": start,
            "end": now_ms(),
        });
        Ok(serde_json::json!({
            "statusCode": 200,
            "headers": {"content-type": "application/json"},
            "body": body.to_string(),
        })
        .to_string())
    }
}

export!(Hostile);
