//! TLS for `https://` endpoints: which roots are trusted, the rustls client configuration (ring, ALPN
//! `http/1.1`, certificate and host name always checked unless told otherwise), and the handshake the
//! [`Connector`](super::connect::Connector) runs over each new TCP stream.

use std::path::PathBuf;

/// How `https://` connections are checked. Plain data: the CLI fills it in, [`TlsClient`] acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub roots: TrustRoots,
    /// `false` only for `--no-verify-ssl`: any certificate is taken (the handshake's own signatures are
    /// still checked).
    pub verify: bool,
}

impl Default for TlsOptions {
    fn default() -> TlsOptions {
        TlsOptions {
            roots: TrustRoots::System,
            verify: true,
        }
    }
}

/// Whom certificates must chain to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustRoots {
    /// The host's bundle (the first of [`SYSTEM_BUNDLES`] that holds a certificate), else Mozilla's
    /// roots compiled in: a minimal host or an empty root may have no bundle at all.
    System,
    /// These certificates only (a private CA): `--ca-bundle`, `AWS_CA_BUNDLE` or the profile's
    /// `ca_bundle`. `from` says which, for messages.
    File { path: PathBuf, from: String },
    /// The system's bundle, at the path `SSL_CERT_FILE` names: read as the system's are (a
    /// certificate that does not parse is skipped).
    SystemFile(PathBuf),
}

/// Where Linux distributions keep their CA bundle, in the order Go's crypto/x509 looks.
pub const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt", // Debian, Ubuntu, Arch, Gentoo
    "/etc/pki/tls/certs/ca-bundle.crt",   // Fedora, RHEL 6
    "/etc/ssl/ca-bundle.pem",             // openSUSE
    "/etc/pki/tls/cacert.pem",            // OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS, RHEL 7
    "/etc/ssl/cert.pem",                  // Alpine
];

#[cfg(feature = "tls")]
pub(crate) use client::TlsClient;

#[cfg(feature = "tls")]
mod client {
    use std::io;
    use std::net::SocketAddr;
    use std::path::Path;
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{self, CryptoProvider};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
    use tokio::net::TcpStream;
    use tokio_rustls::client::TlsStream;
    use tokio_rustls::TlsConnector;

    use super::{TlsOptions, TrustRoots, SYSTEM_BUNDLES};
    use crate::shell::error::{Error, TlsRefused};

    /// A CA bundle larger than this is not read (the system's holds about 150 certificates in 200 KB).
    const MAX_BUNDLE_BYTES: u64 = 16 << 20;

    /// Runs the client side of TLS for one host: every connection of a scan shares its configuration
    /// (and so its session cache: a new connection resumes instead of a full handshake).
    pub(crate) struct TlsClient {
        connector: TlsConnector,
        name: ServerName<'static>,
        /// Which roots are trusted, in words, for errors.
        roots: String,
    }

    impl TlsClient {
        /// TLS to `host` (a name, or an IP address checked against the certificate's IP SANs).
        pub(crate) fn new(options: &TlsOptions, host: &str) -> Result<TlsClient, Error> {
            let bare = crate::core::endpoint::bare_host(host);
            let name = ServerName::try_from(bare.to_owned()).map_err(|e| Error::Setup {
                what: format!("{bare:?} cannot be checked against a certificate"),
                source: io::Error::new(io::ErrorKind::InvalidInput, e),
            })?;
            let provider = Arc::new(crypto::ring::default_provider());
            let builder = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::Setup {
                    what: "cannot set up TLS".into(),
                    source: io::Error::other(e),
                })?;
            let (mut config, roots) = if options.verify {
                let (store, roots) = trusted_roots(&options.roots)?;
                (
                    builder.with_root_certificates(store).with_no_client_auth(),
                    roots,
                )
            } else {
                let config = builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
                    .with_no_client_auth();
                (config, "no roots (--no-verify-ssl)".to_owned())
            };
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(TlsClient {
                connector: TlsConnector::from(Arc::new(config)),
                name,
                roots,
            })
        }

