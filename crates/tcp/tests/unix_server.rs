//! A Unix-socket server runs TCP's accept loop: past its connection limit a
//! peer waits (it is not refused); a socket file left by a dead process is
//! replaced while one in use is not; a connection past the grace period is
//! shut down; the socket file is removed at the end.

#![cfg(unix)]

use std::path::PathBuf;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use switchyard_rt::net::UnixStream;
use switchyard_tcp::{Framed, LengthPrefixed, ServerConfig, UnixServer};

fn socket_path(name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("sy-{name}-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

async fn client(path: &PathBuf) -> Framed<UnixStream, LengthPrefixed> {
    Framed::new(
        UnixStream::connect(path).await.unwrap(),
        LengthPrefixed::default(),
    )
}

/// A server at `path` with `grace`, one client connected to it whose
/// session never ends by itself (its handler reads until the stream
/// ends), then shut down: its serving task, and the client.
async fn shut_down_holding(
    path: &PathBuf,
    grace: Duration,
) -> (
    switchyard_rt::JoinHandle<switchyard_tcp::ServeReport>,
    Framed<UnixStream, LengthPrefixed>,
) {
    let config = ServerConfig::default().shutdown_grace(grace);
    let server = UnixServer::bind(path, config).await.unwrap();
    let shutdown = server.shutdown();
    let serving = switchyard_rt::spawn(server.serve(|conn| async move {
        let mut framed = conn.framed(LengthPrefixed::default());
        while framed.next().await.is_some() {}
    }));
    let mut held = client(path).await;
    held.send("hold".into()).await.unwrap();
    switchyard_rt::sleep(Duration::from_millis(50)).await;
    shutdown.trigger();
    (serving, held)
}

#[test]
fn the_peer_past_the_limit_waits_until_a_slot_frees() {
    switchyard_rt::block_on(async {
        let path = socket_path("limit");
        let server = UnixServer::bind(&path, ServerConfig::default().max_connections(1))
            .await
            .unwrap();
        switchyard_rt::spawn(server.serve(|conn| async move {
            let (sink, stream) = conn.framed(LengthPrefixed::default()).split();
            let _ = stream.forward(sink).await;
        }));
        let mut first = client(&path).await;
        first.send("in".into()).await.unwrap();
        assert!(first.next().await.unwrap().is_ok());

        let mut second = client(&path).await;
        second.send("waiting".into()).await.unwrap();
        let early = switchyard_rt::timeout(Duration::from_millis(300), "echo", second.next()).await;
        assert!(early.is_err(), "served past the connection limit");

        drop(first);
        let late = switchyard_rt::timeout(Duration::from_secs(5), "echo", second.next())
            .await
            .expect("the waiting peer was not served, or was refused");
        assert_eq!(late.unwrap().unwrap(), "waiting");
    })
}

#[test]
fn a_stale_socket_file_is_replaced_and_one_in_use_is_not() {
    switchyard_rt::block_on(async {
        let path = socket_path("stale");
        // Left by a process that died: a socket file nothing answers on.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        assert!(path.exists());
        let server = UnixServer::bind(&path, ServerConfig::default())
            .await
            .expect("a stale socket file is replaced");
        let in_use = UnixServer::bind(&path, ServerConfig::default()).await;
        assert!(in_use.is_err(), "bound over a socket in use");
        let shutdown = server.shutdown();
        let serving = switchyard_rt::spawn(server.serve(|_| async {}));
        shutdown.trigger();
        serving.await;
        assert!(!path.exists(), "the socket file was left behind");
    })
}

#[test]
fn a_connection_past_the_grace_period_is_shut_down() {
    switchyard_rt::block_on(async {
        let path = socket_path("grace");
        let (serving, mut held) = shut_down_holding(&path, Duration::from_millis(200)).await;
        let report = switchyard_rt::timeout(Duration::from_secs(5), "shutdown", serving)
            .await
            .expect("the grace period did not end the connection");
        assert_eq!(report.forced, 1);
        assert!(held.next().await.is_none(), "the connection is still open");
    })
}

/// A successor that binds the path during the grace period (the old server
/// no longer accepts) keeps its socket file when the old one ends.
#[test]
fn a_successor_bound_during_the_grace_period_keeps_its_socket_file() {
    switchyard_rt::block_on(async {
        let path = socket_path("successor");
        let (serving, _held) = shut_down_holding(&path, Duration::from_millis(500)).await;
        switchyard_rt::sleep(Duration::from_millis(100)).await;
        let successor = UnixServer::bind(&path, ServerConfig::default())
            .await
            .expect("the path is free once the old server stops accepting");
        serving.await;
        assert!(path.exists(), "the old server removed its successor's file");
        drop(successor);
        assert!(!path.exists());
    })
}
