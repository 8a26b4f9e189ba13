//! The TLS side of the web configuration: Go's names for versions, cipher
//! suites and curves mapped onto rustls (with the `ring` provider reqwest
//! already uses, so there is one crypto library in the binary), the
//! certificate and key, and client certificates per `client_auth_type`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    CipherSuite, DigitallySignedStruct, DistinguishedName, NamedGroup, RootCertStore, ServerConfig,
    SignatureScheme, SupportedProtocolVersion,
};

use super::config::{non_empty, resolve, RawTls, WebConfigError};

/// Go's TLS version names, in order; rustls offers the last two.
const VERSIONS: [&str; 4] = ["TLS10", "TLS11", "TLS12", "TLS13"];

/// Go's secure cipher suite names (`tls.CipherSuites()`, the only ones the
/// toolkit accepts) and the rustls suite for each, `None` where rustls
/// does not offer it (the CBC suites).
const CIPHER_SUITES: &[(&str, Option<CipherSuite>)] = &[
    (
        "TLS_AES_128_GCM_SHA256",
        Some(CipherSuite::TLS13_AES_128_GCM_SHA256),
    ),
    (
        "TLS_AES_256_GCM_SHA384",
        Some(CipherSuite::TLS13_AES_256_GCM_SHA384),
    ),
    (
        "TLS_CHACHA20_POLY1305_SHA256",
        Some(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256),
    ),
    ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", None),
    ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", None),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        Some(CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384),
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256),
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        Some(CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256),
    ),
];

/// Go's curve names the toolkit accepts and the rustls group for each
/// (`ring` has neither P-521 nor the post-quantum hybrid).
const CURVES: &[(&str, Option<NamedGroup>)] = &[
    ("CurveP256", Some(NamedGroup::secp256r1)),
    ("CurveP384", Some(NamedGroup::secp384r1)),
    ("CurveP521", None),
    ("X25519", Some(NamedGroup::X25519)),
    ("X25519MLKEM768", None),
];

/// Go's `client_auth_type` values (`RequireClientCert` is the toolkit's
/// old alias of `RequireAnyClientCert`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClientAuth {
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(name: &str) -> Result<Self, WebConfigError> {
        Ok(match name {
            "" | "NoClientCert" => Self::NoClientCert,
            "RequestClientCert" => Self::RequestClientCert,
            "RequireAnyClientCert" | "RequireClientCert" => Self::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => Self::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => Self::RequireAndVerifyClientCert,
            other => {
                return Err(WebConfigError::new(format!(
                    "tls_server_config: invalid client_auth_type {other:?} (allowed: NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert)"
                )))
            }
        })
    }
}

/// Whether the section asks for TLS at all: any of the certificate, key,
/// client CA or client auth type set (the toolkit's `IsEnabled`).
pub(crate) fn is_enabled(raw: &RawTls) -> bool {
    non_empty(&raw.cert_file).is_some()
        || non_empty(&raw.cert).is_some()
        || non_empty(&raw.key_file).is_some()
        || raw.key.as_ref().is_some_and(|k| !k.0.is_empty())
        || non_empty(&raw.client_ca_file).is_some()
        || non_empty(&raw.client_ca).is_some()
        || non_empty(&raw.client_auth_type).is_some()
}

/// The files the section names, resolved against the configuration's
/// folder: what the reloader watches besides the file itself.
pub(crate) fn referenced_files(raw: &RawTls, dir: &Path) -> Vec<PathBuf> {
    [&raw.cert_file, &raw.key_file, &raw.client_ca_file]
        .into_iter()
        .filter_map(non_empty)
        .map(|name| resolve(dir, name))
        .collect()
}

/// Checks the names (versions, suites, curves, client auth type) without
/// touching any file, so that the cheap mistakes are reported first.
struct Names {
    versions: Vec<&'static SupportedProtocolVersion>,
    suites: Option<Vec<CipherSuite>>,
    curves: Option<Vec<NamedGroup>>,
    client_auth: ClientAuth,
}

