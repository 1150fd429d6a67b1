//! gw: a local emulator of AWS API Gateway, and a small, fast gateway in its own right.
//!
//! The rooms, from the bottom up (an arrow points only downward; ARCHITECTURE.md has the rules):
//! - [`model`]: plain data in AWS's terms. No I/O, imports nothing from the crate.
//! - [`net`]: HTTP plumbing every plane shares (the body type, header maps, hashing).
//! - [`aws`]: AWS's formats both planes share: the Lambda event and response, mapping
//!   templates (VTL), gateway responses, SigV4, ids.
//! - [`store`]: the embedded database and the serving markers; the only code that writes state.
//! - [`wasm`]: the WebAssembly runtime; knows nothing of APIs or stages.
//! - [`control`]: OpenAPI import and the operations with AWS semantics (deploy, canary,
//!   promote, ...), shared by the CLI and the management API.
//! - [`management`]: the AWS management API (axum), over `control` and `store`.
//! - [`gateway`]: the data plane: one request's story from stage to integration.
//! - [`server`]: the listener and the front door that hands each request to one plane.
//! - [`demo`]: `gw demo`, the bundled API and its backend.

pub mod aws;
pub mod control;
pub mod demo;
pub mod gateway;
pub mod management;
pub mod model;
pub mod net;
pub mod server;
pub mod store;
pub mod wasm;
