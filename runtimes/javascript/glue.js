// gw's JavaScript runtime glue: the ES module componentize-js turns into a component of gw's
// `handler` world (wit/handler.wit), playing the part of Lambda's Node.js runtime interface client.
//
// This is a template. build.mjs fills the placeholders below and writes the result as the one
// source module componentize-js takes:
//   - the handler string ("index.handler") and the property path in the module ("handler"),
//   - a build-time failure to report from `init` instead (module not found, syntax error, ...),
//   - the line range of the user's code (to trim the glue's frames from stack traces),
//   - whether fetch is real (componentize-js's http feature),
//   - the user's code, bundled by esbuild into one CommonJS-format function body.
// Componentize-js pre-initialises (Wizer-snapshots) this module's top level at build time, so the
// user's code is only *defined* here: its top level runs when `init` calls __gw_load_user, once per
// execution environment, as Lambda runs a module's top level in its init phase.

const HANDLER = "__GW_HANDLER__";
const HANDLER_PATH = "__GW_HANDLER_PATH__";
const BUILD_ERROR = /*__GW_BUILD_ERROR__*/ null;
// The lines of this file that hold the user's code (stack frames outside them are the glue's).
const USER_LINES = /*__GW_USER_LINES__*/ [0, 0];
// Whether componentize-js's `http` feature (fetch) is on; off, fetch rejects instead of trapping.
const HTTP = /*__GW_HTTP__*/ false;

function __gw_load_user(module, exports, require, __filename, __dirname) {
  /*__GW_USER_CODE__*/
}

// ---------------------------------------------------------------------------------------------
// Node-ish globals the handler may expect (StarlingMonkey has none of them).

import { getEnvironment } from "wasi:cli/environment@0.2.12";

const TASK_ROOT = "/var/task";

function makeProcess() {
  const env = {};
  return {
    env,
    argv: ["/var/lang/bin/node"],
    platform: "linux",
    version: "v20.0.0",
    versions: { node: "20.0.0" },
    cwd: () => TASK_ROOT,
    nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
    hrtime: Object.assign(
      (prev) => {
        const ns = BigInt(Math.round(performance.now() * 1e6));
        const t = [Number(ns / 1000000000n), Number(ns % 1000000000n)];
        if (!prev) return t;
        let s = t[0] - prev[0];
        let n = t[1] - prev[1];
        if (n < 0) {
          s -= 1;
          n += 1e9;
        }
        return [s, n];
      },
      { bigint: () => BigInt(Math.round(performance.now() * 1e6)) },
    ),
  };
}

if (typeof globalThis.process === "undefined") globalThis.process = makeProcess();
if (typeof globalThis.global === "undefined") globalThis.global = globalThis;

if (!HTTP) {
  // With the http feature off StarlingMonkey's fetch traps (killing the instance); fail the way
  // Node's fetch fails when the network refuses, as a rejected promise.
  globalThis.fetch = async function fetch() {
    throw new TypeError("fetch failed", {
      cause: new Error("outbound HTTP is not available to gw's nodejs runtime"),
    });
  };
}

function nodeRequire(name) {
  const err = new Error(`Cannot find module '${name}'`);
  err.code = "MODULE_NOT_FOUND";
  throw err;
}

// ---------------------------------------------------------------------------------------------
// Errors in Lambda's shape.

/** Splits a SpiderMonkey `stack` ("fn@file:line:col" per line) into V8-looking lines, the first
 * being "Name: message" as Node's stack starts, so the trace reads as Lambda's does. Frames of
 * this glue and of componentize-js's bindings are left out (Lambda shows its runtime's frames, but
 * ours would only be noise). */
function stackLines(err, name, message) {
  const head = message ? `${name}: ${message}` : name;
  const stack = typeof err.stack === "string" ? err.stack : "";
  const frames = [];
  for (const l of stack.split("\n")) {
    if (l.trim() === "") continue;
    const at = l.lastIndexOf("@");
    let fn = at < 0 ? "" : l.slice(0, at);
    const loc = at < 0 ? l : l.slice(at + 1);
    const m = /^(.*?):(\d+):(\d+)$/.exec(loc);
    const file = m ? m[1] : loc;
    if (file.endsWith("initializer.js")) continue;
    if (file.endsWith("__gw_entry.js") && m) {
      const line = Number(m[2]);
      if (line < USER_LINES[0] || line > USER_LINES[1]) continue;
    }
    if (fn.startsWith("async*")) fn = `async ${fn.slice(6)}`;
    frames.push(fn ? `    at ${fn} (${loc})` : `    at ${loc}`);
  }
  return [head, ...frames];
}

/** A thrown value as the handler-error record (Lambda's errorType / errorMessage / trace). */
function toHandlerError(err, errorType) {
  if (err instanceof Error || (err && typeof err === "object" && "message" in err && "stack" in err)) {
    const name = String(err.name ?? "Error");
    const message = String(err.message ?? "");
    return {
      errorType: errorType ?? name,
      errorMessage: message,
      stackTrace: stackLines(err, name, message),
    };
  }
  let message;
  try {
    message = typeof err === "string" ? err : JSON.stringify(err) ?? String(err);
  } catch {
    message = String(err);
  }
  return { errorType: errorType ?? typeof err, errorMessage: message, stackTrace: [] };
}

