//! TLS for switchyard's servers and clients (`https`, `wss`): rustls with
//! the ring provider (no OpenSSL), PEM files for servers, the system's roots
//! plus an optional extra CA for clients, and client certificates both ways
//! (servers that require them, clients that present one).
//!
//! ```no_run
//! // A server's certificate chain and key.
//! let server = switchyard_tls::server_tls("cert.pem".as_ref(), "key.pem".as_ref())?;
//! // A client trusting the system's roots and a private CA.
//! let client = switchyard_tls::client_tls(Some("ca.pem".as_ref()))?;
//! # drop((server, client));
//! # Ok::<(), switchyard_tls::TlsError>(())
//! ```

//!
//! The TLS library is futures-rustls (rustls with ring), and its stream
//! types are this crate's ([`ServerTlsStream`], [`ClientTlsStream`]): the
//! crates above wrap them in types of their own, so that theirs show none.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};

use futures::io::{AsyncRead, AsyncWrite};
use futures_rustls::rustls::server::WebPkiClientVerifier;
use futures_rustls::rustls::{self, crypto::ring, ClientConfig, RootCertStore, ServerConfig};
use futures_rustls::{TlsAcceptor, TlsConnector};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// What went wrong setting up TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A PEM file could not be read or parsed.
    #[error("cannot read {path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// A certificate file held no certificate.
    #[error("{path} holds no PEM certificate")]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// No root certificate could be loaded for a client.
    #[error("no trusted root certificates: {reason}")]
    NoRoots {
        /// Why.
        reason: String,
    },
    /// rustls refused the configuration (e.g. a key that does not match).
    /// Its message is in this error's own: it is not repeated as a source.
    #[error("TLS configuration refused: {0}")]
    Config(rustls::Error),
}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        TlsError::Config(e)
    }
}

/// A server's TLS setup (certificate chain and key, and the CA its
/// clients' certificates must come from, if any), from [`server_tls`] or
/// [`server_tls_verifying_clients`].
///
/// Clones share one setup, which [`replace_with`](Self::replace_with)
/// changes for every connection accepted after it: renewed certificates
/// without a restart.
#[derive(Clone)]
pub struct ServerTls(Arc<RwLock<TlsAcceptor>>);

/// The same setup: clones of one [`ServerTls`] (which
/// [`replace_with`](ServerTls::replace_with) changes together).
impl PartialEq for ServerTls {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ServerTls {}

impl ServerTls {
    /// Makes `other`'s certificates (and client CA) this setup's, and so
    /// every clone's, for the handshakes that begin from now on.
    pub fn replace_with(&self, other: &ServerTls) {
        let acceptor = other.acceptor();
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = acceptor;
    }