fn version_index(
    field: &str,
    value: &Option<String>,
    default: usize,
    tls_on: bool,
) -> Result<usize, WebConfigError> {
    let Some(name) = non_empty(value) else {
        return Ok(default);
    };
    let index = VERSIONS.iter().position(|v| *v == name).ok_or_else(|| {
        WebConfigError::new(format!(
            "tls_server_config: unknown TLS version {name:?} in {field} (allowed: TLS10, TLS11, TLS12, TLS13)"
        ))
    })?;
    // Without TLS the toolkit never uses the versions: only a name it does
    // not know is an error then.
    if index < 2 && tls_on {
        return Err(WebConfigError::new(format!(
            "tls_server_config: {field} {name} is not offered by this exporter (rustls speaks TLS12 and TLS13 only)"
        )));
    }
    Ok(index)
}

fn check_names(raw: &RawTls) -> Result<Names, WebConfigError> {
    let tls_on = is_enabled(raw);
    let min = version_index("min_version", &raw.min_version, 2, tls_on)?.max(2);
    let max = version_index("max_version", &raw.max_version, 3, tls_on)?.max(2);
    if max < min {
        return Err(WebConfigError::new(format!(
            "tls_server_config: max_version {} is below min_version {}",
            VERSIONS[max], VERSIONS[min]
        )));
    }
    let versions = (min..=max)
        .map(|i| {
            if i == 2 {
                &rustls::version::TLS12
            } else {
                &rustls::version::TLS13
            }
        })
        .collect();

    let suites = match &raw.cipher_suites {
        Some(names) if !names.is_empty() => {
            let mut suites = Vec::with_capacity(names.len());
            let mut missing = Vec::new();
            for name in names {
                match CIPHER_SUITES.iter().find(|(go, _)| go == name) {
                    None => {
                        return Err(WebConfigError::new(format!(
                            "tls_server_config: unknown cipher {name:?}"
                        )))
                    }
                    Some((_, None)) => missing.push(name.as_str()),
                    Some((_, Some(suite))) => suites.push(*suite),
                }
            }
            if !missing.is_empty() {
                return Err(WebConfigError::new(format!(
                    "tls_server_config: cipher suites not offered by rustls: {}",
                    missing.join(", ")
                )));
            }
            Some(suites)
        }
        _ => None,
    };

    let curves = match &raw.curve_preferences {
        Some(names) if !names.is_empty() => {
            let mut groups = Vec::with_capacity(names.len());
            let mut left_out = Vec::new();
            for name in names {
                match CURVES.iter().find(|(go, _)| go == name) {
                    None => {
                        return Err(WebConfigError::new(format!(
                            "tls_server_config: unknown curve {name:?} (allowed: CurveP256, CurveP384, CurveP521, X25519, X25519MLKEM768)"
                        )))
                    }
                    Some((_, None)) => left_out.push(name.as_str()),
                    Some((_, Some(group))) => groups.push(*group),
                }
            }
            // As Go keeps the curves it has: only a list with none left
            // is an error.
            if groups.is_empty() {
                return Err(WebConfigError::new(format!(
                    "tls_server_config: none of curve_preferences is offered by rustls ({}); add CurveP256, CurveP384 or X25519",
                    left_out.join(", ")
                )));
            }
            if !left_out.is_empty() && tls_on {
                tracing::warn!(
                    left_out = %left_out.join(","),
                    "tls_server_config: curve_preferences names curves rustls does not offer; they are left out"
                );
            }
            Some(groups)
        }
        _ => None,
    };

    let client_auth = ClientAuth::parse(non_empty(&raw.client_auth_type).unwrap_or(""))?;
    Ok(Names {
        versions,
        suites,
        curves,
        client_auth,
    })
}

/// The provider restricted to what the file asks. As in Go, a cipher
/// suite list only restricts TLS 1.2 (its order is the server's
/// preference); TLS 1.3 keeps all its suites.
fn provider(names: &Names) -> CryptoProvider {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(wanted) = &names.suites {
        let all = std::mem::take(&mut provider.cipher_suites);
        let (tls13, tls12): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|s| s.version() == &rustls::version::TLS13);
        provider.cipher_suites = tls13;
        for suite in wanted {
            if let Some(found) = tls12.iter().find(|s| s.suite() == *suite) {
                provider.cipher_suites.push(*found);
            }
        }
    }
    if let Some(wanted) = &names.curves {
        let all = std::mem::take(&mut provider.kx_groups);
        provider.kx_groups = wanted
            .iter()
            .filter_map(|group| all.iter().find(|g| g.name() == *group).copied())
            .collect();
    }
    provider
}

fn read(field: &str, path: &Path) -> Result<Vec<u8>, WebConfigError> {
    std::fs::read(path).map_err(|error| {
        WebConfigError::new(format!(
            "tls_server_config: cannot read {field} {}: {}",
            path.display(),
            error.kind()
        ))
    })
}

