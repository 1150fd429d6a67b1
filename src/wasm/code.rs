//! A function's code: its binary format, compilation, the on-disk cache of compiled code
//! (`<cache_dir>/<sha256>-<engine hash>.cwasm`, written atomically, checked before it is
//! trusted), and the pre-instantiated template of its contract.

use super::*;

/// Compiled code of either kind.
enum Code {
    Module(Module),
    Component(Component),
}

/// Which binary format a byte string is, by its 8-byte preamble.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    CoreModule,
    Component,
}

fn format_of(wasm: &[u8]) -> Result<Format, WasmError> {
    match wasm.get(..8) {
        Some([0, b'a', b's', b'm', 1, 0, 0, 0]) => Ok(Format::CoreModule),
        // Component model binaries: version 0x0d, layer 1.
        Some([0, b'a', b's', b'm', _, _, 1, 0]) => Ok(Format::Component),
        Some([0, b'a', b's', b'm', ..]) => Err(WasmError::Unsupported(
            "unknown WebAssembly binary version: expected a core module (version 1) or a component"
                .into(),
        )),
        _ => Err(WasmError::NotWasm),
    }
}

impl Runtime {
    /// Compiles `wasm` and tells which contract it implements, or refuses it with a message that
    /// says what gw expected. Meant for `gw function put`; it compiles, so it takes ~0.1 s.
    pub fn classify(&self, wasm: &[u8]) -> Result<ContractKind, WasmError> {
        let code = self.compile(wasm)?;
        Ok(self.prepare(&code)?.0)
    }

    /// [`classify`](Self::classify) and [`precompile_to_cache`](Self::precompile_to_cache) with
    /// one compilation (a componentized Python or JavaScript handler is 10–20 MB of code, whose
    /// compilation takes seconds).
    pub fn classify_into_cache(
        &self,
        sha256_hex: &str,
        wasm: &[u8],
    ) -> Result<ContractKind, WasmError> {
        let path = self.cache_path(sha256_hex)?;
        check_content(sha256_hex, wasm)?;
        let code = self.compile(wasm)?;
        let (kind, _) = self.prepare(&code)?;
        let serialized = match &code {
            Code::Module(m) => m.serialize(),
            Code::Component(c) => c.serialize(),
        }
        .map_err(|e| WasmError::Compile(format!("{e:#}")))?;
        write_atomically(&path, &serialized)?;
        Ok(kind)
    }

    /// Where the compiled form of the function with this hash lives.
    pub fn cache_path(&self, sha256_hex: &str) -> Result<PathBuf, WasmError> {
        check_sha(sha256_hex)?;
        Ok(self
            .inner
            .cache_dir
            .join(format!("{sha256_hex}-{}.cwasm", self.inner.compat)))
    }

    /// Compiles `wasm` ahead of time into `<cache_dir>/<sha256>-<engine hash>.cwasm` (written to a
    /// temporary file and renamed, so readers never see half a file).
    pub fn precompile_to_cache(&self, sha256_hex: &str, wasm: &[u8]) -> Result<(), WasmError> {
        let path = self.cache_path(sha256_hex)?;
        check_content(sha256_hex, wasm)?;
        let engine = &self.inner.engine;
        let compiled = match format_of(wasm)? {
            Format::CoreModule => engine.precompile_module(wasm),
            Format::Component => engine.precompile_component(wasm),
        }
        .map_err(|e| WasmError::Compile(format!("{e:#}")))?;
        write_atomically(&path, &compiled)
    }

