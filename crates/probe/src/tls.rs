//! TLS for the probers: a rustls client built from Prometheus's `tls_config` (system roots by
//! default, like Go), and the certificate metrics blackbox_exporter reports after a handshake.

use std::io;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::OnceCell;

use crate::config::TlsConfig;
use crate::metrics::{Registry, names};
use crate::x509::{CertSummary, hex, parse_certificate};

/// `time.Time{}.Unix()` in Go: what blackbox_exporter reports for a chain it did not verify.
pub const GO_ZERO_TIME_UNIX: f64 = -62_135_596_800.0;

/// Trust anchors, with the summaries of those we have as certificates (to include the root's
/// expiry in the chain expiry).
pub struct Roots {
    store: Arc<RootCertStore>,
    summaries: Vec<CertSummary>,
}

impl Roots {
    fn from_pem(pem: &[u8]) -> Result<Self, String> {
        let mut store = RootCertStore::empty();
        let mut summaries = Vec::new();
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("read PEM certificate: {e}"))?;
            if let Ok(summary) = parse_certificate(&cert) {
                summaries.push(summary);
            }
            // Go skips certificates it cannot parse; so do we.
            let _ = store.add(cert);
        }
        if store.is_empty() {
            return Err("no certificates found".into());
        }
        Ok(Self {
            store: Arc::new(store),
            summaries,
        })
    }
}

/// Where Go looks for the system bundle on Linux, in order.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

static SYSTEM_ROOTS: OnceCell<Arc<Roots>> = OnceCell::const_new();

/// The system's roots, read once (off the async threads); Mozilla's list compiled in when the
/// system has none.
async fn system_roots() -> Arc<Roots> {
    SYSTEM_ROOTS
        .get_or_init(|| async {
            let loaded = tokio::task::spawn_blocking(|| {
                let env = std::env::var("SSL_CERT_FILE").ok();
                let paths = env
                    .iter()
                    .map(String::as_str)
                    .chain(SYSTEM_BUNDLES.iter().copied());
                for path in paths {
                    if let Ok(pem) = std::fs::read(path)
                        && let Ok(roots) = Roots::from_pem(&pem)
                    {
                        return Some(roots);
                    }
                }
                None
            })
            .await
            .ok()
            .flatten();
            Arc::new(loaded.unwrap_or_else(|| {
                let mut store = RootCertStore::empty();
                store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
                Roots {
                    store: Arc::new(store),
                    summaries: Vec::new(),
                }
            }))
        })
        .await
        .clone()
}

/// Accepts any certificate (`insecure_skip_verify`), still checking handshake signatures.
#[derive(Debug)]
struct AcceptAnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// A client configuration plus what the metrics need to know about how it verifies.
#[derive(Clone)]
pub struct TlsSetup {
    pub config: Arc<ClientConfig>,
    /// `None` with `insecure_skip_verify`: no chain is verified.
    roots: Option<Arc<Roots>>,
    pub server_name: String,
}

async fn read_pem(inline: &str, file: &str, what: &str) -> Result<Option<Vec<u8>>, String> {
    if !inline.is_empty() {
        return Ok(Some(inline.as_bytes().to_vec()));
    }
    if file.is_empty() {
        return Ok(None);
    }
    tokio::fs::read(file)
        .await
        .map(Some)
        .map_err(|e| format!("unable to read {what} {file}: {e}"))
}

