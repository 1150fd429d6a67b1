//! TLS plumbing: the rustls configurations of the backend client (certificates verified against
//! the system's roots plus any extra CA given, or not verified at all when an integration asks
//! so), and reading PEM certificates and keys. The listener's side is [`crate::server::tls`].

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, OnceLock};

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// The crypto provider gw uses everywhere (ring).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Every certificate in the PEM file at `path`.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    certs_from_pem(&bytes).map_err(|m| file_error(path, m))
}

/// Every certificate in PEM text.
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not a PEM certificate file: {e}"))?;
    if certs.is_empty() {
        return Err("holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// The private key in the PEM file at `path` (PKCS#8, PKCS#1 or SEC1).
pub fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e.to_string()))?;
    key_from_pem(&bytes).map_err(|m| file_error(path, m))
}

/// The private key in PEM text.
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| format!("holds no PEM private key: {e}"))
}

/// A certificate chain and its key given as PEM text (files' content), checked to go together.
pub fn certified_from_pem(
    cert_pem: &str,
    key_pem: &str,
) -> Result<Arc<rustls::sign::CertifiedKey>, String> {
    let chain = certs_from_pem(cert_pem.as_bytes())?;
    let key = key_from_pem(key_pem.as_bytes())?;
    rustls::sign::CertifiedKey::from_der(chain, key, &provider())
        .map(Arc::new)
        .map_err(|e| format!("the certificate and key do not go together: {e}"))
}

fn file_error(path: &Path, message: String) -> TlsError {
    TlsError::File {
        path: path.display().to_string(),
        message,
    }
}

/// What a custom domain asks of a handshake: its own certificate, and a truststore for client
/// certificates (PEM).
#[derive(Clone, Default)]
pub struct DomainTls {
    pub certificate: Option<Arc<rustls::sign::CertifiedKey>>,
    pub truststore_pem: Option<Arc<str>>,
}

impl std::fmt::Debug for DomainTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DomainTls")
            .field("certificate", &self.certificate.is_some())
            .field("truststore", &self.truststore_pem.is_some())
            .finish()
    }
}

/// The backend client's TLS configurations.
pub struct ClientTls {
    /// Certificates verified against the system's roots and the extra CAs.
    pub verified: Arc<ClientConfig>,
    /// Nothing verified (`tlsConfig.insecureSkipVerification`).
    pub insecure: Arc<ClientConfig>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls")
    }
}

impl ClientTls {
    /// Verifying against the system's roots (read once per process) and `extra` CAs.
    pub fn new(extra: &[CertificateDer<'static>]) -> Result<ClientTls, TlsError> {
        let mut roots = RootCertStore::empty();
        for cert in system_roots() {
            // A root the platform ships that webpki cannot read is skipped, as curl would.
            let _ = roots.add(cert.clone());
        }
        for cert in extra {
            roots
                .add(cert.clone())
                .map_err(|e| TlsError::Config(format!("a --backend-ca certificate: {e}")))?;
        }
        let builder = |_: ()| {
            ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Config(e.to_string()))
        };
        let mut verified = builder(())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        verified.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut insecure = builder(())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
            .with_no_client_auth();
        insecure.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ClientTls {
            verified: Arc::new(verified),
            insecure: Arc::new(insecure),
        })
    }

    /// The configuration without extra CAs, made once per process (`None`, said in the log,
    /// when it cannot be built: TLS backends then fail).
    pub fn system() -> Option<Arc<ClientTls>> {
        static SYSTEM: OnceLock<Option<Arc<ClientTls>>> = OnceLock::new();
        SYSTEM
            .get_or_init(|| match ClientTls::new(&[]) {
                Ok(t) => Some(Arc::new(t)),
                Err(e) => {
                    tracing::error!("backend TLS: {e}");
                    None
                }
            })
            .clone()
    }
}

/// The platform's trusted roots, read once per process.
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for e in &found.errors {
            tracing::debug!("system TLS roots: {e}");
        }
        found.certs
    })
}

/// `ServerName` for a backend host (a DNS name or an IP address, brackets removed).
pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    ServerName::try_from(host.to_string())
        .map_err(|e| format!("{host:?} is not a TLS server name: {e}"))
}

/// Accepts any certificate (the integration turned verification off); signatures are still
/// checked, so the handshake itself is sound.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