    /// Makes the function runnable: maps its `.cwasm` from the cache if present (logging
    /// "loaded precompiled LABEL"), otherwise compiles it and writes the cache ("compiled LABEL"),
    /// then pre-instantiates it.
    pub fn load(
        &self,
        label: &str,
        sha256_hex: &str,
        wasm: &[u8],
    ) -> Result<Arc<Loaded>, WasmError> {
        let path = self.cache_path(sha256_hex)?;
        let (code, from_cache) = match self.load_cached(&path) {
            Some(code) => {
                tracing::info!("loaded precompiled {label}");
                (code, true)
            }
            None => {
                check_content(sha256_hex, wasm)?;
                let code = self.compile(wasm)?;
                let serialized = match &code {
                    Code::Module(m) => m.serialize(),
                    Code::Component(c) => c.serialize(),
                };
                match serialized {
                    Ok(bytes) => {
                        if let Err(e) = write_atomically(&path, &bytes) {
                            tracing::warn!("cannot cache compiled {label}: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("cannot serialize compiled {label}: {e:#}"),
                }
                tracing::info!("compiled {label}");
                (code, false)
            }
        };
        let (kind, pre) = self.prepare(&code)?;
        Ok(Arc::new(Loaded {
            label: label.to_owned(),
            kind,
            from_cache,
            pre,
        }))
    }

    fn compile(&self, wasm: &[u8]) -> Result<Code, WasmError> {
        let engine = &self.inner.engine;
        match format_of(wasm)? {
            Format::CoreModule => Module::new(engine, wasm).map(Code::Module),
            Format::Component => Component::new(engine, wasm).map(Code::Component),
        }
        .map_err(|e| WasmError::Compile(format!("{e:#}")))
    }

    /// Maps a cached `.cwasm`, or `None` when there is none (or it is unusable: then it is
    /// recompiled and overwritten).
    #[allow(unsafe_code)]
    fn load_cached(&self, path: &Path) -> Option<Code> {
        let engine = &self.inner.engine;
        let kind = match Engine::detect_precompiled_file(path) {
            Ok(Some(kind)) => kind,
            Ok(None) => {
                tracing::warn!("ignoring {}: not a precompiled function", path.display());
                return None;
            }
            Err(_) => return None, // absent (or unreadable): compile instead
        };
        // SAFETY: `deserialize_file` trusts that the file is compiled code from this engine
        // configuration and is not modified while mapped. gw alone writes this directory (inside
        // its own state directory), only through `write_atomically` (a fresh temp file renamed
        // into place, never rewritten in place), from `Engine::precompile_*` or `serialize`
        // output; the file name carries the content hash and the engine compatibility hash, and
        // wasmtime re-checks the compatibility header before mapping.
        let loaded = unsafe {
            match kind {
                wasmtime::Precompiled::Module => {
                    Module::deserialize_file(engine, path).map(Code::Module)
                }
                wasmtime::Precompiled::Component => {
                    Component::deserialize_file(engine, path).map(Code::Component)
                }
            }
        };
        match loaded {
            Ok(code) => Some(code),
            Err(e) => {
                tracing::warn!("ignoring unusable {}: {e:#}", path.display());
                None
            }
        }
    }

    /// Pre-instantiates compiled code against gw's host functions, which also tells its contract.
    fn prepare(&self, code: &Code) -> Result<(ContractKind, Pre), WasmError> {
        match code {
            Code::Module(module) => {
                let has_start = module
                    .get_export("_start")
                    .is_some_and(|e| e.func().is_some());
                if !has_start {
                    return Err(WasmError::Unsupported(
                        "this core module does not export `_start`: gw runs core modules only as \
                         WASI commands (a `fn main` built for wasm32-wasip1) that read the event on \
                         stdin and write the response on stdout"
                            .into(),
                    ));
                }
                let pre = self.inner.p1_linker.instantiate_pre(module).map_err(|e| {
                    WasmError::Unsupported(format!(
                        "this module imports something gw does not provide (only \
                         wasi_snapshot_preview1 is available): {e:#}"
                    ))
                })?;
                Ok((ContractKind::LambdaCommandP1, Pre::P1(pre)))
            }
            Code::Component(component) => {
                let pre = self
                    .inner
                    .p2_linker
                    .instantiate_pre(component)
                    .map_err(|e| {
                        WasmError::Unsupported(format!(
                            "this component imports something gw does not provide (gw provides \
                         wasi:cli, wasi:io, wasi:clocks, wasi:random and wasi:http; filesystem and \
                         sockets are denied): {e:#}"
                        ))
                    })?;
                if let Ok(proxy) = ProxyPre::new(pre.clone()) {
                    return Ok((ContractKind::HttpProxy, Pre::Http(proxy)));
                }
                if let Ok(handler) = HandlerPre::new(pre.clone()) {
                    let pool = Arc::new(EnvPool::new(handler));
                    self.inner
                        .pools
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(Arc::downgrade(&pool));
                    return Ok((ContractKind::Handler, Pre::Handler(pool)));
                }
                if let Ok(command) = CommandPre::new(pre) {
                    return Ok((ContractKind::LambdaCommandP2, Pre::P2(command)));
                }
                Err(WasmError::Unsupported(
                    "this component exports neither gw:lambda/handler's init and handle (see \
                     wit/handler.wit), nor wasi:http/incoming-handler (a wasi:http/proxy \
                     handler), nor wasi:cli/run (a WASI command built for wasm32-wasip2 that reads \
                     the event on stdin and writes the response on stdout)"
                        .into(),
                ))
            }
        }
    }
}

fn check_sha(sha256_hex: &str) -> Result<(), WasmError> {
    let ok = sha256_hex.len() == 64
        && sha256_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(WasmError::BadHash(sha256_hex.to_owned()))
    }
}

/// Refuses to cache code under a hash it does not have (which would poison the cache).
fn check_content(sha256_hex: &str, wasm: &[u8]) -> Result<(), WasmError> {
    let actual = hex::encode(Sha256::digest(wasm));
    if actual == sha256_hex {
        Ok(())
    } else {
        Err(WasmError::HashMismatch {
            expected: sha256_hex.to_owned(),
            actual,
        })
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WasmError> {
    let err = |source| WasmError::Cache {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension(format!(
        "cwasm.tmp-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map_err(err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn format_is_told_by_the_preamble() {
        assert!(matches!(
            format_of(b"\0asm\x01\0\0\0"),
            Ok(Format::CoreModule)
        ));
        assert!(matches!(
            format_of(b"\0asm\x0d\0\x01\0"),
            Ok(Format::Component)
        ));
        assert!(matches!(format_of(b"#!/bin/sh\n"), Err(WasmError::NotWasm)));
        assert!(matches!(format_of(b""), Err(WasmError::NotWasm)));
    }

    #[test]
    fn sha_must_be_lowercase_hex() {
        assert!(check_sha(&"a".repeat(64)).is_ok());
        assert!(check_sha(&"A".repeat(64)).is_err());
        assert!(check_sha("../../etc/passwd").is_err());
    }
}
