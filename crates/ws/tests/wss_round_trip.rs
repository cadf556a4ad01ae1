//! wss: a round trip over TLS with a self-signed certificate made here, a
//! client that does not trust that certificate refused, and no direct
//! writer over TLS (its records are the connection's own to write).

mod support;

use std::path::PathBuf;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_ws::http::{HttpServerConfig, Router};
use switchyard_ws::{
    client_tls, connect_with, server_tls, websocket, ClientConfig, WsServerConfig,
};

/// Writes a self-signed certificate for `localhost` and its key as PEM.
fn self_signed(dir: &std::path::Path) -> (PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (cert, key)
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_wss_round_trip_with_a_self_signed_certificate() {
    switchyard_rt::block_on(async {
        let dir = temp_dir("wss-ok");
        let (cert, key) = self_signed(&dir);
        let addr =
            support::start_http(HttpServerConfig::default().tls(server_tls(&cert, &key).unwrap()))
                .await;
        let url = format!("wss://localhost:{}/ws", addr.port());

        let config = ClientConfig::default().tls(client_tls(Some(&cert)).unwrap());
        let mut client = connect_with(&url, &config).await.unwrap();
        client.send("over TLS".into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), "over TLS".into());
        let big = vec![7u8; 200_000];
        client.send(big.clone().into()).await.unwrap();
        assert_eq!(client.next().await.unwrap().unwrap(), big.into());
        client.close(1000, "done").await.unwrap();

        // Plain HTTP to a TLS port is not answered as HTTP.
        let plain = support::raw_exchange(addr, b"GET / HTTP/1.1\r\n\r\n");
        assert!(!plain.starts_with("HTTP/1.1"), "{plain}");
        let _ = std::fs::remove_dir_all(dir);
    })
}

#[test]
fn a_tls_connection_has_no_direct_writer() {
    switchyard_rt::block_on(async {
        let dir = temp_dir("wss-direct");
        let (cert, key) = self_signed(&dir);
        let answer = Arc::new(Mutex::new(None));
        let seen = answer.clone();
        let route = websocket(WsServerConfig::default(), move |mut conn, _| {
            let seen = seen.clone();
            async move {
                *seen.lock().unwrap() = Some(conn.direct_writer().is_none());
                conn.send("answered".into()).await.unwrap();
                while let Some(Ok(_)) = conn.next().await {}
            }
        });
        let http = HttpServerConfig::default().tls(server_tls(&cert, &key).unwrap());
        let addr = support::serve(http, Router::new().upgrade("/ws", route)).await;
        let url = format!("wss://localhost:{}/ws", addr.port());
        let config = ClientConfig::default().tls(client_tls(Some(&cert)).unwrap());
        let mut client = connect_with(&url, &config).await.unwrap();
        let first = switchyard_rt::timeout(Duration::from_secs(5), "the answer", client.next())
            .await
            .unwrap();
        assert_eq!(first.unwrap().unwrap(), "answered".into());
        assert_eq!(*answer.lock().unwrap(), Some(true), "no writer over TLS");
        let _ = std::fs::remove_dir_all(dir);
    })
}

#[test]
fn a_client_that_does_not_trust_the_certificate_is_refused() {
    switchyard_rt::block_on(async {
        let dir = temp_dir("wss-untrusted");
        let (cert, key) = self_signed(&dir);
        let addr =
            support::start_http(HttpServerConfig::default().tls(server_tls(&cert, &key).unwrap()))
                .await;
        let url = format!("wss://localhost:{}/ws", addr.port());
        let other_dir = temp_dir("wss-other-ca");
        let (other_ca, _) = self_signed(&other_dir);
        let config = ClientConfig::default().tls(client_tls(Some(&other_ca)).unwrap());
        let err = connect_with(&url, &config).await.unwrap_err();
        assert!(
            err.to_string().to_lowercase().contains("certificate"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(other_dir);
    })
}

#[test]
fn bad_pem_files_are_clear_errors() {
    let dir = temp_dir("wss-bad-pem");
    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a pem file\n").unwrap();
    let err = server_tls(&empty, &empty).unwrap_err();
    assert!(
        err.to_string().contains("holds no PEM certificate"),
        "{err}"
    );
    let missing = dir.join("missing.pem");
    let err = client_tls(Some(&missing)).unwrap_err();
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