    /// The acceptor for a new handshake.
    fn acceptor(&self) -> TlsAcceptor {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The server side of a TLS handshake on `stream`, with the setup in
    /// force when it begins. A client refused (no certificate when one is
    /// required, no shared version or cipher) is an
    /// [`io::ErrorKind::InvalidData`] error.
    pub async fn accept<S>(&self, stream: S) -> io::Result<ServerTlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        self.acceptor().accept(stream).await
    }
}

/// A TLS session over `S`, server side.
pub type ServerTlsStream<S> = futures_rustls::server::TlsStream<S>;
/// A TLS session over `S`, client side.
pub type ClientTlsStream<S> = futures_rustls::client::TlsStream<S>;

/// A client's TLS setup (trusted roots, and a certificate of its own, if
/// any), from [`client_tls`] or [`client_tls_with_cert`].
#[derive(Clone)]
pub struct ClientTls(TlsConnector);

impl ClientTls {
    /// The client side of a TLS handshake on `stream` with the server named
    /// `server_name` (a host name or an IP address), whose certificate must
    /// be valid for it.
    pub async fn connect<S>(&self, server_name: &str, stream: S) -> io::Result<ClientTlsStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let name = rustls_pki_types::ServerName::try_from(server_name.to_string())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.0.connect(name, stream).await
    }
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerTls { .. }")
    }
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientTls { .. }")
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(ring::default_provider())
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_error = |e: rustls_pki_types::pem::Error| TlsError::Pem {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// A TLS acceptor for a server, from a PEM certificate chain and a PEM
/// private key (PKCS#8, PKCS#1 or SEC1). Offers HTTP/1.1 by ALPN.
///
/// ```no_run
/// let tls = switchyard_tls::server_tls("cert.pem".as_ref(), "key.pem".as_ref())?;
/// # Ok::<(), switchyard_tls::TlsError>(())
/// ```
pub fn server_tls(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
    server(cert, key, None)
}

/// [`server_tls`], and every client must present a certificate signed by
/// a CA in `client_ca` (a PEM file): a client without one, or with one
/// from another CA, is refused during the TLS handshake, before a byte of
/// HTTP.
///
/// ```no_run
/// let tls = switchyard_tls::server_tls_verifying_clients(
///     "cert.pem".as_ref(),
///     "key.pem".as_ref(),
///     "clients-ca.pem".as_ref(),
/// )?;
/// # Ok::<(), switchyard_tls::TlsError>(())
/// ```
pub fn server_tls_verifying_clients(
    cert: &Path,
    key: &Path,
    client_ca: &Path,
) -> Result<ServerTls, TlsError> {
    server(cert, key, Some(client_ca))
}

fn server(cert: &Path, key: &Path, client_ca: Option<&Path>) -> Result<ServerTls, TlsError> {
    let chain = certificates(cert)?;
    let key = private_key(key)?;
    let builder =
        ServerConfig::builder_with_provider(provider()).with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(path)? {
                roots.add(cert)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(roots.into(), provider())
                .build()
                .map_err(|e| TlsError::Pem {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder.with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(ServerTls(Arc::new(RwLock::new(TlsAcceptor::from(
        Arc::new(config),
    )))))
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsError::Pem {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// A TLS connector for clients: trusts the system's root certificates and,
/// if given, the CA certificates in `extra_ca` (a PEM file; for a private
/// CA or a self-signed server certificate).
pub fn client_tls(extra_ca: Option<&Path>) -> Result<ClientTls, TlsError> {
    client(extra_ca, None)
}

/// [`client_tls`], presenting the certificate chain `cert` with its key
/// `key` (PEM files) to servers that ask for one (mutual TLS).
///
/// ```no_run
/// let tls = switchyard_tls::client_tls_with_cert(None, "me.pem".as_ref(), "me-key.pem".as_ref())?;
/// # Ok::<(), switchyard_tls::TlsError>(())
/// ```
pub fn client_tls_with_cert(
    extra_ca: Option<&Path>,
    cert: &Path,
    key: &Path,
) -> Result<ClientTls, TlsError> {
    client(extra_ca, Some((cert, key)))
}

fn client(
    extra_ca: Option<&Path>,
    identity: Option<(&Path, &Path)>,
) -> Result<ClientTls, TlsError> {
    let mut roots = RootCertStore::empty();
    let system = rustls_native_certs::load_native_certs();
    for cert in system.certs {
        let _ = roots.add(cert); // skip the odd unparsable system certificate
    }
    if let Some(path) = extra_ca {
        for cert in certificates(path)? {
            roots.add(cert)?;
        }
    }
    if roots.is_empty() {
        let reason = match system.errors.first() {
            Some(e) => format!("the system store failed ({e}) and no extra CA was given"),
            None => "the system store is empty and no extra CA was given".into(),
        };
        return Err(TlsError::NoRoots { reason });
    }
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            builder.with_client_auth_cert(certificates(cert)?, private_key(key)?)?
        }
    };
    Ok(ClientTls(TlsConnector::from(Arc::new(config))))
}

/// A byte stream that is either plain or TLS: what a server or client
/// connection runs over, `ws://` or `wss://` alike. The crates above wrap it
/// in types of their own ([`opaque_io!`]) that show no TLS library's types.
#[derive(Debug)]
pub enum MaybeTls<P, T> {
    /// Plain TCP.
    Plain(P),
    /// TLS over TCP (boxed: a TLS session is large).
    Tls(Box<T>),
}

impl<P, T> AsyncRead for MaybeTls<P, T>
where
    P: AsyncRead + Unpin,
    T: AsyncRead + Unpin,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_read(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl<P, T> AsyncWrite for MaybeTls<P, T>
where
    P: AsyncWrite + Unpin,
    T: AsyncWrite + Unpin,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_write(cx, buf),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_flush(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            MaybeTls::Plain(s) => Pin::new(s).poll_close(cx),
            MaybeTls::Tls(s) => Pin::new(s.as_mut()).poll_close(cx),
        }
    }
}

/// A public byte stream type over a [`MaybeTls`], opaque: `AsyncRead` and
/// `AsyncWrite`, nothing of the TLS library underneath. The field is the
/// defining crate's alone.
#[macro_export]
macro_rules! opaque_io {
    ($(#[$doc:meta])* $name:ident = $inner:ty) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name(pub(crate) $inner);

        impl $crate::__futures::io::AsyncRead for $name {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
            }
        }

        impl $crate::__futures::io::AsyncWrite for $name {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                std::pin::Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
            }

            fn poll_flush(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.get_mut().0).poll_flush(cx)
            }

            fn poll_close(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<std::io::Result<()>> {
                std::pin::Pin::new(&mut self.get_mut().0).poll_close(cx)
            }
        }
    };
}
#[doc(hidden)]
pub use futures as __futures;
