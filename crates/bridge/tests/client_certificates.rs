//! Mutual TLS: a `wss://` listener with `client_ca` lets in only clients
//! with a certificate from that CA (refused during the TLS handshake
//! otherwise), and a route's `target_cert` is presented to a `wss://`
//! target that requires one.

mod support;

use std::path::{Path, PathBuf};

use futures::{SinkExt, StreamExt};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use switchyard_bridge::{ListenerConfig, RouteConfig, TargetSpec};
use switchyard_ws::http::{HttpServer, HttpServerConfig};
use switchyard_ws::{websocket, ClientConfig, Router, WsMessage, WsServerConfig};

/// A CA of its own: its certificate's PEM file, and what signs with it.
fn ca(dir: &Path, name: &str) -> (PathBuf, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).unwrap();
    let path = dir.join(format!("{name}.pem"));
    std::fs::write(&path, cert.pem()).unwrap();
    (path, Issuer::new(params, key))
}

/// A client certificate signed by `issuer`, and its key, as PEM files.
fn client_cert(dir: &Path, name: &str, issuer: &Issuer<'_, KeyPair>) -> (PathBuf, PathBuf) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = params.signed_by(&key, issuer).unwrap();
    let (cert_path, key_path) = (
        dir.join(format!("{name}.pem")),
        dir.join(format!("{name}-key.pem")),
    );
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (cert_path, key_path)
}

/// Connects to `url`, trusting `server_cert`, presenting `identity`, and
/// checks an echo; the error if it cannot.
async fn echo_through(
    url: &str,
    server_cert: &Path,
    identity: Option<&(PathBuf, PathBuf)>,
) -> Result<(), String> {
    let tls = match identity {
        Some((cert, key)) => switchyard_ws::client_tls_with_cert(Some(server_cert), cert, key),
        None => switchyard_ws::client_tls(Some(server_cert)),
    }
    .unwrap();
    let config = ClientConfig::default().tls(tls);
    let mut client = switchyard_ws::connect_with(url, &config)
        .await
        .map_err(|e| e.to_string())?;
    client
        .send(WsMessage::binary("hello"))
        .await
        .map_err(|e| e.to_string())?;
    match client.next().await {
        Some(Ok(msg)) if msg == WsMessage::binary("hello") => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

#[test]
fn a_wss_listener_with_client_ca_lets_in_only_its_clients() {
    switchyard_rt::block_on(async {
        let dir = support::temp_dir("mtls-listener");
        let (server_cert, server_key) = support::self_signed(&dir);
        let (ca_path, issuer) = ca(&dir, "clients-ca");
        let (_, stranger) = ca(&dir, "other-ca");
        let alice = client_cert(&dir, "alice", &issuer);
        let mallory = client_cert(&dir, "mallory", &stranger);
        let echo = support::tcp_echo().await;

        let listen = "wss://127.0.0.1:0/echo".parse().unwrap();
        let listener = ListenerConfig::new(listen)
            .websocket_options(|ws| {
                ws.tls(server_cert.clone(), server_key)
                    .client_ca(Some(ca_path))
            })
            .route(RouteConfig::new(
                "/echo",
                TargetSpec::Fixed(format!("tcp://{echo}").parse().unwrap()),
            ));
        let bridge = support::start(vec![listener]).await;
        let url = format!("wss://localhost:{}/echo", bridge.addrs[0].port());

        echo_through(&url, &server_cert, Some(&alice))
            .await
            .unwrap();
        let without = echo_through(&url, &server_cert, None).await;
        assert!(without.is_err(), "a client without a certificate got in");
        let other = echo_through(&url, &server_cert, Some(&mallory)).await;
        assert!(other.is_err(), "a certificate from another CA got in");
        // Refused during the handshake: no session was begun for them.
        assert_eq!(bridge.metrics.sessions_total(), 1);
        let _ = std::fs::remove_dir_all(dir);
    })
}

#[test]
fn a_route_presents_its_target_cert_to_a_wss_target() {
    switchyard_rt::block_on(async {
        let dir = support::temp_dir("mtls-target");
        let (server_cert, server_key) = support::self_signed(&dir);
        let (ca_path, issuer) = ca(&dir, "bridge-ca");
        let bridge_identity = client_cert(&dir, "bridge", &issuer);
        // A wss:// echo service that wants a certificate from bridge-ca.
        let tls = switchyard_ws::server_tls_verifying_clients(&server_cert, &server_key, &ca_path)
            .unwrap();
        let router = Router::new().upgrade(
            "/echo",
            websocket(WsServerConfig::default(), |mut conn, _| async move {
                let _ = switchyard_ws::answer(&mut conn, |_, msg| Some(msg)).await;
            }),
        );
        let service = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default().tls(tls), router)
            .await
            .unwrap();
        let target = format!(
            "wss://localhost:{}/echo",
            service.local_addr().unwrap().port()
        );
        switchyard_rt::spawn(service.serve());

        let route = |path: &str, cert: Option<(PathBuf, PathBuf)>| {
            RouteConfig::new(path, TargetSpec::Fixed(target.parse().unwrap()))
                .target_ca(Some(server_cert.clone()))
                .target_cert(cert)
        };
        let listen = "ws://127.0.0.1:0/".parse().unwrap();
        let listener = ListenerConfig::new(listen)
            .route(route("/with", Some(bridge_identity)))
            .route(route("/without", None));
        let bridge = support::start(vec![listener]).await;
        let addr = bridge.addrs[0];

        let mut client = switchyard_ws::connect(&format!("ws://{addr}/with"))
            .await
            .unwrap();
        client.send(WsMessage::binary("mutual")).await.unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            WsMessage::binary("mutual")
        );
        // Without the certificate the target refuses the bridge: 1014.
        let (code, reason) =
            support::blocking(move || support::raw_close_frame(addr, "/without")).await;
        assert_eq!(code, 1014, "{reason}");
        assert!(reason.contains("unreachable"), "{reason}");
        let _ = std::fs::remove_dir_all(dir);
    })
}
