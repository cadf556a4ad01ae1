//! permessage-deflate with an implementation that is not ours: Python's
//! `websockets` (`tests/interop/deflate_peer.py`) as the client of
//! switchyard's server, with every combination of the offer's parameters,
//! and as the server of switchyard's client. Ignored unless asked for (it
//! needs Python's websockets): `.ci/run` installs that and runs it with
//! `cargo test -- --ignored`.

mod support;

use std::path::PathBuf;
use std::process::Command;

use switchyard_ws::deflate::DeflateConfig;
use switchyard_ws::WsServerConfig;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/deflate_peer.py")
}

#[test]
#[ignore = "needs Python's websockets (pip install websockets==17.4); .ci/run runs it"]
fn python_websockets_client_with_every_parameter_against_our_server() {
    support::require_python_websockets();
    let max = 1 << 20;
    // The default (no context takeover either way), and a server that
    // keeps its context and lets the client keep its own unless asked.
    let mut keeping = DeflateConfig::default();
    keeping.no_context_takeover = false;
    keeping.peer_no_context_takeover = false;
    for deflate in [DeflateConfig::default(), keeping] {
        let addr = switchyard_rt::block_on(support::start(
            WsServerConfig::default()
                .max_message(max)
                .deflate(Some(deflate)),
        ));
        let out = Command::new("python3")
            .arg(script())
            .args(["client", &format!("ws://{addr}/ws"), &max.to_string()])
            .output()
            .expect("python3 runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{deflate:?}\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // 36 parameter combinations and the bomb.
        assert!(
            stdout.contains("37 passed, 0 failed"),
            "{deflate:?}\n{stdout}"
        );
    }
}

#[test]
#[ignore = "needs Python's websockets (pip install websockets==17.4); .ci/run runs it"]
fn our_client_against_python_websockets_server() {
    support::require_python_websockets();
    let server = support::PeerServer::start("python3", &[script().as_os_str(), "server".as_ref()]);
    let addr = &server.addr;
    switchyard_rt::block_on(support::deflate_echo_against(addr));
    drop(server);
}
