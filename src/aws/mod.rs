//! AWS's formats that both planes share: the Lambda proxy event and response contract
//! ([`lambda`]), mapping templates ([`vtl`]), gateway responses ([`gateway_response`]) and
//! their simple templates ([`template`]), SigV4 signatures ([`sigv4`]), request and resource
//! ids ([`ids`]), the one `$context` table ([`context`]) and the one query-string parser
//! ([`query`]).
//!
//! Architecture invariant: nothing here knows a plane: no store, no server, no snapshot. These
//! are pure functions over AWS's shapes and the model.

pub mod context;
pub mod documentation;
pub mod gateway_response;
pub mod ids;
pub mod jwt;
pub mod lambda;
pub mod models;
pub mod query;
pub mod sigv4;
pub mod template;
pub mod uri;
pub mod vtl;

/// The account id gw reports in events and ARNs (LocalStack's default).
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";
/// The region gw reports in ARNs.
pub const DEFAULT_REGION: &str = "us-east-1";
/// AWS's maximum `authorizerResultTtlInSeconds`.
pub const AUTHORIZER_MAX_TTL_SECONDS: i64 = 3600;
