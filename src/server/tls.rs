//! The HTTPS listener's certificates, chosen per connection by SNI: a custom domain's own
//! certificate, else the one given with `--tls-cert/--tls-key`, else one issued on the spot by
//! the state directory's local certificate authority (as Caddy's and mkcert's local CAs do: one
//! CA key and certificate in `<state>/tls/`, made on first use and kept; leaf certificates live
//! in memory and are re-issued before they expire). A domain with a truststore requires a client
//! certificate chained to it (mutual TLS).
//!
//! The handshake reads the ClientHello first ([`tokio_rustls::LazyConfigAcceptor`]), so each
//! name gets the configuration it needs (its certificate, whether it asks for a client's).

use crate::net::tls::{certs_from_pem, provider, DomainTls, TlsError};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How long a certificate the local CA issues is valid, and how long before its end it is
/// replaced.
const LEAF_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
const RENEW_BEFORE: Duration = Duration::from_secs(10 * 24 * 3600);
/// The CA's own lifetime (10 years, as mkcert's).
const CA_LIFETIME_DAYS: i64 = 3650;

/// Where the local CA's certificate is: what a client trusts (`curl --cacert`).
pub fn ca_cert_path(state_dir: &Path) -> PathBuf {
    state_dir.join("tls").join("ca.pem")
}

fn ca_key_path(state_dir: &Path) -> PathBuf {
    state_dir.join("tls").join("ca-key.pem")
}

/// The state directory's certificate authority.
pub struct LocalCa {
    issuer: rcgen::Issuer<'static, rcgen::KeyPair>,
    cert_der: CertificateDer<'static>,
}

