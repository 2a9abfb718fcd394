//! TLS over loopback: a private CA's server is trusted only when its root
//! is added, and a bad root is a configuration error at build time.

use std::sync::Arc;

use actalink_transport::{Error, ErrorKind, ReqwestTransport, Response};
use http::{Method, StatusCode};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

use crate::send;

/// The error and each of its causes, joined with `: `.
fn chain(error: &Error) -> String {
    let mut chain = format!("{error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        chain.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    chain
}

/// A CA's PEM, and an HTTPS server for `localhost` signed by it that answers
/// every request `200 ok` (one request per connection).
async fn private_ca_server() -> (String, u16) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Distinct names: OpenSSL takes a leaf named like its issuer for self-signed.
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "actalink test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let server_key = KeyPair::generate().unwrap();
    let mut server_params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    server_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![server_cert.der().clone()],
        PrivateKeyDer::try_from(server_key.serialize_der()).unwrap(),
    )
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(stream).await else {
                    return;
                };
                let mut buf = [0u8; 4096];
                let _ = tls.read(&mut buf).await;
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (ca_cert.pem(), port)
}

/// A GET of `https://localhost:{port}/`.
async fn get_root(transport: &ReqwestTransport, port: u16) -> Result<Response, Error> {
    send(transport, Method::GET, format!("https://localhost:{port}/")).await
}

#[tokio::test]
async fn a_private_root_is_trusted_only_when_added() {
    let (ca_pem, port) = private_ca_server().await;
    let url = format!("https://localhost:{port}/billing/api/v1/paysession/status");

    let trusting = ReqwestTransport::builder()
        .add_root_certificate_pem(ca_pem.clone())
        .build()
        .unwrap();
    let response = send(&trusting, Method::GET, url.clone()).await.unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(&response.body[..], b"ok");

    let default = ReqwestTransport::new().unwrap();
    let error = send(&default, Method::GET, url).await.unwrap_err();
    assert!(
        matches!(error.kind(), ErrorKind::Connect | ErrorKind::Io),
        "an unknown CA must fail the handshake: {error:?}"
    );
}

#[tokio::test]
async fn a_bad_root_is_a_configuration_error() {
    let error = ReqwestTransport::builder()
        .add_root_certificate_pem("not a certificate")
        .build()
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config, "{error}");
    assert!(!error.was_sent());
}

#[tokio::test]
async fn a_client_of_your_own_can_be_wrapped() {
    let (ca_pem, port) = private_ca_server().await;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .tls_certs_merge(reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let transport = ReqwestTransport::from_client(client).with_max_body_bytes(1);
    let error = get_root(&transport, port).await.unwrap_err();
    assert_eq!(
        error.kind(),
        ErrorKind::BodyTooLarge { limit: 1 },
        "the cap applies: {}",
        chain(&error)
    );
}

#[cfg(feature = "native-tls")]
#[tokio::test]
async fn native_tls_trusts_an_added_root_too() {
    let (ca_pem, port) = private_ca_server().await;
    let transport = ReqwestTransport::builder()
        .use_native_tls()
        .add_root_certificate_pem(ca_pem)
        .build()
        .unwrap();
    let result = get_root(&transport, port).await;
    let error = match result {
        Ok(response) => {
            assert_eq!(response.status, StatusCode::OK);
            return;
        }
        Err(error) => error,
    };
    panic!("{}", chain(&error));
}
