//! noVNC through `switchyard-bridge`, with the real programs on both ends:
//! `tests/browser/novnc.mjs` starts Debian's Xvfb with its root window
//! painted in squares, x11vnc serving it, and the bridge relaying
//! `ws://127.0.0.1:PORT` (every path, so noVNC's default `/websockify`) to
//! x11vnc's RFB port while serving a page built on noVNC from npm
//! (`@novnc/novnc`, pinned in `tests/browser/package-lock.json`) with
//! `--web`. In headless Chromium (Debian's `chromium`, through
//! playwright-core) it proves that noVNC connects, that its canvas shows the
//! remote desktop pixel for pixel (read back with `getImageData`), that a
//! change on the remote desktop reaches the open page, and that a client
//! offering the `binary` subprotocol is answered with it. The screenshot is
//! `target/browser-screenshots/novnc.png`. Ignored unless asked for (it
//! needs those programs): `.ci/run` installs them and runs it with
//! `cargo test -- --ignored`.

mod support;

use std::path::Path;
use std::process::Command;

/// Whether `program` is an executable file in one of `PATH`'s folders.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

#[test]
#[ignore = "needs Debian's chromium, xvfb and x11vnc, and `npm ci --prefix tests/browser`; .ci/run runs it"]
fn novnc_in_headless_chromium_shows_an_x11vnc_desktop_through_the_bridge() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = root.join("tests/browser/node_modules");
    let missing: Vec<&str> = [
        (
            "/usr/bin/chromium (apt-get install chromium)",
            Path::new("/usr/bin/chromium").exists(),
        ),
        ("Xvfb (apt-get install xvfb)", on_path("Xvfb")),
        ("x11vnc (apt-get install x11vnc)", on_path("x11vnc")),
        (
            "xsetroot (apt-get install x11-xserver-utils)",
            on_path("xsetroot"),
        ),
        (
            "playwright-core and @novnc/novnc (npm ci --prefix tests/browser)",
            modules.join("playwright-core").exists() && modules.join("@novnc/novnc").exists(),
        ),
    ]
    .into_iter()
    .filter(|(_, found)| !found)
    .map(|(what, _)| what)
    .collect();
    assert!(missing.is_empty(), "needs {}", missing.join(", "));
    let examples = support::example_path("tcp_server")
        .parent()
        .expect("examples dir")
        .to_path_buf();
    let bridge = examples.with_file_name("switchyard-bridge");
    assert!(
        bridge.exists(),
        "{} is not built: cargo build -p switchyard-bridge (cargo test --workspace builds it)",
        bridge.display()
    );
    let out = Command::new("node")
        .arg(root.join("tests/browser/novnc.mjs"))
        .arg(&examples)
        .env("SCREENSHOTS", root.join("target/browser-screenshots"))
        .output()
        .expect("node runs");
    support::assert_script_passed(&out, 3);
}
