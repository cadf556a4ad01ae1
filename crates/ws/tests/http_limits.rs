//! The plain-HTTP side of the server: routes, and the limits on what a
//! client may send before (or instead of) a WebSocket.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{raw_exchange, start_http, status, upgrade_request};
use switchyard_ws::http::HttpServerConfig;

#[test]
fn pages_posts_and_unknown_paths() {
    switchyard_rt::block_on(async {
        let addr = start_http(HttpServerConfig::default()).await;
        let page = raw_exchange(
            addr,
            format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes(),
        );
        assert_eq!(status(&page), 200);
        assert!(page.ends_with("<h1>hi</h1>"), "{page}");
        let post = raw_exchange(
            addr,
            b"POST /submit HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        );
        assert_eq!(status(&post), 200);
        assert!(post.ends_with("\r\n5\n"), "{post}");
        assert_eq!(
            status(&raw_exchange(addr, b"GET /nothing HTTP/1.1\r\n\r\n")),
            404
        );
        let wrong = raw_exchange(addr, b"DELETE / HTTP/1.1\r\n\r\n");
        assert_eq!(status(&wrong), 405);
        assert!(wrong.contains("allow: GET"), "{wrong}");
    })
}

#[test]
fn a_head_over_the_limit_is_431() {
    switchyard_rt::block_on(async {
        let addr = start_http(HttpServerConfig::default().max_head(1024)).await;
        let big = format!("GET / HTTP/1.1\r\nX-Pad: {}\r\n\r\n", "a".repeat(2000));
        assert_eq!(status(&raw_exchange(addr, big.as_bytes())), 431);
    })
}

#[test]
fn a_body_over_the_limit_is_413_before_it_is_read() {
    switchyard_rt::block_on(async {
        let addr = start_http(HttpServerConfig::default().max_body(10)).await;
        let r = raw_exchange(
            addr,
            b"POST /submit HTTP/1.1\r\nContent-Length: 1000000000\r\n\r\n",
        );
        assert_eq!(status(&r), 413, "{r}");
        assert_eq!(
            status(&raw_exchange(addr, b"POST /submit HTTP/1.1\r\n\r\n")),
            411
        );
        let chunked = raw_exchange(
            addr,
            b"POST /submit HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        assert_eq!(status(&chunked), 501);
    })
}

#[test]
fn over_the_connection_limit_is_503_and_a_freed_slot_is_reused() {
    switchyard_rt::block_on(async {
        let addr = start_http(HttpServerConfig::default().max_connections(1)).await;
        let first = switchyard_ws::connect(&format!("ws://{addr}/ws"))
            .await
            .unwrap();
        let refused = raw_exchange(addr, upgrade_request(addr, "").as_bytes());
        assert_eq!(status(&refused), 503, "{refused}");
        assert!(refused.contains("too many connections (limit 1)"));
        drop(first);
        let mut admitted = false;
        for _ in 0..50 {
            if status(&raw_exchange(addr, upgrade_request(addr, "").as_bytes())) == 101 {
                admitted = true;
                break;
            }
            switchyard_rt::sleep(Duration::from_millis(20)).await;
        }
        assert!(admitted, "the slot was not given back");
    })
}

#[test]
fn a_client_that_trickles_its_headers_is_dropped_at_the_handshake_timeout() {
    switchyard_rt::block_on(async {
        let timeout = Duration::from_millis(300);
        let addr = start_http(HttpServerConfig::default().handshake_timeout(timeout)).await;
        let started = Instant::now();
        let closed_after = switchyard_rt::spawn_blocking(move || {
            let mut stream = TcpStream::connect(addr).unwrap();
            for byte in b"GET /ws HTTP/1.1\r\nHost: x\r\n" {
                if stream.write_all(&[*byte]).is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(40));
            }
            // Keep trickling until the server hangs up.
            while stream.write_all(b"X-Slow: yes\r\n").is_ok() {
                std::thread::sleep(Duration::from_millis(40));
            }
            started.elapsed()
        })
        .await;
        assert!(
            closed_after >= timeout && closed_after < timeout * 10,
            "dropped after {closed_after:?}"
        );
    })
}
