#!/usr/bin/env node
// Builds a JavaScript Lambda handler into a component of gw's `handler` world.
//
//   node build.mjs <build dir> <handler, e.g. index.handler> <wit dir> <out.wasm>
//
// <build dir> holds a copy of the user's code; glue.js is the one next to this script. Steps:
//   1. resolve the handler's module like Lambda's Node runtime: <module>.js, .mjs, .cjs;
//   2. bundle it with esbuild into one CommonJS-format function body (ES modules, CommonJS,
//      relative imports and node_modules packages all end up in one source, because the module's
//      top level must run in `init`, not in componentize-js's build-time snapshot);
//   3. fill glue.js's placeholders and write <build dir>/__gw_entry.js;
//   4. write a WIT world that is gw:lambda/handler plus wasi:cli/environment (for process.env);
//   5. componentize-js (http and fetch-event disabled: gw denies outbound HTTP anyway, and the
//      component then imports only wasi:{cli,clocks,filesystem,io,random}@0.2.x).
// A module that cannot be found or bundled does not fail the build: like Lambda, the component's
// `init` reports it (Runtime.ImportModuleError, Runtime.UserCodeSyntaxError, ...), and a warning
// goes to stderr. Set GW_JS_STRICT=1 to fail the build instead.
//
// componentize-js and esbuild are resolved from GW_COMPONENTIZE_JS_DIR (a directory holding
// node_modules/, as `npm install --prefix DIR` makes) when set, else from this script's location
// and the build dir as Node resolves packages normally.

import { createRequire } from "node:module";
import { existsSync, statSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  if (msg) console.error(`build.mjs: ${msg}`);
  console.error("usage: node build.mjs <build dir> <handler e.g. index.handler> <wit dir> <out.wasm>");
  process.exit(2);
}

const [buildDirArg, handler, witDirArg, outArg] = process.argv.slice(2);
if (!buildDirArg || !handler || !witDirArg || !outArg) usage();
const buildDir = resolve(buildDirArg);
const witDir = resolve(witDirArg);
const outPath = resolve(outArg);
const strict = process.env.GW_JS_STRICT === "1";
// GW_JS_HTTP=1 keeps componentize-js's `http` feature (a working fetch over wasi:http); off by
// default, since gw denies outbound HTTP and the component then imports no wasi:http.
const http = process.env.GW_JS_HTTP === "1";

/** Imports a package from GW_COMPONENTIZE_JS_DIR, or as Node would from here or the build dir. */
async function importPackage(name) {
  const bases = [];
  if (process.env.GW_COMPONENTIZE_JS_DIR) {
    bases.push(join(resolve(process.env.GW_COMPONENTIZE_JS_DIR), "package.json"));
  }
  bases.push(join(HERE, "package.json"), join(buildDir, "package.json"));
  for (const base of bases) {
    try {
      const path = createRequire(base).resolve(name);
      return await import(pathToFileURL(path).href);
    } catch (e) {
      if (e.code !== "MODULE_NOT_FOUND" && e.code !== "ERR_PACKAGE_PATH_NOT_EXPORTED") throw e;
    }
  }
  // Packages exporting only an "import" condition are invisible to require.resolve: try the
  // package's own directory.
  for (const base of bases) {
    const dir = join(dirname(base), "node_modules", name);
    if (existsSync(join(dir, "package.json"))) {
      const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
      const exp = pkg.exports?.import ?? pkg.exports?.["."]?.import ?? pkg.module ?? pkg.main;
      if (typeof exp === "string") return await import(pathToFileURL(join(dir, exp)).href);
    }
  }
  console.error(`build.mjs: cannot find the npm package ${name} (set GW_COMPONENTIZE_JS_DIR to a directory where \`npm install --prefix DIR @bytecodealliance/componentize-js esbuild\` ran)`);
  process.exit(3);
}

/** A build-time failure that `init` reports (as Lambda does at its init phase). */
function buildError(errorType, errorMessage) {
  if (strict) {
    console.error(`build.mjs: ${errorType}: ${errorMessage}`);
    process.exit(1);
  }
  console.error(`build.mjs: warning: init will fail: ${errorType}: ${errorMessage}`);
  return { errorType, errorMessage, stackTrace: [] };
}

// 1. The handler string, as Lambda's Node runtime splits it: "<module path>.<property path>".
let error = null;
let modulePath = null;
let handlerPath = "";
const m = /^([^.]*)\.(.*)$/.exec(handler);
if (!m || !m[1] || !m[2]) {
  error = buildError("Runtime.MalformedHandlerName", "Bad handler");
} else {
  handlerPath = m[2];
  const base = resolve(buildDir, m[1]);
  for (const ext of [".js", ".mjs", ".cjs"]) {
    if (existsSync(base + ext) && statSync(base + ext).isFile()) {
      modulePath = base + ext;
      break;
    }
  }
  if (!modulePath) {
    error = buildError("Runtime.ImportModuleError", `Error: Cannot find module '${m[1]}'`);
  }
}

