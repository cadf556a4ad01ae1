//! Interop: Python's `websockets` client (not ours) through the bridge
//! binary to an asyncio TCP echo service (not ours), from
//! `tests/interop/bridge_client.py`: bytes exact both ways, the close
//! handshake, and 1014 with its reason for an unreachable target.
//! Ignored unless asked for (it needs Python's websockets): `.ci/run`
//! installs that and runs it with `cargo test -- --ignored`.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs Python's websockets (pip install websockets==17.4); .ci/run runs it"]
fn python_websockets_through_the_bridge_to_a_python_tcp_echo() {
    process::require_python_websockets();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/bridge_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(support::bridge_binary())
        .output()
        .expect("python3 runs");
    process::assert_script_passed(&out, 4);
}
