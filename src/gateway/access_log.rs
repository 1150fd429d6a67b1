//! Access logs: a stage with `accessLogSettings.format` gets one line per request, the format's
//! `$context` variables filled in, as API Gateway writes them to the stage's log group. gw writes
//! them to its standard output (or a file, `gw serve --access-log FILE`): there is no CloudWatch
//! here, so `destinationArn` is kept and shown but not called.
//!
//! Lines are handed to one writer thread over a channel, so a slow terminal or pipe never holds a
//! worker; the writer flushes whenever it has caught up.

use crate::aws::context::Context;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;

/// Where access-log lines go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Sink {
    #[default]
    Stdout,
    File(PathBuf),
}

/// The sending end: cheap to clone, shared by the workers.
#[derive(Clone)]
pub struct Writer {
    lines: mpsc::Sender<String>,
}

impl Writer {
    /// Starts the writer thread. A file is opened for appending (created if missing).
    pub fn start(sink: &Sink) -> std::io::Result<Writer> {
        let out: Box<dyn Write + Send> = match sink {
            Sink::Stdout => Box::new(std::io::stdout()),
            Sink::File(path) => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        std::io::Error::new(
                            e.kind(),
                            format!("cannot open the access log {}: {e}", path.display()),
                        )
                    })?,
            ),
        };
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name("gw-access-log".into())
            .spawn(move || {
                let mut out = std::io::BufWriter::new(out);
                while let Ok(line) = rx.recv() {
                    let mut ok = writeln!(out, "{line}").is_ok();
                    // Write whatever else is queued, then flush once.
                    while let Ok(line) = rx.try_recv() {
                        ok &= writeln!(out, "{line}").is_ok();
                    }
                    if !(ok && out.flush().is_ok()) {
                        tracing::warn!("cannot write the access log");
                    }
                }
            })?;
        Ok(Writer { lines: tx })
    }

    pub fn write(&self, line: String) {
        let _ = self.lines.send(line);
    }
}

/// What is known once the response is: its status, length, the total and integration
/// latencies, and the gateway error that answered, if one did.
#[derive(Debug, Default)]
pub struct Outcome<'a> {
    pub status: u16,
    pub response_length: Option<u64>,
    pub latency_ms: u128,
    pub integration_latency_ms: Option<u128>,
    /// The message and response type of the gateway response that answered.
    pub error: Option<(&'a str, &'static str)>,
}

/// The access-log line of a request: `format` with its `$context` references filled from the
/// request's [`Context`] and `outcome`, and AWS's `-` for a value the request does not have.
pub fn line(format: &str, context: &Context, outcome: &Outcome) -> String {
    crate::aws::template::render(format, |r| match r {
        crate::aws::template::Reference::Context(key) => {
            Some(value(key, context, outcome).unwrap_or_else(|| "-".to_string()))
        }
        crate::aws::template::Reference::StageVariable(_) => Some("-".to_string()),
    })
}

fn value(key: &str, context: &Context, o: &Outcome) -> Option<String> {
    Some(match key {
        "status" => o.status.to_string(),
        "responseLength" => o.response_length?.to_string(),
        "responseLatency" => o.latency_ms.to_string(),
        "integrationLatency" | "integration.latency" => o.integration_latency_ms?.to_string(),
        "error.message" => o.error?.0.to_string(),
        "error.messageString" => serde_json::Value::String(o.error?.0.to_string()).to_string(),
        "error.responseType" => o.error?.1.to_string(),
        _ => return context.get(key),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_fills_known_variables_and_dashes_the_rest() {
        let format = r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime","method":"$context.httpMethod","resource":"$context.resourcePath","status":"$context.status","length":"$context.responseLength","err":$context.error.messageString,"caller":"$context.identity.caller"}"#;
        let context = Context {
            request_id: "r-1",
            source_ip: "127.0.0.1",
            request_time_ms: 0,
            http_method: "GET",
            resource_path: Some("/pets/{id}"),
            ..Context::default()
        };
        let line = line(
            format,
            &context,
            &Outcome {
                status: 403,
                response_length: Some(42),
                latency_ms: 3,
                integration_latency_ms: None,
                error: Some((
                    "Missing Authentication Token",
                    "MISSING_AUTHENTICATION_TOKEN",
                )),
            },
        );
        assert_eq!(
            line,
            r#"{"requestId":"r-1","ip":"127.0.0.1","time":"01/Jan/1970:00:00:00 +0000","method":"GET","resource":"/pets/{id}","status":"403","length":"42","err":"Missing Authentication Token","caller":"-"}"#
        );
    }
}
