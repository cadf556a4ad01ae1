//! The conformance probe's equivalents of Autobahn's sections 12 and 13
//! (`tests/interop/deflate_conformance.py`, Python's websockets as the
//! client): compressed echo of five kinds of data at eighteen sizes and
//! fragmentations, and of JSON under Autobahn's seven offers, against a
//! server with permessage-deflate on. CI sends 20 messages a case (the
//! README's figures are from a run of 1,000, Autobahn's count). Ignored
//! unless asked for (it needs Python's websockets): `.ci/run` installs that
//! and runs it with `cargo test -- --ignored`.

mod support;

use std::path::PathBuf;
use std::process::Command;

use switchyard_ws::deflate::DeflateConfig;
use switchyard_ws::WsServerConfig;

#[test]
#[ignore = "needs Python's websockets (pip install websockets==17.4); .ci/run runs it"]
fn autobahn_sections_12_and_13_against_our_server() {
    support::require_python_websockets();
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/interop/deflate_conformance.py");
    let addr = switchyard_rt::block_on(support::start(
        WsServerConfig::default().deflate(Some(DeflateConfig::default())),
    ));
    let out = Command::new("python3")
        .arg(script)
        .args([&format!("ws://{addr}/ws"), "20"])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every case of section 12 compressed and came back; in section 13
    // the two offers that ask for an 8-bit window alone are declined (zlib
    // cannot make one), and their echo still checked.
    assert!(stdout.contains("section 12: 90 cases: 90 OK"), "{stdout}");
    assert!(
        stdout.contains("section 13: 126 cases: 90 OK, 36 declined"),
        "{stdout}"
    );
}
