//! Local Cognito user pools and their tokens: `user-pool create | delete`, `user-pools`, `token`.

use super::{store, JsonFlag};
use crate::output::{date, print_json, Table};
use anyhow::Result;
use clap::Subcommand;
use gw::control::user_pools::{self, TokenRequest};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum UserPoolCommand {
    /// Create a local user pool: gw signs its tokens (`gw token`) and checks them for the
    /// COGNITO_USER_POOLS authorizers whose providerARNs name its id.
    Create {
        /// The pool's name.
        name: String,
        /// The pool id (the last part of the API's providerARNs, e.g. us-east-1_AbC123xyZ);
        /// default: a new one.
        #[arg(long)]
        id: Option<String>,
        /// An app client id (repeatable); tokens carry one as aud / client_id, and gw accepts
        /// only these. Default: one new client id.
        #[arg(long = "client", value_name = "ID")]
        clients: Vec<String>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Delete a local user pool (its tokens are refused from then on).
    Delete {
        /// The pool's name or id.
        pool: String,
    },
}

/// What `gw token` takes.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// The local user pool (name or id).
    #[arg(long)]
    user_pool: String,
    /// The user (`sub`, `cognito:username`).
    #[arg(long)]
    sub: String,
    /// A group the user belongs to (`cognito:groups`; repeatable).
    #[arg(long = "group", value_name = "GROUP")]
    groups: Vec<String>,
    /// An OAuth scope of an access token (repeatable); implies --type access.
    #[arg(long = "scope", value_name = "SCOPE")]
    scopes: Vec<String>,
    /// How long the token is valid, like 1h, 15m or 30s.
    #[arg(long, default_value = "1h")]
    ttl: String,
    /// `id` (an ID token, the default) or `access`.
    #[arg(long = "type", value_name = "id|access")]
    token_use: Option<String>,
    /// The app client (default: the pool's first).
    #[arg(long)]
    client: Option<String>,
    /// Another claim NAME=VALUE (repeatable; a VALUE that is JSON is taken as JSON).
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    claims: Vec<String>,
    /// Print the claims too, as JSON: {"token", "claims"}.
    #[command(flatten)]
    json: JsonFlag,
}

pub fn user_pool_command(state: &Option<PathBuf>, cmd: UserPoolCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        UserPoolCommand::Create {
            name,
            id,
            clients,
            json,
        } => {
            let pool = user_pools::create_user_pool(&store, &name, id.as_deref(), &clients)?;
            if json.json {
                return print_json(&serde_json::json!({
                    "id": pool.id,
                    "name": pool.name,
                    "clients": pool.clients,
                    "issuer": gw::aws::jwt::cognito_issuer(&pool.id),
                }));
            }
            outln!(
                "user pool {} created: id {}, app client(s) {}",
                pool.name,
                pool.id,
                pool.clients.join(", ")
            );
            outln!(
                "  issuer {}; a token: gw token --user-pool {} --sub alice",
                gw::aws::jwt::cognito_issuer(&pool.id),
                pool.name
            );
        }
        UserPoolCommand::Delete { pool } => {
            let p = user_pools::delete_user_pool(&store, &pool)?;
            outln!("deleted user pool {} ({})", p.name, p.id);
        }
    }
    Ok(())
}

pub fn list(state: &Option<PathBuf>, json: JsonFlag) -> Result<()> {
    let pools = user_pools::user_pools(&store(state)?)?;
    if json.json {
        let items: Vec<_> = pools
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id,
                    "name": p.name,
                    "clients": p.clients,
                    "issuer": gw::aws::jwt::cognito_issuer(&p.id),
                })
            })
            .collect();
        return print_json(&serde_json::json!({ "item": items }));
    }
    let mut t = Table::new(&["NAME", "ID", "CLIENTS", "CREATED"]);
    for p in &pools {
        t.row(vec![
            p.name.clone(),
            p.id.clone(),
            p.clients.join(", "),
            date(p.created_date),
        ]);
    }
    if t.is_empty() {
        outln!("no user pools yet: gw user-pool create NAME [--id POOL_ID]");
    } else {
        out!("{t}");
    }
    Ok(())
}

pub fn token(state: &Option<PathBuf>, args: TokenArgs) -> Result<()> {
    let store = store(state)?;
    let pool = user_pools::find_user_pool(&store, &args.user_pool)?;
    let ttl = super::judge::parse_duration(&args.ttl)?;
    let token_use = match args.token_use {
        Some(t) => t,
        None if !args.scopes.is_empty() => "access".into(),
        None => "id".into(),
    };
    let mut claims = Vec::new();
    for c in &args.claims {
        match c.split_once('=') {
            Some((k, v)) if !k.is_empty() => claims.push((k.to_string(), v.to_string())),
            _ => anyhow::bail!("--claim {c:?} is not NAME=VALUE"),
        }
    }
    let req = TokenRequest {
        sub: args.sub,
        groups: args.groups,
        scopes: args.scopes,
        ttl,
        token_use,
        client: args.client,
        claims,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (token, claims) = user_pools::mint_token(&pool, &req, now)?;
    if args.json.json {
        return print_json(&serde_json::json!({ "token": token, "claims": claims }));
    }
    outln!("{token}");
    Ok(())
}