        /// The handshake over a new TCP stream. A refusal by either side (an untrusted certificate, one
        /// for another name, nothing in common) is [`Error::Tls`], which no retry can mend; the stream
        /// failing under it is a connection error like any other.
        pub(crate) async fn handshake(
            &self,
            tcp: TcpStream,
            addr: SocketAddr,
        ) -> Result<TlsStream<TcpStream>, Error> {
            self.connector
                .connect(self.name.clone(), tcp)
                .await
                .map_err(|source| {
                    match source
                        .get_ref()
                        .and_then(|e| e.downcast_ref::<rustls::Error>())
                        .filter(|e| is_refusal(e))
                    {
                        Some(refusal) => Error::Tls(Box::new(TlsRefused {
                            addr: addr.to_string(),
                            host: self.name.to_str().into_owned(),
                            roots: self.roots.clone(),
                            source: refusal.clone(),
                        })),
                        None => Error::Connect {
                            addr: addr.to_string(),
                            source,
                        },
                    }
                })
        }
    }

    /// Whether a failed handshake is a decision (ours about the certificate, or the server's about
    /// what we offered) that another attempt would meet again, rather than a server or a network in
    /// trouble (an internal-error alert, a corrupt record), which is retried like a reset.
    fn is_refusal(e: &rustls::Error) -> bool {
        use rustls::AlertDescription as A;
        match e {
            rustls::Error::InvalidCertificate(_)
            | rustls::Error::NoCertificatesPresented
            | rustls::Error::PeerIncompatible(_) => true,
            rustls::Error::AlertReceived(alert) => matches!(
                alert,
                A::HandshakeFailure
                    | A::ProtocolVersion
                    | A::BadCertificate
                    | A::UnsupportedCertificate
                    | A::CertificateRevoked
                    | A::CertificateExpired
                    | A::CertificateUnknown
                    | A::UnknownCA
                    | A::AccessDenied
                    | A::InsufficientSecurity
                    | A::NoApplicationProtocol
                    | A::UnrecognisedName
            ),
            _ => false,
        }
    }

    /// The root store and its description.
    fn trusted_roots(roots: &TrustRoots) -> Result<(RootCertStore, String), Error> {
        match roots {
            TrustRoots::File { path, from } => {
                let what = format!("the CA bundle {} ({from})", path.display());
                let store = read_bundle(path, Strictness::Refuse)?.ok_or_else(|| no_cert(&what))?;
                Ok((store, what))
            }
            TrustRoots::SystemFile(path) => {
                let what = format!("the CA bundle {} (SSL_CERT_FILE)", path.display());
                let store =
                    read_bundle(path, Strictness::SkipBad)?.ok_or_else(|| no_cert(&what))?;
                Ok((store, what))
            }
            TrustRoots::System => {
                for path in SYSTEM_BUNDLES {
                    // A missing or unreadable system bundle is not an error: the next one is tried.
                    if let Ok(Some(store)) = read_bundle(Path::new(path), Strictness::SkipBad) {
                        return Ok((store, format!("the system's CA bundle {path}")));
                    }
                }
                let store = RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                };
                Ok((store, "Mozilla's roots (compiled in)".to_owned()))
            }
        }
    }

    fn no_cert(what: &str) -> Error {
        Error::CaBundle {
            what: what.to_owned(),
            source: io::Error::new(io::ErrorKind::InvalidData, "it holds no PEM certificate"),
        }
    }

    /// What to do with a certificate of a bundle that does not parse.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Strictness {
        /// Refuse the bundle: a user's private CA must not be silently left out.
        Refuse,
        /// Skip it: one odd root of the system's must not cost all the others.
        SkipBad,
    }

    /// The certificates of a PEM bundle; `None` if it holds none. Other PEM sections (keys, CRLs) are
    /// skipped.
    fn read_bundle(path: &Path, strictness: Strictness) -> Result<Option<RootCertStore>, Error> {
        let setup = |source: io::Error| Error::CaBundle {
            what: format!("cannot read the CA bundle {}", path.display()),
            source,
        };
        let file = std::fs::File::open(path).map_err(setup)?;
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut io::Read::take(file, MAX_BUNDLE_BYTES + 1), &mut bytes)
            .map_err(setup)?;
        if bytes.len() as u64 > MAX_BUNDLE_BYTES {
            return Err(setup(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("larger than {MAX_BUNDLE_BYTES} bytes"),
            )));
        }
        let mut store = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&bytes) {
            let added = match cert {
                Ok(cert) => store
                    .add(cert)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e)),
                Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e)),
            };
            if let Err(e) = added {
                if strictness == Strictness::Refuse {
                    return Err(setup(e));
                }
            }
        }
        Ok((!store.is_empty()).then_some(store))
    }

    /// `--no-verify-ssl`: takes any certificate for any name, but still checks that the server holds
    /// the key of the certificate it sent.
    #[derive(Debug)]
    struct NoVerification(Arc<CryptoProvider>);

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
            crypto::verify_tls12_signature(
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
            crypto::verify_tls13_signature(
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
}
