//! The listing commands' JSON and table shapes, API selection with `--api`, `gw api delete`,
//! re-import modes (merge / overwrite) and `--basepath`, all through the real binary.

use crate::common;

use common::Gw;
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn spec(name: &str) -> String {
    common::root()
        .join("specs")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

fn corpus(name: &str) -> String {
    common::corpus_dir()
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

/// `gw routes --api API --json` as (METHOD, path) pairs, in output order.
fn route_pairs(gw: &Gw, api: &str) -> Vec<(String, String)> {
    let v = json(&gw.ok(&["routes", "--api", api, "--json"]));
    v["item"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["httpMethod"].as_str().unwrap().to_string(),
                r["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect()
}

fn write(gw: &Gw, name: &str, text: &str) -> String {
    let path = gw.state().join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Split a table line at the header's column starts.
fn cells(line: &str, starts: &[usize]) -> Vec<String> {
    let chars: Vec<char> = line.chars().collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let end = starts
                .get(i + 1)
                .copied()
                .unwrap_or(chars.len())
                .min(chars.len());
            let cell: String = chars[s.min(chars.len())..end].iter().collect();
            // Each column ends with at least two spaces before the next one.
            if i + 1 < starts.len() {
                assert!(cell.ends_with("  "), "column {i} not padded in {line:?}");
            }
            cell.trim().to_string()
        })
        .collect()
}

fn column_starts(header: &str, names: &[&str]) -> Vec<usize> {
    names
        .iter()
        .map(|n| {
            header
                .find(n)
                .unwrap_or_else(|| panic!("no column {n} in {header:?}"))
        })
        .collect()
}

/// One help page, taken apart: the summary line, the subcommands with their summaries, and the
/// arguments and options with their descriptions (`[default: ..]`-style notes left out).
struct Help {
    about: String,
    commands: Vec<(String, String)>,
    entries: Vec<(String, String)>,
}

fn help(gw: &Gw, path: &[&str]) -> Help {
    let mut args = path.to_vec();
    args.push("--help");
    let text = gw.ok(&args);
    let about = text.lines().next().unwrap_or("").trim().to_string();
    let mut commands = Vec::new();
    let mut entries: Vec<(String, String)> = Vec::new();
    let mut section = "";
    for line in text.lines() {
        if !line.starts_with(' ') {
            // A section's header, or text after the sections (after_help).
            section = if line.ends_with(':') { line } else { "" };
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        let (head, rest) = trimmed.split_once("  ").unwrap_or((trimmed, ""));
        match section {
            "Commands:" => commands.push((head.to_string(), rest.trim().to_string())),
            "Arguments:" | "Options:" if indent <= 6 => {
                entries.push((head.to_string(), rest.trim().to_string()))
            }
            "Arguments:" | "Options:" => {
                if let Some(last) = entries.last_mut() {
                    last.1.push(' ');
                    last.1.push_str(trimmed);
                }
            }
            _ => {}
        }
    }
    // What is left once clap's notes are gone.
    for e in &mut entries {
        let mut d = e.1.clone();
        while let (Some(open), Some(close)) = (d.rfind('['), d.rfind(']')) {
            if open > close {
                break;
            }
            d.replace_range(open..=close, "");
        }
        e.1 = d.trim().to_string();
    }
    Help {
        about,
        commands,
        entries,
    }
}

mod output_and_help;
mod shapes;
