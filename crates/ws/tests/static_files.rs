//! `Router::files` serves a directory's files under a prefix, and nothing
//! outside the directory or the prefix.

mod support;

use switchyard_ws::{Router, WsServer, WsServerConfig};

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    support::raw_exchange(addr, request.as_bytes())
}

#[test]
fn files_under_the_prefix_are_served_and_nothing_else() {
    switchyard_rt::block_on(async {
        let dir = std::env::temp_dir().join(format!("sy-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("sub/a.txt"), "file a").unwrap();
        std::fs::write(dir.join("index.html"), "<h1>index</h1>").unwrap();
        let router = Router::new()
            .page("/", "text/plain", "the page\n")
            .files("/static/", &dir)
            .unwrap();
        let server = WsServer::bind("127.0.0.1:0", WsServerConfig::default(), router)
            .await
            .unwrap();
        let addr = server.local_addr().unwrap();
        switchyard_rt::spawn(server.serve());

        let (a, index, escape, outside) = switchyard_rt::spawn_blocking(move || {
            (
                get(addr, "/static/sub/a.txt"),
                get(addr, "/static/"),
                get(addr, "/static/%2e%2e/secret"),
                get(addr, "/sub/a.txt"),
            )
        })
        .await;
        assert_eq!(support::status(&a), 200, "{a}");
        assert!(a.ends_with("file a"), "{a}");
        assert!(index.ends_with("<h1>index</h1>"), "{index}");
        assert_eq!(support::status(&escape), 404, "{escape}");
        assert_eq!(support::status(&outside), 404, "{outside}");
        let _ = std::fs::remove_dir_all(dir);
    })
}
