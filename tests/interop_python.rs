//! Interop with a WebSocket implementation that is not ours: Python's
//! `websockets` client against the `ws_echo_server` example, from
//! `tests/interop/ws_echo_client.py`. Ignored unless asked for (it needs
//! Python's websockets): `.ci/run` installs that and runs it with
//! `cargo test -- --ignored`.

mod support;

use std::path::Path;
use std::process::Command;

use support::ExampleServer;

#[test]
#[ignore = "needs Python's websockets (pip install websockets==17.4); .ci/run runs it"]
fn python_websockets_client_against_the_echo_server() {
    support::require_python_websockets();
    let max = "1000";
    let server = ExampleServer::start("ws_echo_server", &["127.0.0.1:0", "--max-message", max]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/ws_echo_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(format!("ws://{}/ws", server.addr))
        .arg(max)
        .output()
        .expect("python3 runs");
    support::assert_script_passed(&out, 5);
}