fn load_certs(field: &str, pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, WebConfigError> {
    let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem).collect();
    match certs {
        Ok(certs) if !certs.is_empty() => Ok(certs),
        Ok(_) => Err(WebConfigError::new(format!(
            "tls_server_config: no PEM certificate in {field}"
        ))),
        Err(_) => Err(WebConfigError::new(format!(
            "tls_server_config: {field} is not valid PEM"
        ))),
    }
}

/// Builds the rustls configuration for new connections, or `None` when the
/// section does not ask for TLS. `alpn_h2`: offer HTTP/2 by ALPN.
pub(crate) fn build(
    raw: &RawTls,
    dir: &Path,
    alpn_h2: bool,
) -> Result<Option<Arc<ServerConfig>>, WebConfigError> {
    let names = check_names(raw)?;
    if !is_enabled(raw) {
        return Ok(None);
    }
    let cert_file = non_empty(&raw.cert_file);
    let key_file = non_empty(&raw.key_file);
    if cert_file.is_none() && non_empty(&raw.cert).is_none() {
        return Err(WebConfigError::new(
            "tls_server_config: missing one of cert or cert_file",
        ));
    }
    if key_file.is_none() && raw.key.as_ref().is_none_or(|k| k.0.is_empty()) {
        return Err(WebConfigError::new(
            "tls_server_config: missing one of key or key_file",
        ));
    }
    // As in the toolkit, a file name wins over the inline PEM.
    let cert_pem = match cert_file {
        Some(name) => read("cert_file", &resolve(dir, name))?,
        None => raw.cert.clone().unwrap_or_default().into_bytes(),
    };
    let key_pem = match key_file {
        Some(name) => read("key_file", &resolve(dir, name))?,
        None => raw.key.clone().unwrap_or_default().0.into_bytes(),
    };
    let certs = load_certs(
        if cert_file.is_some() {
            "cert_file"
        } else {
            "cert"
        },
        &cert_pem,
    )?;
    let key_field = if key_file.is_some() {
        "key_file"
    } else {
        "key"
    };
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|_| {
        WebConfigError::new(format!(
            "tls_server_config: no PEM private key in {key_field}"
        ))
    })?;

    let ca_pem = match (non_empty(&raw.client_ca_file), non_empty(&raw.client_ca)) {
        (Some(name), _) => Some((
            "client_ca_file",
            read("client_ca_file", &resolve(dir, name))?,
        )),
        (None, Some(text)) => Some(("client_ca", text.as_bytes().to_vec())),
        (None, None) => None,
    };
    if ca_pem.is_some() && names.client_auth == ClientAuth::NoClientCert {
        return Err(WebConfigError::new(
            "tls_server_config: a client CA is configured without a client_auth_type",
        ));
    }
    // The client CAs, and their certificates as given (for PinnedSelfSigned).
    let roots = match &ca_pem {
        Some((field, pem)) => {
            let mut store = RootCertStore::empty();
            let certs = load_certs(field, pem)?;
            for cert in &certs {
                store.add(cert.clone()).map_err(|_| {
                    WebConfigError::new(format!(
                        "tls_server_config: {field} holds a certificate that cannot be a CA"
                    ))
                })?;
            }
            Some((Arc::new(store), certs))
        }
        None => None,
    };
    let sans = raw.client_allowed_sans.clone();
    if sans.is_some()
        && !matches!(
            names.client_auth,
            ClientAuth::RequireAnyClientCert | ClientAuth::RequireAndVerifyClientCert
        )
    {
        return Err(WebConfigError::new(
            "tls_server_config: client_allowed_sans requires client_auth_type to be one of RequireAnyClientCert or RequireAndVerifyClientCert",
        ));
    }

    let provider = Arc::new(provider(&names));
    let algorithms = provider.signature_verification_algorithms;
    let verifier: Option<Arc<dyn ClientCertVerifier>> = match names.client_auth {
        ClientAuth::NoClientCert => None,
        ClientAuth::RequestClientCert | ClientAuth::RequireAnyClientCert => {
            Some(Arc::new(UncheckedIssuer {
                mandatory: names.client_auth == ClientAuth::RequireAnyClientCert,
                accept: true,
                algorithms,
            }))
        }
        ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert => {
            let optional = names.client_auth == ClientAuth::VerifyClientCertIfGiven;
            // As Go: without a client CA, the system's roots.
            let (roots, pinned) = roots.unwrap_or_else(|| (system_roots(), Vec::new()));
            if roots.is_empty() {
                tracing::warn!(
                    client_auth_type = ?names.client_auth,
                    "tls_server_config: no client CA and no system root certificates: every client certificate presented is refused"
                );
                Some(Arc::new(UncheckedIssuer {
                    mandatory: !optional,
                    accept: false,
                    algorithms,
                }))
            } else {
                let builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
                let builder = if optional {
                    builder.allow_unauthenticated()
                } else {
                    builder
                };
                let inner = builder.build().map_err(|error| {
                    WebConfigError::new(format!("tls_server_config: client CA: {error}"))
                })?;
                Some(Arc::new(PinnedSelfSigned { inner, pinned }))
            }
        }
    };
    let verifier = match (verifier, sans) {
        (Some(inner), Some(allowed)) => Some(Arc::new(AllowedSans { inner, allowed }) as _),
        (verifier, _) => verifier,
    };

    let builder = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&names.versions)
        .map_err(|error| WebConfigError::new(format!("tls_server_config: {error}")))?;
    let builder = match verifier {
        Some(verifier) => builder.with_client_cert_verifier(verifier),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder.with_single_cert(certs, key).map_err(|error| {
        WebConfigError::new(format!(
            "tls_server_config: the certificate and key cannot be used together: {error}"
        ))
    })?;
    config.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    config.alpn_protocols = if alpn_h2 {
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    } else {
        vec![b"http/1.1".to_vec()]
    };
    Ok(Some(Arc::new(config)))
}

