//! TLS at both ends through the real server: `https://` backends (verified against
//! `--backend-ca`, refused when unverifiable, `insecureSkipVerification` per integration,
//! pooled keep-alive connections).

use crate::common;

mod backends;
mod listener;
