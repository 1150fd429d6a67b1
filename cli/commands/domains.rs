//! HTTPS and custom domain names: `tls ca`, `domain create | map | unmap | delete`, `domains`.

use super::{store, JsonFlag};
use crate::output::{date, print_json, Table};
use anyhow::{Context, Result};
use clap::Subcommand;
use gw::control::domains::{self, NewDomain};
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum TlsCommand {
    /// Print the local certificate authority's certificate file (made on first use), which
    /// signs the HTTPS listener's certificates, and how to trust it.
    Ca {
        #[command(flatten)]
        json: JsonFlag,
    },
}

#[derive(Subcommand)]
pub enum DomainCommand {
    /// Create a custom domain name. Requests whose Host (and SNI) names it are routed by its
    /// base-path mappings (`gw domain map`), on both listeners.
    Create {
        /// The host name, such as api.example.test (`*.example.test` for a wildcard).
        name: String,
        /// The certificate chain (PEM) the HTTPS listener serves for it; default: the server's
        /// (--tls-cert, or one from the local CA).
        #[arg(long, value_name = "FILE", requires = "key")]
        cert: Option<PathBuf>,
        /// The private key (PEM) of --cert.
        #[arg(long, value_name = "FILE", requires = "cert")]
        key: Option<PathBuf>,
        /// Mutual TLS: clients must present a certificate chained to a CA in this PEM file.
        #[arg(long, value_name = "FILE")]
        truststore: Option<PathBuf>,
        #[command(flatten)]
        json: JsonFlag,
    },
    /// Map a base path of a domain to an API stage (`--base-path` absent: the whole domain, AWS's
    /// `(none)`).
    Map {
        /// The custom domain name.
        domain: String,
        /// The API (name or id).
        #[arg(long)]
        api: String,
        /// The stage.
        #[arg(long)]
        stage: String,
        /// The first path segment(s) that select this API; stripped before routing.
        #[arg(long, value_name = "PATH")]
        base_path: Option<String>,
    },
    /// Remove a base-path mapping.
    Unmap {
        /// The custom domain name.
        domain: String,
        /// The mapping's base path (absent: the `(none)` mapping).
        #[arg(long, value_name = "PATH")]
        base_path: Option<String>,
    },
    /// Delete a custom domain name and its mappings.
    Delete {
        /// The custom domain name.
        domain: String,
    },
}

pub fn tls_command(state: &Option<PathBuf>, cmd: TlsCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        TlsCommand::Ca { json } => {
            gw::server::tls::LocalCa::open(store.dir())
                .map_err(|e| anyhow::anyhow!("the local CA: {e}"))?;
            let path = gw::server::tls::ca_cert_path(store.dir());
            let path = std::fs::canonicalize(&path).unwrap_or(path);
            if json.json {
                return print_json(&serde_json::json!({ "caCertificate": path }));
            }
            outln!("{}", path.display());
            outln!(
                "  curl:    curl --cacert {} https://localhost:4443/...",
                path.display()
            );
            outln!(
                "  system:  sudo cp {} /usr/local/share/ca-certificates/gw-local-ca.crt && sudo update-ca-certificates",
                path.display()
            );
            outln!("  Node:    NODE_EXTRA_CA_CERTS={}", path.display());
            outln!(
                "  Python:  REQUESTS_CA_BUNDLE={} (requests), SSL_CERT_FILE (others)",
                path.display()
            );
        }
    }
    Ok(())
}

fn read(path: &PathBuf, flag: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .with_context(|| format!("--{flag} {}: cannot read the file", path.display()))
}

pub fn domain_command(state: &Option<PathBuf>, cmd: DomainCommand) -> Result<()> {
    let store = store(state)?;
    match cmd {
        DomainCommand::Create {
            name,
            cert,
            key,
            truststore,
            json,
        } => {
            let certificate = match (&cert, &key) {
                (Some(c), Some(k)) => Some((read(c, "cert")?, read(k, "key")?)),
                _ => None,
            };
            let truststore = match &truststore {
                Some(t) => Some((read(t, "truststore")?, t.display().to_string())),
                None => None,
            };
            let d = domains::create_domain(
                &store,
                NewDomain {
                    name,
                    certificate,
                    certificate_name: cert.as_ref().map(|c| c.display().to_string()),
                    truststore,
                    endpoint_type: Some("REGIONAL".into()),
                    ..Default::default()
                },
            )?;
            if json.json {
                return print_json(&domain_json(&d));
            }
            outln!(
                "domain {} created ({}{}); map it: gw domain map {} --api API --stage STAGE [--base-path v1]",
                d.domain_name,
                if d.certificate_pem.is_some() { "its own certificate" } else { "the server's certificate" },
                if d.truststore_pem.is_some() { ", mutual TLS" } else { "" },
                d.domain_name
            );
        }
        DomainCommand::Map {
            domain,
            api,
            stage,
            base_path,
        } => {
            let m = domains::map_base_path(
                &store,
                &domain,
                base_path.as_deref(),
                &api,
                Some(&stage),
                true,
            )?;
            outln!(
                "{}/{} → API {} stage {}",
                domain.to_ascii_lowercase(),
                m.base_path,
                m.rest_api_id,
                stage
            );
        }
        DomainCommand::Unmap { domain, base_path } => {
            domains::unmap_base_path(&store, &domain, base_path.as_deref())?;
            outln!(
                "unmapped {} of {}",
                domains::shown_base_path(&domains::normalize_base_path(base_path.as_deref())?),
                domain.to_ascii_lowercase()
            );
        }
        DomainCommand::Delete { domain } => {
            let d = domains::delete_domain(&store, &domain)?;
            outln!("deleted domain {}", d.domain_name);
        }
    }
    Ok(())
}

fn domain_json(d: &gw::model::DomainName) -> serde_json::Value {
    serde_json::json!({
        "domainName": d.domain_name,
        "certificate": if d.certificate_pem.is_some() { "own" } else { "server" },
        "mutualTls": d.truststore_pem.is_some(),
        "createdDate": d.created_date,
        "mappings": d.mappings.iter().map(|m| serde_json::json!({
            "basePath": domains::shown_base_path(&m.base_path),
            "restApiId": m.rest_api_id,
            "stage": m.stage,
        })).collect::<Vec<_>>(),
    })
}

pub fn list(state: &Option<PathBuf>, json: JsonFlag) -> Result<()> {
    let all = domains::domains(&store(state)?)?;
    if json.json {
        let items: Vec<_> = all.iter().map(domain_json).collect();
        return print_json(&serde_json::json!({ "item": items }));
    }
    let mut t = Table::new(&["DOMAIN", "BASE PATH", "API", "STAGE", "TLS", "CREATED"]);
    for d in &all {
        let tls = match (d.certificate_pem.is_some(), d.truststore_pem.is_some()) {
            (true, true) => "own cert, mTLS",
            (true, false) => "own cert",
            (false, true) => "mTLS",
            (false, false) => "",
        };
        if d.mappings.is_empty() {
            t.row(vec![
                d.domain_name.clone(),
                "-".into(),
                "-".into(),
                "-".into(),
                tls.into(),
                date(d.created_date),
            ]);
        }
        for m in &d.mappings {
            t.row(vec![
                d.domain_name.clone(),
                domains::shown_base_path(&m.base_path).to_string(),
                m.rest_api_id.clone(),
                m.stage.clone().unwrap_or_else(|| "-".into()),
                tls.into(),
                date(d.created_date),
            ]);
        }
    }
    if t.is_empty() {
        outln!("no custom domains yet: gw domain create api.example.test");
    } else {
        out!("{t}");
    }
    Ok(())
}