function failure(errorType, errorMessage) {
  return { errorType, errorMessage, stackTrace: [] };
}

// ---------------------------------------------------------------------------------------------
// init: load the user's module and find the handler, once per environment.

let userHandler = null;
let initError = null;
let logStreamName = "";

function randomHex(n) {
  let s = "";
  for (let i = 0; i < n; i++) s += Math.floor(Math.random() * 16).toString(16);
  return s;
}

function loadEnvironment() {
  const env = globalThis.process && globalThis.process.env;
  if (!env) return;
  try {
    for (const [k, v] of getEnvironment()) env[k] = v;
  } catch {
    // No environment: process.env stays empty.
  }
}

function loadHandler() {
  if (BUILD_ERROR) return BUILD_ERROR;
  loadEnvironment();
  const d = new Date();
  const day = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, "0")}/${String(d.getUTCDate()).padStart(2, "0")}`;
  logStreamName = process.env.AWS_LAMBDA_LOG_STREAM_NAME || `${day}/[$LATEST]${randomHex(32)}`;

  const module = { exports: {} };
  try {
    __gw_load_user(module, module.exports, nodeRequire, `${TASK_ROOT}/__gw_user.js`, TASK_ROOT);
  } catch (e) {
    // As Lambda's Node runtime: a SyntaxError while loading is Runtime.UserCodeSyntaxError and a
    // missing module Runtime.ImportModuleError (both with the original "Name: message" as their
    // message); any other throw is reported as itself.
    if (e instanceof SyntaxError || (e && e.code === "MODULE_NOT_FOUND")) {
      const r = toHandlerError(e);
      r.errorType = e instanceof SyntaxError ? "Runtime.UserCodeSyntaxError" : "Runtime.ImportModuleError";
      r.errorMessage = `${e.name}: ${e.message}`;
      return r;
    }
    return toHandlerError(e);
  }
  let fn = module.exports;
  for (const part of HANDLER_PATH.split(".")) {
    fn = fn == null ? undefined : fn[part];
  }
  if (fn === undefined || fn === null) {
    return failure("Runtime.HandlerNotFound", `${HANDLER} is undefined or not exported`);
  }
  if (typeof fn !== "function") {
    return failure("Runtime.HandlerNotFound", `${HANDLER} is not a function`);
  }
  userHandler = fn;
  return null;
}

export function init() {
  if (userHandler === null && initError === null) initError = loadHandler();
  return initError ? { tag: "err", val: initError } : { tag: "ok", val: undefined };
}

// ---------------------------------------------------------------------------------------------
// handle: one invocation.

function makeContext(c, settle) {
  const deadline = Number(c.deadlineMs);
  let waits = true;
  return {
    get callbackWaitsForEmptyEventLoop() {
      return waits;
    },
    set callbackWaitsForEmptyEventLoop(v) {
      waits = !!v;
    },
    awsRequestId: c.awsRequestId,
    functionName: c.functionName,
    functionVersion: c.functionVersion,
    invokedFunctionArn: c.invokedFunctionArn,
    memoryLimitInMB: String(c.memoryLimitInMb),
    logGroupName: `/aws/lambda/${c.functionName}`,
    logStreamName,
    clientContext: undefined,
    identity: undefined,
    getRemainingTimeInMillis() {
      return Math.max(deadline - Date.now(), 0);
    },
    // Lambda's deprecated callback-style completions.
    succeed: (result) => settle(null, result),
    fail: (err) => settle(err ?? new Error("handled")),
    done: (err, result) => settle(err, result),
  };
}

function isThenable(v) {
  return v !== null && (typeof v === "object" || typeof v === "function") && typeof v.then === "function";
}

/** Runs the handler; resolves with its result. An async handler's promise, a callback
 * (handler(event, context, callback)) and a plain return value all count, the first one wins. */
function invoke(event, c) {
  return new Promise((resolve, reject) => {
    let done = false;
    const settle = (err, result) => {
      if (done) return;
      done = true;
      if (err !== null && err !== undefined) reject(err);
      else resolve(result);
    };
    const context = makeContext(c, settle);
    const out = userHandler(event, context, settle);
    if (isThenable(out)) {
      out.then((r) => settle(null, r), (e) => settle(e ?? new Error("Promise rejected")));
    } else if (!(out === undefined && userHandler.length >= 3)) {
      // A synchronous handler's return value (a callback-style handler returns undefined and
      // calls back later).
      settle(null, out);
    }
  });
}

export async function handle(eventJson, c) {
  if (userHandler === null) {
    const r = init();
    if (r.tag === "err") return r;
  }
  try {
    const event = JSON.parse(eventJson);
    const result = await invoke(event, c);
    const json = JSON.stringify(result);
    return { tag: "ok", val: json === undefined ? "null" : json };
  } catch (e) {
    return { tag: "err", val: toHandlerError(e) };
  }
}
