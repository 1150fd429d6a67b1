//! gw: a local emulator of AWS API Gateway.
//!
//! Control plane: [`model`] (plain data), [`import`] (OpenAPI → model), [`store`] (the embedded
//! database), [`control`] (deploy, canary, promote). Data plane: [`server`] (listener, hot
//! reload), [`serving`] (which servers serve which generation), [`snapshot`] (what is served), [`dispatch`] (one request), [`router`], [`canary`],
//! [`integrations`], [`gateway_response`]. [`wasm`] runs WebAssembly functions; [`lambda`] speaks
//! the Lambda proxy event and response formats.

pub mod access_log;
pub mod authorizer;
pub mod body;
pub mod canary;
pub mod conn;
pub mod control;
pub mod cors;
pub mod demo;
pub mod dispatch;
pub mod fnv;
pub mod gateway_response;
pub mod headers;
pub mod ids;
pub mod import;
pub mod integrations;
pub mod lambda;
pub mod management;
pub mod model;
pub mod router;
pub mod server;
pub mod serving;
pub mod snapshot;
pub mod store;
pub mod template;
pub mod throttle;
pub mod urls;
pub mod validation;
pub mod vtl;
pub mod wasm;