/// The system's root certificates (`SSL_CERT_FILE`/`SSL_CERT_DIR`, or the
/// platform's store); what cannot be read or parsed is left out.
fn system_roots() -> Arc<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    if !found.errors.is_empty() {
        tracing::debug!(
            errors = found.errors.len(),
            "some system root certificates cannot be read"
        );
    }
    let mut store = RootCertStore::empty();
    let (_added, _ignored) = store.add_parsable_certificates(found.certs);
    Arc::new(store)
}

/// Verifying modes over webpki, plus what Go accepts and webpki does not:
/// a client certificate that is itself one of the configured client CAs
/// (a self-signed certificate pinned in `client_ca_file`, which
/// `openssl req -x509` marks `CA:TRUE`). webpki refuses it as
/// `CaUsedAsEndEntity`; it is accepted when it is byte for byte one of the
/// configured CA certificates, within its validity period and, if it
/// names extended key usages, good for client authentication. Nothing
/// else webpki refuses is accepted.
#[derive(Debug)]
struct PinnedSelfSigned {
    inner: Arc<dyn ClientCertVerifier>,
    /// The configured client CA certificates (empty with the system's roots).
    pinned: Vec<CertificateDer<'static>>,
}

impl PinnedSelfSigned {
    fn accepts_pinned(&self, end_entity: &CertificateDer<'_>, now: UnixTime) -> bool {
        if !self
            .pinned
            .iter()
            .any(|ca| ca.as_ref() == end_entity.as_ref())
        {
            return false;
        }
        let Ok((_, parsed)) = x509_parser::parse_x509_certificate(end_entity.as_ref()) else {
            return false;
        };
        let Ok(now) = i64::try_from(now.as_secs()) else {
            return false;
        };
        let validity = parsed.validity();
        if now < validity.not_before.timestamp() || now > validity.not_after.timestamp() {
            return false;
        }
        match parsed.extended_key_usage() {
            Ok(None) => true,
            Ok(Some(eku)) => eku.value.client_auth || eku.value.any,
            Err(_) => false,
        }
    }
}

fn is_ca_used_as_end_entity(error: &rustls::Error) -> bool {
    match error {
        rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)) => {
            other.0.downcast_ref::<webpki::Error>() == Some(&webpki::Error::CaUsedAsEndEntity)
        }
        _ => false,
    }
}

/// The methods of a wrapping [`ClientCertVerifier`] that its `inner`
/// verifier answers unchanged: only `verify_client_cert` differs.
macro_rules! delegate_to_inner {
    () => {
        fn offer_client_auth(&self) -> bool {
            self.inner.offer_client_auth()
        }

        fn client_auth_mandatory(&self) -> bool {
            self.inner.client_auth_mandatory()
        }

        fn root_hint_subjects(&self) -> &[DistinguishedName] {
            self.inner.root_hint_subjects()
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.inner.verify_tls12_signature(message, cert, dss)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.inner.verify_tls13_signature(message, cert, dss)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.inner.supported_verify_schemes()
        }
    };
}

