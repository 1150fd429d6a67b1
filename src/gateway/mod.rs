//! The data plane: one stage request's story, from the API and stage it names to the
//! integration that answers it ([`dispatch`]), over the serving [`snapshot`].
//!
//! Architecture invariant: the data plane imports nothing from the management API or the
//! control operations; it reads state only through the snapshot, which the reload thread
//! rebuilds from the store off the request path.

pub mod access_log;
pub mod aggregate;
pub mod authorizer;
pub mod canary;
pub mod cors;
pub mod counters;
pub mod dispatch;
pub mod integrations;
pub mod jwt;
pub mod links;
pub mod metrics;
pub mod outbound;
pub mod router;
pub mod snapshot;
pub mod throttle;
pub mod validation;
pub mod verdict;
