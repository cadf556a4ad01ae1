//! `--web` path resolution on any request path, over a real folder with a
//! page, a subfolder, a hidden file, a link leading out and a link staying
//! in: a resolved path is a file inside the root, reached through no hidden
//! name; everything else is 404 (or 400 for bytes that are not UTF-8).

#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use http::StatusCode;
use libfuzzer_sys::fuzz_target;
use switchyard_http::resolve_file_path;

fn root() -> &'static Path {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("switchyard-fuzz-web-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub/deeper")).unwrap();
        std::fs::write(dir.join("index.html"), "home").unwrap();
        std::fs::write(dir.join("sub/a.js"), "js").unwrap();
        std::fs::write(dir.join("sub/deeper/index.html"), "deep").unwrap();
        std::fs::write(dir.join(".secret"), "hidden").unwrap();
        let _ = std::os::unix::fs::symlink("/etc/passwd", dir.join("out"));
        let _ = std::os::unix::fs::symlink(dir.join("sub/a.js"), dir.join("in.js"));
        dir.canonicalize().unwrap()
    })
}

fuzz_target!(|path: &str| {
    let root = root();
    match resolve_file_path(root, path) {
        Ok(file) => {
            assert!(
                file.starts_with(root),
                "{path:?} resolved to {}",
                file.display()
            );
            assert!(file.is_file());
            let inside = file.strip_prefix(root).unwrap();
            assert!(
                !inside
                    .to_string_lossy()
                    .split('/')
                    .any(|c| c.starts_with('.')),
                "{path:?} reached a hidden file"
            );
        }
        Err(status) => assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST,
            "{status}"
        ),
    }
});