impl ClientCertVerifier for PinnedSelfSigned {
    delegate_to_inner!();

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            Err(error)
                if is_ca_used_as_end_entity(&error) && self.accepts_pinned(end_entity, now) =>
            {
                Ok(ClientCertVerified::assertion())
            }
            result => result,
        }
    }
}

/// A client certificate judged without a chain of trust, the handshake
/// signature still verified (the client must hold its key), as in Go:
/// - `RequestClientCert` / `RequireAnyClientCert` take any certificate
///   (`accept`);
/// - a verifying mode with no client CA and no system roots refuses any
///   certificate presented (as Go does with an empty pool); with
///   `VerifyClientCertIfGiven`, a client without one is served.
#[derive(Debug)]
struct UncheckedIssuer {
    mandatory: bool,
    accept: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for UncheckedIssuer {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.accept {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// `client_allowed_sans`: after the inner verifier accepted the client's
/// certificate, one of its subject alternative names (DNS, e-mail, IP or
/// URI, compared as text) must be in the list.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    allowed: Vec<String>,
}

impl ClientCertVerifier for AllowedSans {
    delegate_to_inner!();

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        if client_sans(end_entity)?
            .iter()
            .any(|san| self.allowed.contains(san))
        {
            Ok(verified)
        } else {
            Err(rustls::Error::General(
                "the client certificate has none of client_allowed_sans".into(),
            ))
        }
    }
}

/// The subject alternative names of a certificate as Go prints them.
fn client_sans(cert: &CertificateDer<'_>) -> Result<Vec<String>, rustls::Error> {
    use x509_parser::extensions::GeneralName;
    let bad = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding);
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|_| bad())?;
    let mut names = Vec::new();
    if let Ok(Some(extension)) = parsed.subject_alternative_name() {
        for name in &extension.value.general_names {
            match name {
                GeneralName::DNSName(dns) => names.push((*dns).to_owned()),
                GeneralName::RFC822Name(mail) => names.push((*mail).to_owned()),
                GeneralName::URI(uri) => names.push((*uri).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        names.push(std::net::Ipv4Addr::from(v4).to_string());
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        // Go prints an IPv4-mapped address as IPv4.
                        let v6 = std::net::Ipv6Addr::from(v6);
                        match v6.to_ipv4_mapped() {
                            Some(v4) => names.push(v4.to_string()),
                            None => names.push(v6.to_string()),
                        }
                    }
                }
                _ => {}
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::config::parse;

    fn tls(text: &str) -> RawTls {
        parse(text).unwrap().tls_server_config.unwrap_or_default()
    }

    fn names_error(text: &str) -> String {
        match check_names(&tls(text)) {
            Ok(_) => panic!("accepted: {text}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn versions_rustls_does_not_offer_are_refused() {
        let error = names_error("tls_server_config:\n  cert_file: c.pem\n  min_version: TLS10\n");
        assert!(
            error.contains("TLS10") && error.contains("rustls"),
            "{error}"
        );
        assert!(
            names_error("tls_server_config:\n  cert_file: c.pem\n  max_version: TLS11\n")
                .contains("TLS11")
        );
        assert!(names_error("tls_server_config:\n  min_version: SSL3\n")
            .contains("unknown TLS version"));
        assert!(
            names_error("tls_server_config:\n  min_version: TLS13\n  max_version: TLS12\n")
                .contains("below")
        );
        let names = check_names(&tls("tls_server_config:\n  min_version: TLS13\n")).unwrap();
        assert_eq!(names.versions.len(), 1);
        assert_eq!(names.versions[0].version, rustls::ProtocolVersion::TLSv1_3);
        // Without TLS, only unknown names matter, as in the toolkit.
        assert!(check_names(&tls("tls_server_config:\n  min_version: TLS10\n")).is_ok());
        // The toolkit's defaults: TLS12 to TLS13.
        assert_eq!(check_names(&RawTls::default()).unwrap().versions.len(), 2);
    }

    #[test]
    fn cipher_suites_by_go_names() {
        let names = check_names(&tls(
            "tls_server_config:\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, TLS_AES_128_GCM_SHA256]\n",
        ))
        .unwrap();
        let provider = provider(&names);
        let tls12: Vec<_> = provider
            .cipher_suites
            .iter()
            .filter(|s| s.version() == &rustls::version::TLS12)
            .map(|s| s.suite())
            .collect();
        assert_eq!(
            tls12,
            [CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
        );
        // TLS 1.3 suites stay, as in Go.
        assert_eq!(provider.cipher_suites.len(), 4);

        let error = names_error(
            "tls_server_config:\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA]\n",
        );
        assert!(error.contains("not offered by rustls"), "{error}");
        assert!(
            error.contains(
                "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
            ),
            "{error}"
        );
        // Go's insecure suites are unknown to the toolkit too.
        assert!(names_error(
            "tls_server_config:\n  cipher_suites: [TLS_RSA_WITH_AES_128_GCM_SHA256]\n"
        )
        .contains("unknown cipher"));
    }

    #[test]
    fn curves_by_go_names() {
        let names = check_names(&tls(
            "tls_server_config:\n  curve_preferences: [CurveP384, X25519]\n",
        ))
        .unwrap();
        let groups: Vec<_> = provider(&names)
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect();
        assert_eq!(groups, [NamedGroup::secp384r1, NamedGroup::X25519]);
        assert!(
            names_error("tls_server_config:\n  curve_preferences: [CurveP521]\n")
                .contains("none of curve_preferences is offered by rustls (CurveP521)")
        );
        // As Go: the curves it has are kept, the others left out.
        let names = check_names(&tls(
            "tls_server_config:\n  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519, X25519MLKEM768]\n",
        ))
        .unwrap();
        let groups: Vec<_> = provider(&names)
            .kx_groups
            .iter()
            .map(|g| g.name())
            .collect();
        assert_eq!(
            groups,
            [
                NamedGroup::secp256r1,
                NamedGroup::secp384r1,
                NamedGroup::X25519
            ]
        );
        assert!(
            names_error("tls_server_config:\n  curve_preferences: [P256]\n")
                .contains("unknown curve")
        );
    }

    #[test]
    fn client_auth_types() {
        for (name, auth) in [
            ("NoClientCert", ClientAuth::NoClientCert),
            ("RequestClientCert", ClientAuth::RequestClientCert),
            ("RequireAnyClientCert", ClientAuth::RequireAnyClientCert),
            ("RequireClientCert", ClientAuth::RequireAnyClientCert),
            (
                "VerifyClientCertIfGiven",
                ClientAuth::VerifyClientCertIfGiven,
            ),
            (
                "RequireAndVerifyClientCert",
                ClientAuth::RequireAndVerifyClientCert,
            ),
        ] {
            assert_eq!(ClientAuth::parse(name).unwrap(), auth);
        }
        assert!(ClientAuth::parse("requireandverifyclientcert").is_err());
    }

    #[test]
    fn tls_needs_both_cert_and_key() {
        let dir = Path::new("/nonexistent");
        let error = |text: &str| build(&tls(text), dir, true).unwrap_err().to_string();
        assert!(error("tls_server_config:\n  key_file: k.pem\n")
            .contains("missing one of cert or cert_file"));
        assert!(error("tls_server_config:\n  cert_file: c.pem\n")
            .contains("missing one of key or key_file"));
        assert!(error(
            "tls_server_config:\n  cert_file: ''\n  client_auth_type: RequireAnyClientCert\n"
        )
        .contains("missing one of cert"));
        // A missing file, named relative to the configuration's folder.
        let missing = error("tls_server_config:\n  cert_file: c.pem\n  key_file: k.pem\n");
        assert!(missing.contains("/nonexistent/c.pem"), "{missing}");
        // Nothing asked for TLS: plain HTTP.
        assert!(build(
            &tls("tls_server_config:\n  min_version: TLS13\n"),
            dir,
            true
        )
        .unwrap()
        .is_none());
    }

    #[test]
    fn an_inline_key_never_shows_in_errors() {
        let text = "tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n    MIIB\n    -----END CERTIFICATE-----\n  key: |\n    -----BEGIN PRIVATE KEY-----\n    SECRETKEYMATERIAL\n    -----END PRIVATE KEY-----\n";
        let error = build(&tls(text), Path::new("."), true)
            .unwrap_err()
            .to_string();
        assert!(!error.contains("SECRETKEYMATERIAL"), "{error}");
        assert!(!error.contains('\n'));
    }
}
