//! Interop: Python's `websockets` client (not ours) through the bridge
//! binary to an asyncio TCP echo service (not ours), from
//! `tests/interop/bridge_client.py`: bytes exact both ways, the close
//! handshake, and 1014 with its reason for an unreachable target.
//! `.ci/run` installs websockets; elsewhere, without it, this test says so
//! and passes only when not under CI.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::path::Path;
use std::process::Command;

#[test]
fn python_websockets_through_the_bridge_to_a_python_tcp_echo() {
    if !process::python_websockets_or_skip() {
        return;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop/bridge_client.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(support::bridge_binary())
        .output()
        .expect("python3 runs");
    process::assert_script_passed(&out, 4);
}