/// Builds the client for one probe. `default_server_name` is used when `server_name` is unset.
pub async fn setup(cfg: &TlsConfig, default_server_name: &str, alpn: &[&[u8]]) -> Result<TlsSetup, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let versions: &[&'static rustls::SupportedProtocolVersion] = if cfg.min_version == "TLS13" {
        &[&rustls::version::TLS13]
    } else {
        &[&rustls::version::TLS12, &rustls::version::TLS13]
    };
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| format!("tls versions: {e}"))?;
    let (builder, roots) = if cfg.insecure_skip_verify {
        let verifier = Arc::new(AcceptAnyCert(provider.clone()));
        (
            builder.dangerous().with_custom_certificate_verifier(verifier),
            None,
        )
    } else {
        let roots = match read_pem(&cfg.ca, &cfg.ca_file, "CA cert").await? {
            Some(pem) => {
                Arc::new(Roots::from_pem(&pem).map_err(|e| format!("unable to use specified CA cert: {e}"))?)
            }
            None => system_roots().await,
        };
        let verifier = WebPkiServerVerifier::builder_with_provider(roots.store.clone(), provider.clone())
            .build()
            .map_err(|e| format!("tls verifier: {e}"))?;
        (builder.with_webpki_verifier(verifier), Some(roots))
    };
    let cert = read_pem(&cfg.cert, &cfg.cert_file, "client cert").await?;
    let key_inline = cfg.key.as_ref().map_or("", |s| s.0.as_str());
    let key = read_pem(key_inline, &cfg.key_file, "client key").await?;
    let mut config = match (cert, key) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(&cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("client cert: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(&key).map_err(|e| format!("client key: {e}"))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| format!("client cert: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let server_name = if cfg.server_name.is_empty() {
        default_server_name.to_string()
    } else {
        cfg.server_name.clone()
    };
    Ok(TlsSetup {
        config: Arc::new(config),
        roots,
        server_name,
    })
}

impl TlsSetup {
    /// The same setup for another host (redirects to a different host verify that host).
    pub fn with_server_name(&self, name: &str) -> Self {
        Self {
            server_name: name.to_string(),
            ..self.clone()
        }
    }

    pub async fn handshake<S>(&self, stream: S) -> io::Result<tokio_rustls::client::TlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = self
            .server_name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let name = ServerName::try_from(name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("tls server name: {e}")))?;
        tokio_rustls::TlsConnector::from(self.config.clone())
            .connect(name, stream)
            .await
    }

    /// What blackbox reports about a finished handshake.
    pub fn state(&self, conn: &rustls::ClientConnection) -> TlsState {
        let certs: Vec<Option<CertSummary>> = conn
            .peer_certificates()
            .unwrap_or(&[])
            .iter()
            .map(|c| parse_certificate(c).ok())
            .collect();
        let fingerprint = conn
            .peer_certificates()
            .and_then(|c| c.first())
            .map(|leaf| hex(ring::digest::digest(&ring::digest::SHA256, leaf).as_ref()));
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_0) => "TLS 1.0",
            Some(rustls::ProtocolVersion::TLSv1_1) => "TLS 1.1",
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLS 1.2",
            Some(rustls::ProtocolVersion::TLSv1_3) => "TLS 1.3",
            _ => "unknown",
        };
        let earliest = certs.iter().flatten().map(|c| c.not_after).min();
        let last_chain = match &self.roots {
            None => None,
            Some(roots) => chain_expiry(&certs, roots),
        };
        let leaf = certs.first().cloned().flatten();
        TlsState {
            version,
            earliest_expiry: earliest.map_or(GO_ZERO_TIME_UNIX, |t| t as f64),
            last_chain_expiry: last_chain.map_or(GO_ZERO_TIME_UNIX, |t| t as f64),
            leaf_info: fingerprint.map(|fp| LeafInfo {
                fingerprint_sha256: fp,
                subject: leaf.as_ref().map(|l| l.subject.clone()).unwrap_or_default(),
                issuer: leaf.as_ref().map(|l| l.issuer.clone()).unwrap_or_default(),
                dns_names: leaf.as_ref().map(|l| l.dns_names.join(",")).unwrap_or_default(),
            }),
        }
    }
}

/// The earliest expiry along the verified chain: the leaf, the presented intermediates that
/// chain from it, and the trusted root that issued the last of them. Go takes the latest of
/// this over all verified chains; with one chain (the usual case) the numbers agree.
fn chain_expiry(certs: &[Option<CertSummary>], roots: &Roots) -> Option<i64> {
    let presented: Vec<&CertSummary> = certs.iter().flatten().collect();
    let mut current = *presented.first()?;
    let mut earliest = current.not_after;
    let mut used = vec![0usize];
    for _ in 0..presented.len() {
        if current.issuer_der == current.subject_der {
            return Some(earliest);
        }
        let next = presented
            .iter()
            .enumerate()
            .find(|(i, c)| !used.contains(i) && c.subject_der == current.issuer_der);
        match next {
            Some((i, c)) => {
                used.push(i);
                earliest = earliest.min(c.not_after);
                current = c;
            }
            None => break,
        }
    }
    if let Some(root) = roots
        .summaries
        .iter()
        .find(|r| r.subject_der == current.issuer_der)
    {
        earliest = earliest.min(root.not_after);
    }
    Some(earliest)
}

pub struct LeafInfo {
    pub fingerprint_sha256: String,
    pub subject: String,
    pub issuer: String,
    pub dns_names: String,
}

/// The TLS facts of one connection, in blackbox's terms.
pub struct TlsState {
    pub version: &'static str,
    pub earliest_expiry: f64,
    pub last_chain_expiry: f64,
    pub leaf_info: Option<LeafInfo>,
}

impl TlsState {
    /// Registers and sets the four TLS families, as the HTTP prober and the TCP prober's `tls:
    /// true` do.
    pub fn register(&self, reg: &mut Registry) {
        let earliest = reg.gauge(names::SSL_EARLIEST_CERT_EXPIRY);
        let version = reg.gauge_vec(names::TLS_VERSION_INFO, &["version"]);
        let last = reg.gauge(names::SSL_LAST_CHAIN_EXPIRY);
        let info = reg.gauge_vec(
            names::SSL_LAST_CHAIN_INFO,
            &["fingerprint_sha256", "subject", "issuer", "subjectalternative"],
        );
        reg.set(earliest, self.earliest_expiry);
        reg.set_vec(version, &[self.version], 1.0);
        reg.set(last, self.last_chain_expiry);
        if let Some(leaf) = &self.leaf_info {
            reg.set_vec(
                info,
                &[
                    &leaf.fingerprint_sha256,
                    &leaf.subject,
                    &leaf.issuer,
                    &leaf.dns_names,
                ],
                1.0,
            );
        }
    }
}