impl LocalCa {
    /// The CA in `<state_dir>/tls/`, made on first use. Its key and certificate are kept
    /// together in `ca-key.pem` (mode 0600), published whole by one hard link, so two servers
    /// starting together make one CA and a crash never leaves half of one; `ca.pem` is the
    /// certificate alone, for clients, written again whenever it is missing.
    pub fn open(state_dir: &Path) -> Result<LocalCa, TlsError> {
        let dir = state_dir.join("tls");
        std::fs::create_dir_all(&dir).map_err(|e| file_error(&dir, e))?;
        let (key_path, cert_path) = (ca_key_path(state_dir), ca_cert_path(state_dir));
        let text = match std::fs::read_to_string(&key_path) {
            Ok(text) if text.contains("-----BEGIN CERTIFICATE-----") => text,
            Ok(key_only) => {
                // A key file from before key and certificate were kept together: its certificate
                // is ca.pem; without one, the CA was never finished and is made again.
                match std::fs::read_to_string(&cert_path) {
                    Ok(cert) => format!("{key_only}{cert}"),
                    Err(_) => {
                        let _ = std::fs::remove_file(&key_path);
                        Self::create(&dir, &key_path)?
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(&dir, &key_path)?,
            Err(e) => return Err(file_error(&key_path, e)),
        };
        let cert_pem = text
            .find("-----BEGIN CERTIFICATE-----")
            .map(|i| text[i..].to_string())
            .ok_or_else(|| TlsError::File {
                path: key_path.display().to_string(),
                message: "holds no CA certificate; delete the tls directory to make a new CA"
                    .into(),
            })?;
        let key = rcgen::KeyPair::from_pem(&text).map_err(|e| TlsError::File {
            path: key_path.display().to_string(),
            message: format!("not the CA's private key: {e}"),
        })?;
        let issuer =
            rcgen::Issuer::from_ca_cert_pem(&cert_pem, key).map_err(|e| TlsError::File {
                path: key_path.display().to_string(),
                message: format!("not a CA certificate: {e}"),
            })?;
        let cert_der = certs_from_pem(cert_pem.as_bytes())
            .map_err(|message| TlsError::File {
                path: key_path.display().to_string(),
                message,
            })?
            .remove(0);
        if std::fs::read_to_string(&cert_path).ok().as_deref() != Some(cert_pem.as_str()) {
            let tmp = dir.join(format!("ca.pem.{}", std::process::id()));
            std::fs::write(&tmp, &cert_pem)
                .and_then(|()| std::fs::rename(&tmp, &cert_path))
                .map_err(|e| file_error(&cert_path, e))?;
        }
        Ok(LocalCa { issuer, cert_der })
    }

    /// Makes a CA and publishes it at `key_path` unless another process did first; answers the
    /// published file's text (key, then certificate).
    fn create(dir: &Path, key_path: &Path) -> Result<String, TlsError> {
        let key = rcgen::KeyPair::generate().map_err(config_error)?;
        let cert = ca_params()?.self_signed(&key).map_err(config_error)?;
        let text = format!("{}{}", key.serialize_pem(), cert.pem());
        let tmp = dir.join(format!("ca-key.pem.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        {
            let mut file = create_private(&tmp).map_err(|e| file_error(&tmp, e))?;
            use std::io::Write as _;
            file.write_all(text.as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| file_error(&tmp, e))?;
        }
        let published = std::fs::hard_link(&tmp, key_path);
        let _ = std::fs::remove_file(&tmp);
        match published {
            Ok(()) => {
                tracing::info!(
                    "made a local certificate authority: trust {} to call gw over HTTPS",
                    dir.join("ca.pem").display()
                );
                Ok(text)
            }
            // Another server made it first: theirs is the CA.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::read_to_string(key_path).map_err(|e| file_error(key_path, e))
            }
            Err(e) => Err(file_error(key_path, e)),
        }
    }

    /// A certificate for `names` (DNS names, wildcards or IP addresses), valid from an hour ago
    /// for [`LEAF_LIFETIME`]: the chain (leaf, CA), its key and when it ends.
    pub fn issue(&self, names: &[String]) -> Result<(Arc<CertifiedKey>, SystemTime), TlsError> {
        let key = rcgen::KeyPair::generate().map_err(config_error)?;
        let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(config_error)?;
        let now = time_now();
        params.not_before = now - time::Duration::hours(1);
        params.not_after = now + time::Duration::seconds(LEAF_LIFETIME.as_secs() as i64);
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let cert = params.signed_by(&key, &self.issuer).map_err(config_error)?;
        let chain = vec![cert.der().clone(), self.cert_der.clone()];
        let key_der = PrivateKeyDer::try_from(key.serialize_der()).map_err(config_error)?;
        let certified = certified_key(chain, key_der)?;
        Ok((Arc::new(certified), SystemTime::now() + LEAF_LIFETIME))
    }
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn ca_params() -> Result<rcgen::CertificateParams, TlsError> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(config_error)?;
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".into());
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("gw local CA ({host})"));
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "gw local development CA");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let now = time_now();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(CA_LIFETIME_DAYS);
    Ok(params)
}

/// Creates `path` for writing, failing if it exists, readable by its owner only.
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

fn file_error(path: &Path, e: std::io::Error) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn config_error(e: impl std::fmt::Display) -> TlsError {
    TlsError::Config(e.to_string())
}

fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<CertifiedKey, TlsError> {
    CertifiedKey::from_der(chain, key, &provider()).map_err(config_error)
}

pub use crate::net::tls::certified_from_pem;

/// The listener's certificates and configurations.
pub struct Certificates {
    /// `--tls-cert/--tls-key`, served for every name without a certificate of its own.
    fixed: Option<Arc<CertifiedKey>>,
    /// The local CA, when no certificate was given.
    ca: Option<LocalCa>,
    /// Leaves the CA issued, by name, with when they end.
    issued: Mutex<HashMap<String, (Arc<CertifiedKey>, SystemTime)>>,
}

impl Certificates {
    /// With the given certificate, or the state directory's local CA.
    pub fn new(
        state_dir: &Path,
        fixed: Option<Arc<CertifiedKey>>,
    ) -> Result<Certificates, TlsError> {
        let ca = match fixed {
            Some(_) => None,
            None => Some(LocalCa::open(state_dir)?),
        };
        Ok(Certificates {
            fixed,
            ca,
            issued: Mutex::new(HashMap::new()),
        })
    }

