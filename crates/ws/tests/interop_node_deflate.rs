//! permessage-deflate with Node's `ws` (`perMessageDeflate`), from
//! `tests/browser/deflate_node.mjs`: as the client of switchyard's server
//! and as the server of switchyard's client. Ignored unless asked for (it
//! needs Node and `npm ci --prefix tests/browser`): `.ci/run` runs it.

mod support;

use std::path::PathBuf;
use std::process::Command;

use switchyard_ws::deflate::DeflateConfig;
use switchyard_ws::WsServerConfig;

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

#[test]
#[ignore = "needs node and `npm ci --prefix tests/browser`; .ci/run runs it"]
fn our_client_against_node_ws_server() {
    let server = support::PeerServer::start("node", &[script().as_os_str(), "server".as_ref()]);
    let addr = &server.addr;
    switchyard_rt::block_on(support::deflate_echo_against(addr));
    drop(server);
}
