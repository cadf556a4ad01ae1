//! Static files ([`Router::files`](crate::Router::files)): the pages that
//! use a server's WebSockets, from the same origin. No path leaves the
//! directory.

use std::path::{Component, Path, PathBuf};

use http::StatusCode;

use crate::Response;

/// Files larger than this are refused (the response is built in memory).
pub const MAX_FILE: u64 = 16 << 20;

/// The file under `root` (already canonical) that a request path names, or
/// the status to answer: `/` and directories mean their `index.html`; a
/// path with `..`, a hidden component, a NUL, a backslash, or a symbolic
/// link leading out of `root` is 404, like a file that is not there; a path
/// that does not percent-decode to UTF-8 is 400.
///
/// ```
/// use switchyard_http::resolve_file_path;
///
/// let root = std::env::temp_dir().canonicalize()?;
/// let escape = resolve_file_path(&root, "/%2e%2e/etc/passwd");
/// assert_eq!(escape.map_err(|status| status.as_u16()), Err(404));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn resolve_file_path(root: &Path, request_path: &str) -> Result<PathBuf, StatusCode> {
    let decoded = percent_encoding::percent_decode_str(request_path)
        .decode_utf8()
        .map_err(|_| StatusCode::BAD_REQUEST)?;
    if decoded.contains('\0') || decoded.contains('\\') {
        return Err(StatusCode::NOT_FOUND);
    }
    let mut path = root.to_path_buf();
    for component in Path::new(decoded.trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) if !part.to_string_lossy().starts_with('.') => path.push(part),
            Component::CurDir => {}
            _ => return Err(StatusCode::NOT_FOUND),
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    // Symbolic links are followed only if they stay inside the root.
    let real = path.canonicalize().map_err(|_| StatusCode::NOT_FOUND)?;
    if !real.starts_with(root) || !real.is_file() {
        return Err(StatusCode::NOT_FOUND);
    }
    Ok(real)
}

/// The response for `GET request_path` under `root`, found and read on the
/// runtime's pool for blocking calls. A refusal (no such file) is logged
/// with the client's address.
pub(crate) async fn serve_file(
    root: &Path,
    request_path: &str,
    peer: std::net::SocketAddr,
) -> Response {
    let (root, path) = (root.to_owned(), request_path.to_owned());
    let response = switchyard_rt::spawn_blocking(move || read_file(&root, &path)).await;
    let status = response.status();
    if status.is_client_error() {
        tracing::info!(%peer, path = %request_path, status = status.as_u16(), "file refused");
    }
    response
}

fn read_file(root: &Path, request_path: &str) -> Response {
    let path = match resolve_file_path(root, request_path) {
        Ok(path) => path,
        Err(status) => return Response::text(status, "no such file"),
    };
    match std::fs::metadata(&path) {
        Ok(meta) if meta.len() > MAX_FILE => {
            return Response::text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("file over the {MAX_FILE}-byte limit for static files"),
            )
        }
        Ok(_) => {}
        Err(_) => return Response::text(StatusCode::NOT_FOUND, "no such file"),
    }
    match std::fs::read(&path) {
        Ok(body) => Response::new(StatusCode::OK).body(content_type(&path), body),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read a static file");
            Response::text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read the file")
        }
    }
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "txt" => "text/plain; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let dir = std::env::temp_dir().join(format!("switchyard-web-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("index.html"), "home").unwrap();
        std::fs::write(dir.join("sub/a.js"), "js").unwrap();
        std::fs::write(dir.join(".secret"), "no").unwrap();
        let root = dir.canonicalize().unwrap();
        #[cfg(unix)]
        let _ = std::os::unix::fs::symlink("/etc/passwd", dir.join("link"));

        assert_eq!(
            resolve_file_path(&root, "/").unwrap(),
            root.join("index.html")
        );
        assert_eq!(
            resolve_file_path(&root, "/sub/a.js").unwrap(),
            root.join("sub/a.js")
        );
        assert_eq!(
            resolve_file_path(&root, "/sub/%61.js").unwrap(),
            root.join("sub/a.js")
        );
        for escape in [
            "/../etc/passwd",
            "/sub/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/sub/%2e%2e/%2e%2e/etc/passwd",
            "/.secret",
            "/link",
            "/missing.html",
            "/sub/a.js%00.html",
            "/..%5c..%5cetc/passwd",
        ] {
            assert_eq!(
                resolve_file_path(&root, escape),
                Err(StatusCode::NOT_FOUND),
                "{escape}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
