//! Building Lambda handlers written in Python or JavaScript into handler-world components
//! (`wit/handler.wit`), for `gw function put NAME --runtime R --handler H --code DIR`.
//!
//! - Python (`python3.x`): `componentize-py` (PyPI) with gw's glue
//!   (`runtimes/python/gw_lambda_glue.py`), which carries the user's code into the component and
//!   runs it at `init`, once per execution environment.
//! - JavaScript (`nodejs*`): `componentize-js` (npm) through gw's build script
//!   (`runtimes/javascript/build.mjs`: esbuild bundles the module, ES or CommonJS, with its
//!   `node_modules`) and glue (`runtimes/javascript/glue.js`).
//!
//! The tools live in a toolchain directory shared by every state directory (`GW_TOOLCHAINS`, else
//! `$XDG_CACHE_HOME/gw/toolchains`, else `~/.cache/gw/toolchains`), installed there from PyPI or
//! npm on first use unless `componentize-py` is on `PATH` (or `GW_COMPONENTIZE_PY` names it) and
//! `GW_COMPONENTIZE_JS_DIR` names a prefix where the npm packages are installed. Built components
//! are cached in `<toolchains>/builds/` by the hash of everything that goes into them (runtime,
//! handler, glue, tool versions, every file of the code), so putting the same code again is
//! instant.

use super::{invalid, Result};
use crate::store::StoreError;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The pinned tool versions.
pub const COMPONENTIZE_PY: &str = "0.25.1";
pub const COMPONENTIZE_JS: &str = "0.23.0";
pub const ESBUILD: &str = "0.28.2";

const WIT: &str = include_str!("../../wit/handler.wit");
const PY_GLUE: &str = include_str!("../../runtimes/python/gw_lambda_glue.py");
const JS_GLUE: &str = include_str!("../../runtimes/javascript/glue.js");
const JS_BUILD: &str = include_str!("../../runtimes/javascript/build.mjs");

/// A language gw builds handlers from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Python,
    JavaScript,
}

impl Language {
    /// Lambda's runtime identifiers gw accepts: `python3.8`…`python3.14`, `nodejs16.x`…`nodejs24.x`.
    pub fn of_runtime(runtime: &str) -> Result<Language> {
        if let Some(v) = runtime.strip_prefix("python3.") {
            if v.parse::<u32>().is_ok() {
                return Ok(Language::Python);
            }
        }
        if let Some(v) = runtime
            .strip_prefix("nodejs")
            .and_then(|v| v.strip_suffix(".x"))
        {
            if v.parse::<u32>().is_ok() {
                return Ok(Language::JavaScript);
            }
        }
        Err(invalid(format!(
            "--runtime {runtime:?} is not one gw builds: use python3.12 (any python3.x) or nodejs20.x (any nodejsN.x); for Rust or another language, build a .wasm and give its path"
        )))
    }
}

/// What a build produced.
#[derive(Debug)]
pub struct Built {
    pub wasm: Vec<u8>,
    /// Whether it came from the build cache.
    pub cached: bool,
    pub seconds: f64,
}

/// The shared toolchain directory.
pub fn toolchains_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("GW_TOOLCHAINS").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("gw").join("toolchains")
}

fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> super::ControlError {
    move |e| StoreError::Invalid(format!("{what}: {e}")).into()
}

