//! Access logs: a stage with `accessLogSettings.format` gets one line per request, the format's
//! `$context` variables filled in, as API Gateway writes them to the stage's log group. gw writes
//! them to its standard output (or a file, `gw serve --access-log FILE`): there is no CloudWatch
//! here, so `destinationArn` is kept and shown but not called.
//!
//! Lines are handed to one writer thread over a channel, so a slow terminal or pipe never holds a
//! worker; the writer flushes whenever it has caught up.

use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;

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

/// What one request's access-log line may refer to, gathered as the request is served (only for
/// stages that log).
#[derive(Debug, Default)]
pub struct Entry {
    pub format: Arc<str>,
    /// When the request was taken up (its latency is measured from here).
    pub started: Option<std::time::Instant>,
    pub request_id: String,
    pub extended_request_id: String,
    pub api_id: String,
    pub stage: String,
    pub deployment_id: String,
    pub is_canary: bool,
    pub http_method: String,
    /// `/{stage}/...` as requested.
    pub path: String,
    pub resource_path: Option<String>,
    pub resource_id: Option<String>,
    pub protocol: &'static str,
    pub source_ip: String,
    pub user_agent: Option<String>,
    pub domain_name: String,
    pub request_time_ms: i64,
    pub principal_id: Option<String>,
    pub api_key_id: Option<String>,
    pub integration_latency_ms: Option<u128>,
    /// Set when a gateway response answered: (message, response type).
    pub error: Option<(String, &'static str)>,
}

/// What is known once the response is: its status, length and the total latency.
pub struct Outcome {
    pub status: u16,
    pub response_length: Option<u64>,
    pub latency_ms: u128,
}

impl Entry {
    /// The line, with AWS's `-` for a value the request does not have.
    pub fn render(&self, outcome: &Outcome) -> String {
        crate::template::render(&self.format, |r| match r {
            crate::template::Reference::Context(key) => {
                Some(self.value(key, outcome).unwrap_or_else(|| "-".to_string()))
            }
            crate::template::Reference::StageVariable(_) => Some("-".to_string()),
        })
    }

    fn value(&self, key: &str, o: &Outcome) -> Option<String> {
        Some(match key {
            "requestId" | "awsEndpointRequestId" => self.request_id.clone(),
            "extendedRequestId" => self.extended_request_id.clone(),
            "apiId" => self.api_id.clone(),
            "stage" => self.stage.clone(),
            "deploymentId" => self.deployment_id.clone(),
            "isCanaryRequest" => self.is_canary.to_string(),
            "httpMethod" => self.http_method.clone(),
            "path" => self.path.clone(),
            "resourcePath" => self.resource_path.clone()?,
            "resourceId" => self.resource_id.clone()?,
            "protocol" => self.protocol.to_string(),
            "identity.sourceIp" => self.source_ip.clone(),
            "identity.userAgent" => self.user_agent.clone()?,
            "identity.apiKeyId" => self.api_key_id.clone()?,
            "domainName" => self.domain_name.clone(),
            "domainPrefix" => crate::lambda::domain_prefix(&self.domain_name).to_string(),
            "accountId" => crate::lambda::DEFAULT_ACCOUNT_ID.to_string(),
            "requestTime" => crate::lambda::clf_time(self.request_time_ms),
            "requestTimeEpoch" => self.request_time_ms.to_string(),
            "authorizer.principalId" => self.principal_id.clone()?,
            "status" => o.status.to_string(),
            "responseLength" => o.response_length?.to_string(),
            "responseLatency" => o.latency_ms.to_string(),
            "integrationLatency" | "integration.latency" => {
                self.integration_latency_ms?.to_string()
            }
            "error.message" => self.error.as_ref()?.0.clone(),
            "error.messageString" => {
                serde_json::Value::String(self.error.as_ref()?.0.clone()).to_string()
            }
            "error.responseType" => self.error.as_ref()?.1.to_string(),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_fills_known_variables_and_dashes_the_rest() {
        let entry = Entry {
            format: Arc::from(
                r#"{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","time":"$context.requestTime","method":"$context.httpMethod","resource":"$context.resourcePath","status":"$context.status","length":"$context.responseLength","err":$context.error.messageString,"caller":"$context.identity.caller"}"#,
            ),
            request_id: "r-1".into(),
            source_ip: "127.0.0.1".into(),
            request_time_ms: 0,
            http_method: "GET".into(),
            resource_path: Some("/pets/{id}".into()),
            error: Some((
                "Missing Authentication Token".into(),
                "MISSING_AUTHENTICATION_TOKEN",
            )),
            ..Entry::default()
        };
        let line = entry.render(&Outcome {
            status: 403,
            response_length: Some(42),
            latency_ms: 3,
        });
        assert_eq!(
            line,
            r#"{"requestId":"r-1","ip":"127.0.0.1","time":"01/Jan/1970:00:00:00 +0000","method":"GET","resource":"/pets/{id}","status":"403","length":"42","err":"Missing Authentication Token","caller":"-"}"#
        );
    }
}