    /// The configuration for a handshake naming `sni` (`None`: the client sent no name, as for
    /// an IP address), with `domain`'s settings when the name is a custom domain.
    pub fn config(
        &self,
        sni: Option<&str>,
        domain: Option<&DomainTls>,
    ) -> Result<Arc<ServerConfig>, String> {
        let name = sni.map(str::to_ascii_lowercase);
        let certificate = match domain.and_then(|d| d.certificate.clone()) {
            Some(c) => c,
            None => match &self.fixed {
                Some(c) => c.clone(),
                None => self.issued(name.as_deref())?,
            },
        };
        let builder = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        let builder = match domain.and_then(|d| d.truststore_pem.clone()) {
            None => builder.with_no_client_auth(),
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in certs_from_pem(pem.as_bytes())? {
                    roots
                        .add(cert)
                        .map_err(|e| format!("the domain's truststore: {e}"))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .map_err(|e| format!("the domain's truststore: {e}"))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config =
            builder.with_cert_resolver(Arc::new(rustls::sign::SingleCertAndKey::from(certificate)));
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }

    /// The CA's certificate for `name` (or for `localhost` and the loopback addresses when the
    /// client named nothing), issued now or taken from those issued and not near their end.
    fn issued(&self, name: Option<&str>) -> Result<Arc<CertifiedKey>, String> {
        let Some(ca) = &self.ca else {
            return Err("no certificate to serve".into());
        };
        let key = name.unwrap_or("").to_string();
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cert, ends)) = issued.get(&key) {
            if SystemTime::now() + RENEW_BEFORE < *ends {
                return Ok(cert.clone());
            }
        }
        let names: Vec<String> = match name {
            None | Some("localhost") => vec!["localhost".into(), "127.0.0.1".into(), "::1".into()],
            Some(n) => vec![n.to_string()],
        };
        let (cert, ends) = ca.issue(&names).map_err(|e| e.to_string())?;
        // Names come from clients: keep the map bounded.
        if issued.len() >= 1024 {
            issued.clear();
        }
        issued.insert(key, (cert.clone(), ends));
        Ok(cert)
    }
}

/// The TLS settings of a custom domain by name (the server reads them from its snapshot).
pub type DomainLookup = Box<dyn Fn(&str) -> Option<DomainTls> + Send + Sync>;

/// How the HTTPS listener accepts a connection: its certificates, and what each custom domain
/// asks of the handshake.
pub struct Acceptance {
    pub certificates: Certificates,
    /// The TLS settings of a custom domain, by name (lower-case); `None` for other names.
    pub domains: DomainLookup,
}

impl Acceptance {
    /// The handshake: the ClientHello's name chooses the configuration.
    pub async fn accept(
        &self,
        stream: tokio::net::TcpStream,
    ) -> Result<
        (
            tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
            crate::gateway::dispatch::TlsInfo,
        ),
        String,
    > {
        let acceptor =
            tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), stream);
        let start = acceptor.await.map_err(|e| e.to_string())?;
        let sni = start
            .client_hello()
            .server_name()
            .map(str::to_ascii_lowercase);
        let domain = sni.as_deref().and_then(|n| (self.domains)(n));
        let config = self.certificates.config(sni.as_deref(), domain.as_ref())?;
        let stream = start.into_stream(config).await.map_err(|e| e.to_string())?;
        let client_cert = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| client_cert(cert));
        Ok((
            stream,
            crate::gateway::dispatch::TlsInfo {
                server_name: sni,
                client_cert,
            },
        ))
    }
}

/// A client certificate as AWS shows it (`$context.identity.clientCert`).
pub fn client_cert(der: &CertificateDer<'_>) -> Option<crate::aws::context::ClientCert> {
    use x509_parser::prelude::FromDer as _;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der.as_ref()).ok()?;
    let when = |t: &x509_parser::time::ASN1Time| {
        let t = t.to_datetime();
        format!(
            "{} {:02} {:02}:{:02}:{:02} {} GMT",
            month(u8::from(t.month())),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            t.year()
        )
    };
    let serial = cert
        .raw_serial()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    let pem = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der.as_ref());
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----");
        out
    };
    Some(crate::aws::context::ClientCert {
        pem,
        subject_dn: cert.subject().to_string(),
        issuer_dn: cert.issuer().to_string(),
        serial_number: serial,
        validity: crate::aws::context::CertValidity {
            not_before: when(&cert.validity().not_before),
            not_after: when(&cert.validity().not_after),
        },
    })
}

fn month(m: u8) -> &'static str {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    MONTHS
        .get(usize::from(m.saturating_sub(1)))
        .copied()
        .unwrap_or("Jan")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_local_ca_is_made_once_kept_private_and_issues_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let first = LocalCa::open(dir.path()).unwrap();
        let pem = std::fs::read_to_string(ca_cert_path(dir.path())).unwrap();
        let again = LocalCa::open(dir.path()).unwrap();
        assert_eq!(first.cert_der, again.cert_der, "the CA is kept");
        assert_eq!(
            pem,
            std::fs::read_to_string(ca_cert_path(dir.path())).unwrap()
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(ca_key_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let certs = Certificates::new(dir.path(), None).unwrap();
        let a = certs.issued(Some("api.example.test")).unwrap();
        let b = certs.issued(Some("api.example.test")).unwrap();
        assert!(Arc::ptr_eq(&a, &b), "a name's certificate is reused");
        assert_eq!(a.cert.len(), 2, "leaf and CA");
        assert!(certs.config(None, None).is_ok());
        // A certificate near its end is replaced on the next handshake that names it.
        certs
            .issued
            .lock()
            .unwrap()
            .get_mut("api.example.test")
            .unwrap()
            .1 = SystemTime::now() + Duration::from_secs(24 * 3600);
        let renewed = certs.issued(Some("api.example.test")).unwrap();
        assert!(!Arc::ptr_eq(&a, &renewed), "renewed before it expires");
    }
}
