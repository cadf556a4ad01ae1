//! Changing a running bridge: `SIGHUP` applies a changed config file's
//! routes to new sessions while running sessions go on, reads renewed
//! certificates, and keeps the running configuration when the new one has
//! a mistake or changes what needs a restart; token files are read again
//! when they change, keeping their last good tokens through a mistake.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::{SinkExt, StreamExt};
use switchyard_bridge::{ListenerConfig, RouteConfig, TargetSpec, TokenFile};

/// A TCP service that answers each read with `name: ` and what it read, so
/// a reply says which target it came from.
async fn named_service(name: &'static str) -> SocketAddr {
    support::tcp_service(move |stream| async move {
        let (mut r, mut w) = (stream.clone(), stream);
        let mut buf = vec![0u8; 4096];
        while let Ok(n @ 1..) = r.read(&mut buf).await {
            let reply = [format!("{name}: ").as_bytes(), &buf[..n]].concat();
            if w.write_all(&reply).await.is_err() {
                break;
            }
        }
    })
    .await
}

/// Sends `text` on a new or open client and returns the reply as text.
async fn exchange(
    client: &mut switchyard_ws::WsConnection<switchyard_ws::ClientIo>,
    text: &str,
) -> String {
    client.send(text.into()).await.unwrap();
    let reply = client.next().await.unwrap().unwrap();
    String::from_utf8_lossy(reply.as_ref()).into_owned()
}

fn config(port: u16, routes: &[(&str, SocketAddr)]) -> String {
    let mut text = format!("[[listener]]\nlisten = \"ws://127.0.0.1:{port}\"\n");
    for (path, target) in routes {
        text += &format!("\n[[listener.route]]\npath = \"{path}\"\ntarget = \"tcp://{target}\"\n");
    }
    text
}

