//! The example pages in a real browser: headless Chromium (Debian's
//! `chromium`) driven by playwright-core, from `tests/browser/pages.mjs`,
//! the bridge's terminal page included (through `switchyard-bridge --web`).
//! `.ci/run` installs both; elsewhere, without them, this test says so and
//! passes only when not under CI.

mod support;

use std::path::Path;
use std::process::Command;

#[test]
fn the_example_pages_work_in_headless_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = root.join("tests/browser/pages.mjs");
    let ready = Path::new("/usr/bin/chromium").exists()
        && root
            .join("tests/browser/node_modules/playwright-core")
            .exists();
    if !ready {
        assert!(
            std::env::var_os("CI").is_none(),
            "under CI, chromium and playwright-core must be installed (see .ci/run)"
        );
        eprintln!("skipped: needs /usr/bin/chromium and `npm ci --prefix tests/browser`");
        return;
    }
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
    support::assert_script_passed(&out, 5);
}
