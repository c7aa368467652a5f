//! Opening connections: TCP (with TLS for https), then an HTTP/1.1 handshake.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use stats::ErrorKind;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::{EngineError, LoadSpec};

/// The request sender of one open HTTP/1.1 connection.
pub(crate) type Sender = SendRequest<Full<Bytes>>;

/// The future that does a connection's reading and writing. The worker that owns the
/// connection polls it beside its request (no task of its own, so no wake-ups between tasks on
/// every request); it completes when the connection ends.
pub(crate) type Io = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// One open HTTP/1.1 connection.
pub(crate) struct Open {
    /// Hands requests to the connection.
    pub(crate) sender: Sender,
    /// Drives the connection.
    pub(crate) io: Io,
    /// `io` has completed (and must not be polled again).
    pub(crate) ended: bool,
}

/// Opens connections to the run's target.
pub(crate) struct Connector {
    /// Resolved addresses of the target; connections rotate through them.
    addrs: Vec<SocketAddr>,
    /// TLS client and server name, for https targets.
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Connector {
    /// Resolves the target once and prepares TLS if the URL asks for it.
    pub(crate) async fn new(spec: &LoadSpec) -> Result<Self, EngineError> {
        let uri = &spec.request.uri;
        let host = uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let port = uri
            .port_u16()
            .unwrap_or(if spec.request.is_https() { 443 } else { 80 });
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|e| EngineError::Resolve {
                host: host.to_owned(),
                reason: e.to_string(),
            })?
            .collect();
        if addrs.is_empty() {
            return Err(EngineError::Resolve {
                host: host.to_owned(),
                reason: "no address".to_owned(),
            });
        }
        let tls = if spec.request.is_https() {
            let name = ServerName::try_from(host.to_owned())
                .map_err(|e| EngineError::Tls(e.to_string()))?;
            Some((
                TlsConnector::from(Arc::new(tls_config(spec.insecure))),
                name,
            ))
        } else {
            None
        };
        Ok(Self { addrs, tls })
    }

    /// Opens connection number `n` (used to spread connections over the resolved addresses).
    pub(crate) async fn connect(&self, n: usize) -> Result<Open, ErrorKind> {
        let addr = self.addrs[n % self.addrs.len()];
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|_| ErrorKind::Connect)?;
        let _ = tcp.set_nodelay(true);
        match &self.tls {
            None => handshake(tcp).await,
            Some((connector, name)) => {
                let stream = connector
                    .connect(name.clone(), tcp)
                    .await
                    .map_err(|_| ErrorKind::Connect)?;
                handshake(stream).await
            }
        }
    }
}

async fn handshake<S>(stream: S) -> Result<Open, ErrorKind>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(stream))
        .await
        .map_err(|_| ErrorKind::Connect)?;
    Ok(Open {
        sender,
        io: Box::pin(connection),
        ended: false,
    })
}

fn tls_config(insecure: bool) -> rustls::ClientConfig {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|_| rustls::ClientConfig::builder());
    let mut config = if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(insecure::AcceptAnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let roots =
            rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// `--insecure`: accept any server certificate (signatures are still checked for form).
mod insecure {
    use std::sync::Arc;

    use rustls::DigitallySignedStruct;
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub(super) struct AcceptAnyCertificate(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAnyCertificate {
        fn verify_server_cert(
            &self,
            _end_entity: &CertificateDer<'_>,
            _intermediates: &[CertificateDer<'_>],
            _server_name: &ServerName<'_>,
            _ocsp: &[u8],
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

        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}
