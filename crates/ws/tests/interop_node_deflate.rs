//! permessage-deflate with Node's `ws` (`perMessageDeflate`), from
//! `tests/browser/deflate_node.mjs`: as the client of switchyard's server
//! and as the server of switchyard's client. Ignored unless asked for (it
//! needs Node and `npm ci --prefix tests/browser`): `.ci/run` runs it.

mod support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use futures::{SinkExt, StreamExt};
use switchyard_ws::deflate::DeflateConfig;
use switchyard_ws::{connect_with, ClientConfig, WsMessage, WsServerConfig};

fn script() -> PathBuf {
    let browser = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        browser.join("node_modules/ws").exists(),
        "needs Node's ws: npm ci --prefix tests/browser"
    );
    browser.join("deflate_node.mjs")
}

#[test]
#[ignore = "needs node and `npm ci --prefix tests/browser`; .ci/run runs it"]
fn node_ws_client_against_our_server() {
    let script = script();
    let max = 1 << 20;
    let addr = switchyard_rt::block_on(support::start(
        WsServerConfig::default()
            .max_message(max)
            .deflate(Some(DeflateConfig::default())),
    ));
    let out = Command::new("node")
        .arg(script)
        .args(["client", &format!("ws://{addr}/ws"), &max.to_string()])
        .output()
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("5 passed, 0 failed"), "{stdout}");
}

/// The Node server, killed when dropped.
struct NodeServer(Child);

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs node and `npm ci --prefix tests/browser`; .ci/run runs it"]
fn our_client_against_node_ws_server() {
    let mut child = Command::new("node")
        .arg(script())
        .arg("server")
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    let stdout = child.stdout.take().expect("piped");
    let server = NodeServer(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    switchyard_rt::block_on(async {
        let config = ClientConfig::default()
            .max_message(2 << 20)
            .deflate(Some(DeflateConfig::default()));
        let mut client = connect_with(&format!("ws://{addr}/"), &config)
            .await
            .unwrap();
        client.send("extensions?".into()).await.unwrap();
        let agreed = client.next().await.unwrap().unwrap();
        assert_eq!(agreed, "permessage-deflate".into());
        let json = br#"{"topic":"news","text":"the same words again and again"},"#;
        for size in [0usize, 1, 300, 4096, 65_536, 1 << 20] {
            let body: Vec<u8> = json.iter().copied().cycle().take(size).collect();
            for message in [
                WsMessage::binary(body.clone()),
                WsMessage::text_from_utf8(body.clone().into()).unwrap(),
            ] {
                client.send(message.clone()).await.unwrap();
                assert_eq!(client.next().await.unwrap().unwrap(), message, "{size}");
            }
        }
    });
    drop(server);
}