fn hang_up(bridge: &process::ExampleServer) {
    let sent = Command::new("kill")
        .args(["-HUP", &bridge.pid().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits until the bridge's log has `text` `times` times.
async fn logged(bridge: &process::ExampleServer, text: &str, times: usize) -> String {
    let seen = support::eventually(Duration::from_secs(10), || {
        bridge.log().matches(text).count() >= times
    })
    .await;
    let log = bridge.log();
    assert!(seen, "{text:?} not logged {times} times in\n{log}");
    log
}

fn write(file: &Path, text: &str) {
    std::fs::write(file, text).unwrap();
}

#[test]
fn sighup_applies_new_routes_and_keeps_running_sessions() {
    switchyard_rt::block_on(async {
        let (one, two) = (named_service("one").await, named_service("two").await);
        let dir = support::temp_dir("reload");
        let file = dir.join("bridge.toml");
        // The port is fixed once bound: the new file must name the same one.
        let port = support::closed_port().port();
        write(&file, &config(port, &[("/a", one)]));
        let bridge = process::ExampleServer::start_program(
            &support::bridge_binary(),
            &["--config", file.to_str().unwrap()],
        );
        let url = |path: &str| format!("ws://{}{path}", bridge.addr);
        let mut running = switchyard_ws::connect(&url("/a")).await.unwrap();
        assert_eq!(exchange(&mut running, "hi").await, "one: hi");

        // /a goes, /b comes, and /c takes /a's target.
        write(&file, &config(port, &[("/b", two), ("/c", one)]));
        hang_up(&bridge);
        logged(&bridge, "SIGHUP: configuration read again", 1).await;
        let mut b = switchyard_ws::connect(&url("/b")).await.unwrap();
        assert_eq!(exchange(&mut b, "hello").await, "two: hello");
        let mut c = switchyard_ws::connect(&url("/c")).await.unwrap();
        assert_eq!(exchange(&mut c, "hello").await, "one: hello");
        let addr = bridge.addr;
        let gone = support::blocking(move || support::upgrade_status(addr, "/a", "")).await;
        assert_eq!(support::status(&gone), 404, "{gone}");
        // The session begun before the reload goes on.
        assert_eq!(exchange(&mut running, "still").await, "one: still");

        // A mistake: reported, and the running routes kept.
        write(
            &file,
            "[[listener]]\nlisten = \"ws://127.0.0.1:1\"\n[[listener.route]]\npath = \"/b\"\n",
        );
        hang_up(&bridge);
        let log = logged(&bridge, "configuration not applied", 1).await;
        assert!(log.contains("a route needs a target"), "{log}");
        // What needs a restart: reported, and nothing applied.
        write(&file, &config(port + 1, &[("/d", two)]));
        hang_up(&bridge);
        let log = logged(&bridge, "configuration not applied", 2).await;
        assert!(
            log.contains("the listeners change") && log.contains("needs a restart"),
            "{log}"
        );
        let limited = config(port, &[("/b", two)]).replacen('\n', "\nmax_connections = 3\n", 1);
        write(&file, &limited);
        hang_up(&bridge);
        let log = logged(&bridge, "configuration not applied", 3).await;
        assert!(log.contains("max_connections changes"), "{log}");
        // A target on the bridge's own terminal: the listener was not bound for
        // one session at a time.
        let stdio = format!(
        "[[listener]]\nlisten = \"ws://127.0.0.1:{port}\"\n\n[[listener.route]]\npath = \"/b\"\ntarget = \"stdio\"\n"
    );
        write(&file, &stdio);
        hang_up(&bridge);
        let log = logged(&bridge, "configuration not applied", 4).await;
        assert!(log.contains("a stdio target comes or goes"), "{log}");
        let mut b = switchyard_ws::connect(&url("/b")).await.unwrap();
        assert_eq!(exchange(&mut b, "after").await, "two: after");
        let addr = bridge.addr;
        let unknown = support::blocking(move || support::http_get(addr, "/nothing-here", "")).await;
        assert_eq!(support::status(&unknown), 404, "{unknown}");
        // A 404 on the bridge's port is logged with its path.
        logged(&bridge, "/nothing-here", 1).await;
        let _ = std::fs::remove_dir_all(dir);
    })
}

#[test]
fn token_files_are_read_again_when_they_change() {
    switchyard_rt::block_on(async {
        let (one, two) = (named_service("one").await, named_service("two").await);
        let dir = support::temp_dir("token-reload");
        let file = dir.join("tokens.txt");
        write(&file, &format!("one: tcp://{one}\n"));
        let tokens = TokenFile::load(&file).unwrap();
        let listen = "ws://127.0.0.1:0/".parse().unwrap();
        let route = RouteConfig::new("/", TargetSpec::TokenFile(Arc::new(tokens)));
        let bridge = support::start(vec![ListenerConfig::new(listen).route(route)]).await;
        let addr = bridge.addrs[0];
        let connect = |token: &str| {
            let url = format!("ws://{addr}/?token={token}");
            async move { switchyard_ws::connect(&url).await }
        };

        let refused =
            support::blocking(move || support::upgrade_status(addr, "/?token=two", "")).await;
        assert_eq!(support::status(&refused), 403, "{refused}");
        // websockify's own format, `NAME: HOST:PORT`, added while running.
        write(&file, &format!("one: tcp://{one}\ntwo: {two}\n"));
        let mut client = connect("two").await.unwrap();
        assert_eq!(exchange(&mut client, "x").await, "two: x");
        // A mistake (no colon): the last good tokens stay.
        write(&file, &format!("one tcp://{one}\n"));
        let mut client = connect("two").await.unwrap();
        assert_eq!(exchange(&mut client, "y").await, "two: y");
        // Fixed: `one` alone again.
        write(&file, &format!("# only one now\none: tcp://{one}\n"));
        let refused =
            support::blocking(move || support::upgrade_status(addr, "/?token=two", "")).await;
        assert_eq!(support::status(&refused), 403, "{refused}");
        let mut client = connect("one").await.unwrap();
        assert_eq!(exchange(&mut client, "z").await, "one: z");
        bridge.shutdown.trigger();
        bridge.serving.await;
        let _ = std::fs::remove_dir_all(dir);
    })
}

#[test]
fn sighup_reads_renewed_certificates_at_the_same_paths() {
    switchyard_rt::block_on(async {
        let one = named_service("one").await;
        let dir = support::temp_dir("reload-tls");
        let (old_dir, new_dir) = (dir.join("old"), dir.join("new"));
        std::fs::create_dir_all(&old_dir).unwrap();
        std::fs::create_dir_all(&new_dir).unwrap();
        let (old_cert, old_key) = support::self_signed(&old_dir);
        let (new_cert, new_key) = support::self_signed(&new_dir);
        let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::copy(&old_cert, &cert).unwrap();
        std::fs::copy(&old_key, &key).unwrap();
        let file = dir.join("bridge.toml");
        write(
        &file,
        &format!(
            "[[listener]]\nlisten = \"wss://127.0.0.1:0\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n\n[[listener.route]]\ntarget = \"tcp://{one}\"\n"
        ),
    );
        let bridge = process::ExampleServer::start_program(
            &support::bridge_binary(),
            &["--config", file.to_str().unwrap()],
        );
        let url = format!("wss://localhost:{}/", bridge.addr.port());
        let trusting = |ca: std::path::PathBuf| {
            let url = url.clone();
            async move {
                let tls = switchyard_ws::client_tls(Some(&ca)).unwrap();
                let config = switchyard_ws::ClientConfig::default().tls(tls);
                switchyard_ws::connect_with(&url, &config).await
            }
        };
        let mut client = trusting(old_cert.clone()).await.unwrap();
        assert_eq!(exchange(&mut client, "old").await, "one: old");

        // Renewed in place, then SIGHUP: new connections get the new certificate.
        std::fs::copy(&new_cert, &cert).unwrap();
        std::fs::copy(&new_key, &key).unwrap();
        hang_up(&bridge);
        logged(&bridge, "SIGHUP: configuration read again", 1).await;
        let mut renewed = trusting(new_cert.clone()).await.unwrap();
        assert_eq!(exchange(&mut renewed, "new").await, "one: new");
        assert!(
            trusting(old_cert).await.is_err(),
            "still the old certificate"
        );
        // The session begun before goes on.
        assert_eq!(exchange(&mut client, "still").await, "one: still");
        let _ = std::fs::remove_dir_all(dir);
    })
}
