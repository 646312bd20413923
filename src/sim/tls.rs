//! The simulator over HTTPS: a certificate chain and its key from PEM files (made at test time, or
//! by the user), served with rustls (ALPN `http/1.1`), so that the client's TLS path, AWS's default,
//! can be tried end to end without the network.

use std::path::PathBuf;

use crate::shell::error::Error;

/// Where the simulator's certificate chain and private key are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Runs the server side of TLS over each accepted connection.
#[cfg(feature = "tls")]
pub type Acceptor = tokio_rustls::TlsAcceptor;

/// This build has no TLS: there is no acceptor, and [`acceptor`] says so.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub enum Acceptor {}

#[cfg(not(feature = "tls"))]
pub fn acceptor(_tls: &SimTls) -> Result<Acceptor, Error> {
    Err(Error::Setup {
        what: "the simulator cannot serve HTTPS".into(),
        source: std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "this build has no TLS (built without the `tls` feature)",
        ),
    })
}

/// The acceptor for `tls`'s certificate and key.
#[cfg(feature = "tls")]
pub fn acceptor(tls: &SimTls) -> Result<Acceptor, Error> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use std::io;
    use std::sync::Arc;

    let setup = |what: String, e: &dyn std::fmt::Display| Error::Setup {
        what,
        source: io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
    };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| {
            setup(
                format!("cannot read the certificate {}", tls.cert.display()),
                &e,
            )
        })?;
    if chain.is_empty() {
        return Err(setup(
            format!("the certificate file {}", tls.cert.display()),
            &"it holds no PEM certificate",
        ));
    }
    // The error names the file, never the key's bytes.
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| {
        setup(
            format!("cannot read the private key {}", tls.key.display()),
            &e,
        )
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|e| setup("the simulator's certificate and key".into(), &e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}
