//! The example pages in a real browser: headless Chromium (Debian's
//! `chromium`) driven by playwright-core, from `tests/browser/pages.mjs`,
//! the bridge's terminal page included (through `switchyard-bridge --web`),
//! and two chat servers sharing a room through Redis (`redis-server`).
//! Ignored unless asked for (it needs both): `.ci/run` installs them and
//! runs it with `cargo test -- --ignored`.

mod support;

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs Debian's chromium and redis-server, and `npm ci --prefix tests/browser`; .ci/run runs it"]
fn the_example_pages_work_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/browser/pages.mjs");
    let ready = Path::new("/usr/bin/chromium").exists()
        && root
            .join("tests/browser/node_modules/playwright-core")
            .exists();
    assert!(
        ready,
        "needs /usr/bin/chromium (apt-get install chromium) and `npm ci --prefix tests/browser`"
    );
    let examples = support::example_path("ws_chat")
        .parent()
        .expect("examples dir")
        .to_path_buf();
    let out = Command::new("node")
        .arg(&script)
        .arg(&examples)
        .env("SCREENSHOTS", root.join("target/browser-screenshots"))
        .output()
        .expect("node runs");
    support::assert_script_passed(&out, 13);
}
