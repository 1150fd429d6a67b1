//! Function logs as Lambda writes them to CloudWatch: per invocation a `START` line, what the guest
//! printed, an `END` line and a `REPORT` line with its duration, billed duration, memory size,
//! max memory used and, on a cold start, the init duration. One file per function under the
//! directory given (`<state>/logs/functions/NAME.log`), appended one invocation at a time with a
//! single write, so blocks from several workers or servers never interleave.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::Report;

/// Appends invocation blocks to each function's log file.
#[derive(Debug)]
pub struct FunctionLogs {
    dir: PathBuf,
    files: Mutex<HashMap<String, Arc<Mutex<File>>>>,
}

/// The log file of function `name` in `dir`.
pub fn log_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.log"))
}

impl FunctionLogs {
    pub fn new(dir: PathBuf) -> FunctionLogs {
        FunctionLogs {
            dir,
            files: Mutex::new(HashMap::new()),
        }
    }

    /// Writes one invocation's block; a log that cannot be written is reported once per failure
    /// in gw's own log and never fails the invocation.
    pub fn write(
        &self,
        name: &str,
        version: &str,
        request_id: &str,
        output: &[u8],
        report: &Report,
    ) {
        let block = block(version, request_id, output, report);
        let file = match self.file(name) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("cannot open the log of function {name}: {e}");
                return;
            }
        };
        let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = f.write_all(block.as_bytes()) {
            tracing::warn!("cannot write the log of function {name}: {e}");
        }
    }

    fn file(&self, name: &str) -> std::io::Result<Arc<Mutex<File>>> {
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = files.get(name) {
            return Ok(f.clone());
        }
        std::fs::create_dir_all(&self.dir)?;
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path(&self.dir, name))?;
        let f = Arc::new(Mutex::new(f));
        files.insert(name.to_owned(), f.clone());
        Ok(f)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// One invocation's lines, as Lambda prints them (fields of `REPORT` separated by tabs).
pub fn block(version: &str, request_id: &str, output: &[u8], report: &Report) -> String {
    let mut s = format!("START RequestId: {request_id} Version: {version}\n");
    let text = String::from_utf8_lossy(output);
    for line in text.lines() {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!("END RequestId: {request_id}\n"));
    let billed = (report.duration.as_secs_f64() * 1000.0).ceil().max(1.0) as u64;
    s.push_str(&format!(
        "REPORT RequestId: {request_id}\tDuration: {}\tBilled Duration: {billed} ms\tMemory Size: {} MB\tMax Memory Used: {} MB\t",
        ms(report.duration),
        report.memory_size_mb,
        report.max_memory_used_mb,
    ));
    if let Some(init) = report.init_duration {
        s.push_str(&format!("Init Duration: {}\t", ms(init)));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_lambdas_start_output_end_report() {
        let report = Report {
            duration: Duration::from_micros(2_346),
            memory_size_mb: 128,
            max_memory_used_mb: 19,
            init_duration: Some(Duration::from_micros(120_500)),
            environment: 1,
        };
        let b = block("3", "r-1", b"hello\nworld", &report);
        assert_eq!(
            b,
            "START RequestId: r-1 Version: 3\nhello\nworld\nEND RequestId: r-1\n\
             REPORT RequestId: r-1\tDuration: 2.35 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\t\
             Max Memory Used: 19 MB\tInit Duration: 120.50 ms\t\n"
        );
        let warm = Report {
            init_duration: None,
            ..report
        };
        assert!(!block("3", "r-2", b"", &warm).contains("Init Duration"));
    }
}
