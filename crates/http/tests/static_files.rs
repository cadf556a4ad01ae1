//! `Router::files` serves a directory's files under a prefix, and nothing
//! outside the directory or the prefix.

use std::io::{Read, Write};

use switchyard_http::{rt, HttpServer, HttpServerConfig, Router};

/// The whole answer to `GET path` (the server closes after it).
fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    String::from_utf8_lossy(&response).into_owned()
}

/// The status code of a response.
fn status(response: &str) -> u16 {
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"))
}

#[test]
fn files_under_the_prefix_are_served_and_nothing_else() {
    rt::block_on(async {
        let dir = std::env::temp_dir().join(format!("sy-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.txt"), "file a").unwrap();
        std::fs::write(dir.join("index.html"), "<h1>index</h1>").unwrap();
        let router = Router::new()
            .page("/", "text/plain", "the page\n")
            .files("/static/", &dir)
            .unwrap();
        let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router)
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        rt::spawn(server.serve());

        let (a, index, escape, outside) = rt::spawn_blocking(move || {
            (
                get(addr, "/static/sub/a.txt"),
                get(addr, "/static/"),
                get(addr, "/static/%2e%2e/secret"),
                get(addr, "/sub/a.txt"),
            )
        })
        .await;
        assert_eq!(status(&a), 200, "{a}");
        assert!(a.ends_with("file a"), "{a}");
        assert!(index.ends_with("<h1>index</h1>"), "{index}");
        assert_eq!(status(&escape), 404, "{escape}");
        assert_eq!(status(&outside), 404, "{outside}");
        let _ = std::fs::remove_dir_all(dir);
    })
}