/// Builds the handler `handler` (`module.function`) in the code directory `code` for `runtime`.
/// `progress` receives one-line notes on long steps (installing a tool, building).
pub fn build(
    runtime: &str,
    handler: &str,
    code: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<Built> {
    let language = Language::of_runtime(runtime)?;
    check_handler(handler)?;
    if !code.is_dir() {
        return Err(invalid(format!(
            "--code {} is not a directory: give the directory holding the handler's module (e.g. --code ./src for ./src/app.py)",
            code.display()
        )));
    }
    let files = read_code(code)?;
    if language == Language::Python {
        check_python_module(handler, &files, code)?;
    }
    let toolchains = toolchains_dir();
    let key = build_key(language, handler, &files);
    let cached_path = toolchains.join("builds").join(format!("{key}.wasm"));
    let started = Instant::now();
    if let Ok(wasm) = std::fs::read(&cached_path) {
        return Ok(Built {
            wasm,
            cached: true,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    // Inside the toolchain directory, not /tmp: a bundler looking for node_modules in the
    // build directory's parents must find none a stranger could have planted.
    std::fs::create_dir_all(&toolchains)
        .map_err(io(format!("cannot make {}", toolchains.display())))?;
    let work = tempfile::tempdir_in(&toolchains).map_err(io("cannot make a build directory"))?;
    let build_dir = work.path().join("build");
    write_code(&files, &build_dir)?;
    let wit_dir = work.path().join("wit");
    std::fs::create_dir_all(&wit_dir).map_err(io("cannot write the WIT"))?;
    std::fs::write(wit_dir.join("handler.wit"), WIT).map_err(io("cannot write the WIT"))?;
    let out = work.path().join("out.wasm");
    progress(&format!(
        "building {runtime} handler {handler} from {} (the first build of this code takes 10–30 s)",
        code.display()
    ));
    match language {
        Language::Python => {
            build_python(&toolchains, handler, &build_dir, &wit_dir, &out, progress)?
        }
        Language::JavaScript => {
            build_js(&toolchains, handler, &build_dir, &wit_dir, &out, progress)?
        }
    }
    let wasm = std::fs::read(&out).map_err(io(format!("cannot read {}", out.display())))?;
    if let Some(dir) = cached_path.parent() {
        let _ = std::fs::create_dir_all(dir);
        let tmp = cached_path.with_extension(format!("tmp-{}", std::process::id()));
        if std::fs::write(&tmp, &wasm).is_ok() {
            let _ = std::fs::rename(&tmp, &cached_path);
        }
    }
    Ok(Built {
        wasm,
        cached: false,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Lambda's handler setting: `module.function`, the module part a path without `..`.
fn check_handler(handler: &str) -> Result<()> {
    let ok = handler
        .rsplit_once('.')
        .is_some_and(|(m, f)| !m.is_empty() && !f.is_empty())
        && !handler.split('/').any(|p| p == "..")
        && !handler.starts_with('/')
        && handler
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/$".contains(c));
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "--handler {handler:?} is not MODULE.FUNCTION: give the file's name without extension and the function's, like app.handler for handler() in app.py or index.handler for index.mjs"
        )))
    }
}

/// A file of the code directory: its path relative to it, and its content.
type CodeFile = (PathBuf, Vec<u8>);

/// Every file under `code` (relative paths, sorted), read once, leaving out caches and VCS
/// directories. Symbolic links are followed when they stay inside `code` (a pnpm
/// `node_modules`, a shared module linked in); one that leads outside is an error naming it.
fn read_code(code: &Path) -> Result<Vec<CodeFile>> {
    const SKIP: [&str; 4] = [".git", "__pycache__", ".venv", ".DS_Store"];
    const MAX_FILES: usize = 20_000;
    let root = code
        .canonicalize()
        .map_err(io(format!("cannot read {}", code.display())))?;
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    let mut seen_dirs = std::collections::HashSet::new();
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        let real = dir
            .canonicalize()
            .map_err(io(format!("cannot read {}", dir.display())))?;
        if !seen_dirs.insert(real) {
            continue; // a link cycle
        }
        let entries =
            std::fs::read_dir(&dir).map_err(io(format!("cannot read {}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(io(format!("cannot read {}", dir.display())))?;
            let name = entry.file_name();
            if SKIP.iter().any(|s| name == *s) {
                continue;
            }
            let path = rel.join(&name);
            let full = entry.path();
            let real = full.canonicalize().map_err(io(format!(
                "cannot read {} (a broken link?)",
                full.display()
            )))?;
            if !real.starts_with(&root) {
                return Err(invalid(format!(
                    "{} links to {}, outside --code {}: copy what it points at into the code directory",
                    full.display(),
                    real.display(),
                    code.display()
                )));
            }
            let meta =
                std::fs::metadata(&full).map_err(io(format!("cannot read {}", full.display())))?;
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file() {
                let bytes =
                    std::fs::read(&full).map_err(io(format!("cannot read {}", full.display())))?;
                out.push((path, bytes));
            }
            if out.len() > MAX_FILES {
                return Err(invalid(format!(
                    "--code {} holds more than {MAX_FILES} files: give the directory of the function's code only",
                    code.display()
                )));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// A Python handler's module must be in the code: `app.handler` → `app.py` (or a package
/// `app/__init__.py`), `pkg.mod.handler` → `pkg/mod.py`, `src/app.handler` → `src/app.py`.
fn check_python_module(handler: &str, files: &[CodeFile], code: &Path) -> Result<()> {
    let Some((module, _)) = handler.rsplit_once('.') else {
        return Ok(()); // check_handler refused it already
    };
    let base = module.replace('.', "/");
    let candidates = [format!("{base}.py"), format!("{base}/__init__.py")];
    if files
        .iter()
        .any(|(p, _)| candidates.iter().any(|c| p == Path::new(c)))
    {
        return Ok(());
    }
    Err(invalid(format!(
        "--handler {handler}: there is no {} in --code {}; give the module's file name without .py and the function's name, like app.handler for handler() in app.py",
        candidates[0],
        code.display()
    )))
}

/// The build cache key: everything that goes into the component (tools, glue, WIT, handler, and
/// each file's path and content).
fn build_key(language: Language, handler: &str, files: &[CodeFile]) -> String {
    let mut h = Sha256::new();
    let tools = match language {
        Language::Python => format!("python componentize-py {COMPONENTIZE_PY}\n{PY_GLUE}"),
        Language::JavaScript => {
            format!("javascript componentize-js {COMPONENTIZE_JS} esbuild {ESBUILD}\n{JS_GLUE}\n{JS_BUILD}")
        }
    };
    h.update(tools.as_bytes());
    h.update(WIT.as_bytes());
    h.update(handler.as_bytes());
    h.update([0]);
    for (rel, bytes) in files {
        h.update(rel.to_string_lossy().as_bytes());
        h.update([0]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    hex::encode(h.finalize())
}

/// Writes the code (as read, so what is built is what was hashed) into the build directory.
fn write_code(files: &[CodeFile], to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(io(format!("cannot write {}", to.display())))?;
    for (rel, bytes) in files {
        let dest = to.join(rel);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir).map_err(io(format!("cannot write {}", dir.display())))?;
        }
        std::fs::write(&dest, bytes).map_err(io(format!("cannot write {}", dest.display())))?;
    }
    Ok(())
}

/// Runs a build tool, failing with its output when it fails.
fn run(mut cmd: Command, what: &str) -> Result<()> {
    let out = cmd.output().map_err(io(format!("cannot run {what}")))?;
    if out.status.success() {
        return Ok(());
    }
    let mut said = String::from_utf8_lossy(&out.stderr).into_owned();
    said.push_str(&String::from_utf8_lossy(&out.stdout));
    let tail: Vec<&str> = said.lines().rev().take(40).collect();
    let tail: Vec<&str> = tail.into_iter().rev().collect();
    Err(invalid(format!(
        "{what} failed ({}):\n{}",
        out.status,
        tail.join("\n")
    )))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `componentize-py`: `GW_COMPONENTIZE_PY`, else on `PATH`, else installed into a venv in the
/// toolchain directory.
fn componentize_py(toolchains: &Path, progress: &mut dyn FnMut(&str)) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("GW_COMPONENTIZE_PY").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    if let Some(p) = find_on_path("componentize-py") {
        return Ok(p);
    }
    let venv = toolchains
        .join("python")
        .join(format!("componentize-py-{COMPONENTIZE_PY}"));
    let bin = venv.join("bin").join("componentize-py");
    if bin.is_file() {
        return Ok(bin);
    }
    progress(&format!(
        "installing componentize-py {COMPONENTIZE_PY} from PyPI into {} (first use only)",
        venv.display()
    ));
    let mut c = Command::new("python3");
    c.args(["-m", "venv"]).arg(&venv);
    run(c, "python3 -m venv (install python3 and python3-venv)")?;
    let mut c = Command::new(venv.join("bin").join("pip"));
    c.args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("componentize-py=={COMPONENTIZE_PY}"));
    run(c, "pip install componentize-py")?;
    Ok(bin)
}

fn build_python(
    toolchains: &Path,
    handler: &str,
    build_dir: &Path,
    wit_dir: &Path,
    out: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    for reserved in [
        "gw_lambda_glue.py",
        "gw_handler_config.py",
        "wit_world",
        "poll_loop.py",
    ] {
        if build_dir.join(reserved).exists() {
            return Err(invalid(format!(
                "the code directory has {reserved}, a name gw's Python runtime uses: rename it"
            )));
        }
    }
    let tool = componentize_py(toolchains, progress)?;
    std::fs::write(build_dir.join("gw_lambda_glue.py"), PY_GLUE)
        .map_err(io("cannot write the glue"))?;
    let config = format!(
        "HANDLER = {}\n",
        serde_json::to_string(handler).unwrap_or_default()
    );
    std::fs::write(build_dir.join("gw_handler_config.py"), config)
        .map_err(io("cannot write the handler setting"))?;
    // componentize-py adds the site-packages of the Python it finds to the build path: point it
    // at an empty venv so only the code directory is packaged.
    let empty = toolchains.join("python").join("empty-venv");
    if !empty.join("pyvenv.cfg").is_file() {
        let mut c = Command::new("python3");
        c.args(["-m", "venv", "--without-pip"]).arg(&empty);
        run(c, "python3 -m venv (install python3 and python3-venv)")?;
    }
    let mut c = Command::new(tool);
    c.current_dir(build_dir)
        .env("VIRTUAL_ENV", &empty)
        .arg("-d")
        .arg(wit_dir)
        .args([
            "-w",
            "handler",
            "componentize",
            "gw_lambda_glue",
            "-p",
            ".",
            "-o",
        ])
        .arg(out);
    run(c, "componentize-py")
}

/// The npm prefix holding componentize-js and esbuild: `GW_COMPONENTIZE_JS_DIR`, else installed
/// into the toolchain directory.
fn componentize_js(toolchains: &Path, progress: &mut dyn FnMut(&str)) -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("GW_COMPONENTIZE_JS_DIR").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let prefix = toolchains
        .join("javascript")
        .join(format!("componentize-js-{COMPONENTIZE_JS}"));
    if prefix
        .join("node_modules/@bytecodealliance/componentize-js/package.json")
        .is_file()
        && prefix.join("node_modules/esbuild/package.json").is_file()
    {
        return Ok(prefix);
    }
    progress(&format!(
        "installing componentize-js {COMPONENTIZE_JS} and esbuild {ESBUILD} from npm into {} (first use only)",
        prefix.display()
    ));
    std::fs::create_dir_all(&prefix).map_err(io(format!("cannot make {}", prefix.display())))?;
    let mut c = Command::new("npm");
    c.args(["install", "--prefix"])
        .arg(&prefix)
        .args([
            "--no-save",
            "--no-package-lock",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .arg(format!(
            "@bytecodealliance/componentize-js@{COMPONENTIZE_JS}"
        ))
        .arg(format!("esbuild@{ESBUILD}"));
    run(
        c,
        "npm install componentize-js (install Node.js 20+ and npm)",
    )?;
    Ok(prefix)
}

fn build_js(
    toolchains: &Path,
    handler: &str,
    build_dir: &Path,
    wit_dir: &Path,
    out: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<()> {
    let prefix = componentize_js(toolchains, progress)?;
    let scripts = build_dir
        .parent()
        .map(|p| p.join("scripts"))
        .unwrap_or_else(|| build_dir.join("scripts"));
    std::fs::create_dir_all(&scripts).map_err(io("cannot write the build script"))?;
    std::fs::write(scripts.join("build.mjs"), JS_BUILD)
        .map_err(io("cannot write the build script"))?;
    std::fs::write(scripts.join("glue.js"), JS_GLUE).map_err(io("cannot write the glue"))?;
    let mut c = Command::new("node");
    c.arg(scripts.join("build.mjs"))
        .arg(build_dir)
        .arg(handler)
        .arg(wit_dir)
        .arg(out)
        .env("GW_COMPONENTIZE_JS_DIR", &prefix)
        // A missing module or handler fails the put, not the first invocation.
        .env("GW_JS_STRICT", "1");
    run(c, "componentize-js (node build.mjs)")
}
