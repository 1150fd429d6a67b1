//! What the commands print: `outln!` / `out!` (standard output that tolerates a closed pipe),
//! JSON, dates, and aligned text tables for listings.

/// `println!` for the command's output. Unlike `println!` it does not panic when standard output
/// is a closed pipe (`gw routes | head -1`): the program ends quietly, as Unix tools do.
macro_rules! outln {
    () => { $crate::output::emit(format_args!(""), true) };
    ($($t:tt)*) => { $crate::output::emit(format_args!($($t)*), true) };
}

/// `print!` for the command's output; see `outln!`.
macro_rules! out {
    ($($t:tt)*) => { $crate::output::emit(format_args!($($t)*), false) };
}

pub fn emit(args: std::fmt::Arguments, newline: bool) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_fmt(args).and_then(|()| {
        if newline {
            stdout.write_all(b"\n")
        } else {
            Ok(())
        }
    });
    if let Err(e) = written {
        exit_on_write_error(&e);
    }
}

/// Writes raw bytes (a response body) to standard output, as `emit` does text.
pub fn emit_bytes(bytes: &[u8]) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().write_all(bytes) {
        exit_on_write_error(&e);
    }
}

fn exit_on_write_error(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("error: writing to standard output: {e}");
    std::process::exit(1);
}

pub fn print_json(v: &impl serde::Serialize) -> anyhow::Result<()> {
    outln!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

/// A store timestamp (seconds since the epoch) as tables show it, in UTC.
pub fn date(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

/// An aligned text table: a header and rows, columns as wide as their widest cell.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell.chars().count());
                }
            }
        }
        let line = |f: &mut std::fmt::Formatter<'_>, cells: &[String]| -> std::fmt::Result {
            let last = cells.len().saturating_sub(1);
            for (i, cell) in cells.iter().enumerate() {
                if i == last {
                    write!(f, "{cell}")?;
                } else {
                    let pad = widths[i].saturating_sub(cell.chars().count());
                    write!(f, "{cell}{}  ", " ".repeat(pad))?;
                }
            }
            writeln!(f)
        };
        line(f, &self.header)?;
        for row in &self.rows {
            line(f, row)?;
        }
        Ok(())
    }
}