// 2. Bundle the user's module into a CommonJS body.
let userCode = "";
if (!error) {
  const esbuild = await importPackage("esbuild");
  try {
    const result = await esbuild.build({
      entryPoints: [modulePath],
      absWorkingDir: buildDir,
      bundle: true,
      write: false,
      format: "cjs",
      platform: "node", // node_modules resolution as Node's; node:* built-ins stay require() calls
      target: "esnext",
      charset: "utf8",
      logLevel: "silent",
      logOverride: { "empty-import-meta": "silent" },
    });
    userCode = result.outputFiles[0].text;
  } catch (e) {
    const first = e.errors?.[0];
    const text = first
      ? `${first.text}${first.location ? ` (${first.location.file}:${first.location.line}:${first.location.column})` : ""}`
      : String(e.message ?? e);
    const unresolved = first && /^Could not resolve/.test(first.text);
    if (first && /Top-level await is currently not supported/.test(first.text)) {
      error = buildError("Runtime.UserCodeSyntaxError", `top-level await is not supported by gw's nodejs runtime: ${text}`);
    } else {
      error = buildError(unresolved ? "Runtime.ImportModuleError" : "Runtime.UserCodeSyntaxError", text);
    }
  }
}

// 3. The entry module: glue.js with its placeholders filled.
// Always gw's own template next to this script (a user file named glue.js is the user's).
const gluePath = join(HERE, "glue.js");
let glue = await readFile(gluePath, "utf8");
const fill = (marker, text) => {
  if (!glue.includes(marker)) {
    console.error(`build.mjs: ${gluePath} lacks the placeholder ${marker}`);
    process.exit(1);
  }
  glue = glue.replace(marker, () => text); // a function: `$&` in user code stays as written
};
fill('"__GW_HANDLER__"', JSON.stringify(handler));
fill('"__GW_HANDLER_PATH__"', JSON.stringify(handlerPath));
fill("/*__GW_BUILD_ERROR__*/ null", JSON.stringify(error));
{
  // The user's code starts on the placeholder's line; record its line range for stack traces.
  const before = glue.slice(0, glue.indexOf("/*__GW_USER_CODE__*/"));
  const start = before.split("\n").length;
  const end = start + userCode.split("\n").length - 1;
  fill("/*__GW_USER_LINES__*/ [0, 0]", JSON.stringify([start, end]));
}
fill("/*__GW_HTTP__*/ false", JSON.stringify(http));
fill("/*__GW_USER_CODE__*/", userCode);
const entryPath = join(buildDir, "__gw_entry.js");
await writeFile(entryPath, glue);

// 4. The WIT the component targets: gw's handler world plus wasi:cli/environment, so the glue can
// fill process.env from the environment variables gw gives the instance.
const witOut = join(buildDir, "__gw_wit");
await mkdir(join(witOut, "deps", "gw-lambda"), { recursive: true });
await mkdir(join(witOut, "deps", "wasi-cli"), { recursive: true });
for (const f of (await readdir(witDir)).filter((f) => f.endsWith(".wit"))) {
  await writeFile(join(witOut, "deps", "gw-lambda", f), await readFile(join(witDir, f), "utf8"));
}
await writeFile(
  join(witOut, "deps", "wasi-cli", "environment.wit"),
  `package wasi:cli@0.2.12;

interface environment {
  get-environment: func() -> list<tuple<string, string>>;
  get-arguments: func() -> list<string>;
  initial-cwd: func() -> option<string>;
}
`,
);
await writeFile(
  join(witOut, "world.wit"),
  `package gw:lambda-js@0.1.0;

world handler-js {
  include gw:lambda/handler@0.1.0;
  import wasi:cli/environment@0.2.12;
}
`,
);

// 5. componentize-js.
const { componentize } = await importPackage("@bytecodealliance/componentize-js");
const started = Date.now();
let component;
try {
  ({ component } = await componentize({
    sourcePath: entryPath,
    witPath: witOut,
    worldName: "handler-js",
    disableFeatures: http ? ["fetch-event"] : ["http", "fetch-event"],
  }));
} catch (e) {
  console.error(`build.mjs: componentize-js failed: ${e.message ?? e}`);
  process.exit(1);
}
await mkdir(dirname(outPath), { recursive: true });
await writeFile(outPath, component);
console.error(`build.mjs: wrote ${outPath} (${component.length} bytes, componentize ${Date.now() - started} ms)`);
