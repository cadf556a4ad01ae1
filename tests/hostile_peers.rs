//! Hostile peers against the example servers, from raw sockets. After each
//! attack the offending connection is closed, the server's memory and open
//! sockets have not grown, and a well-behaved client is still served.

mod support;

use std::io::Write;
use std::time::{Duration, Instant};

use support::{
    closed_by_peer, echo_round_trip, raw_connect, read_frame, write_frame, ExampleServer,
};

/// Memory a server may gain across an attack: allocator noise, not the
/// gigabytes an unchecked length would ask for.
const RSS_SLACK_KIB: u64 = 8 * 1024;

#[test]
fn an_announced_length_of_4_gib_closes_the_connection_and_allocates_nothing() {
    let server = ExampleServer::start("tcp_server", &["127.0.0.1:0"]);
    assert!(echo_round_trip(server.addr));
    let rss_before = server.rss_kib();

    let mut attacker = raw_connect(server.addr);
    attacker.write_all(&[0xff; 4]).unwrap();
    attacker.write_all(&[0xaa; 64 << 10]).unwrap();
    assert!(
        closed_by_peer(&mut attacker),
        "the server kept the connection open"
    );

    assert!(server.rss_kib() < rss_before + RSS_SLACK_KIB, "memory grew");
    assert!(server
        .log()
        .contains("frame too large: 4294967295 bytes > maximum"));
    assert!(echo_round_trip(server.addr));
}

#[test]
fn garbage_bincode_gets_an_error_reply_and_a_close() {
    let server = ExampleServer::start("typed_tcp", &["server", "127.0.0.1:0"]);
    let mut attacker = raw_connect(server.addr);
    // An enum variant index of 2^128 - 1, then nothing that makes sense.
    write_frame(&mut attacker, &[0xfe; 40]);
    let reply = read_frame(&mut attacker).expect("an error reply before the close");
    assert!(!reply.is_empty());
    assert!(closed_by_peer(&mut attacker));
    assert!(server.log().contains("bad request"));

    let good = support::run_example("typed_tcp", &["client", &server.addr.to_string()]);
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
}

#[test]
fn half_a_frame_then_silence_is_closed_at_the_idle_timeout() {
    let server = ExampleServer::start("tcp_server", &["127.0.0.1:0", "--idle-timeout", "1"]);
    let mut attacker = raw_connect(server.addr);
    attacker.write_all(b"\x00\x00\x00\x10half").unwrap();
    let started = Instant::now();
    assert!(closed_by_peer(&mut attacker));
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(900) && after < Duration::from_secs(4),
        "closed after {after:?}, not at the 1 s idle time-out"
    );
    assert!(server.log().contains("idle for 1s"));
    assert!(echo_round_trip(server.addr));
}

#[test]
fn a_thousand_connections_opened_and_dropped_leave_nothing_behind() {
    let server = ExampleServer::start("tcp_server", &["127.0.0.1:0"]);
    assert!(echo_round_trip(server.addr));
    let (fds_before, rss_before) = (server.open_fds(), server.rss_kib());

    for i in 0..1000 {
        let mut s = raw_connect(server.addr);
        match i % 3 {
            0 => {}                                            // connect and leave
            1 => s.write_all(b"\x00\x00").unwrap(),            // half a header
            _ => s.write_all(b"\x00\x00\x01\x00abc").unwrap(), // half a payload
        }
    }

    assert!(
        server.wait_until(Duration::from_secs(10), |s| s.open_fds() <= fds_before),
        "sockets left open: {} fds, {fds_before} before",
        server.open_fds()
    );
    assert!(server.rss_kib() < rss_before + RSS_SLACK_KIB, "memory grew");
    assert!(echo_round_trip(server.addr));
}

#[test]
fn accept_errors_from_running_out_of_file_descriptors_do_not_end_the_server() {
    let mut server = ExampleServer::start_with_fd_limit("tcp_server", 24, &["127.0.0.1:0"]);
    // More connections than the server has descriptors: the kernel queues
    // them, and the server's accept fails with "too many open files".
    let hogs: Vec<_> = (0..40).map(|_| raw_connect(server.addr)).collect();
    assert!(
        server.wait_until(Duration::from_secs(5), |s| s
            .log()
            .contains("accept failed")),
        "the server never hit the descriptor limit"
    );
    assert!(server.is_running());
    drop(hogs);
    assert!(
        server.wait_until(Duration::from_secs(10), |s| echo_round_trip(s.addr)),
        "the server did not recover once descriptors were free"
    );
    assert!(server.is_running());
}
