//! The example pairs work as the README says a newcomer runs them, and the
//! clients fail clearly (non-zero, with a reason) when no server listens.

mod support;

use support::{run_example, ExampleServer};

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A local port with nothing listening (bound, then released).
fn unused_addr() -> String {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().to_string()
}

#[test]
fn tcp_client_gets_every_message_echoed() {
    let server = ExampleServer::start("tcp_server", &["127.0.0.1:0"]);
    let out = run_example("tcp_client", &[&server.addr.to_string(), "hello", "world"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello\nworld\n");
}

#[test]
fn tcp_client_without_a_server_fails_with_a_reason() {
    let addr = unused_addr();
    let out = run_example("tcp_client", &[&addr, "hello"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(&format!("no echo server at {addr}")),
        "{}",
        stderr(&out)
    );
}

#[test]
fn udp_client_gets_every_datagram_echoed() {
    let server = ExampleServer::start("udp_server", &["127.0.0.1:0"]);
    let out = run_example(
        "udp_client",
        &[&server.addr.to_string(), "hello", "two words"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello\ntwo words\n");
}

#[test]
fn udp_client_without_a_server_fails_with_a_reason() {
    let addr = unused_addr();
    let out = run_example("udp_client", &[&addr, "hello", "--timeout", "1"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("udp_client: "), "{}", stderr(&out));
    assert!(stderr(&out).contains(&addr), "{}", stderr(&out));
}

#[test]
fn udp_client_says_a_message_is_too_large_not_that_no_server_answers() {
    let server = ExampleServer::start("udp_server", &["127.0.0.1:0"]);
    let big = "x".repeat(70_000);
    let out = run_example("udp_client", &[&server.addr.to_string(), &big]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("message too large to send: 70000 bytes > maximum 65507"),
        "{err}"
    );
    assert!(!err.contains("no UDP echo server"), "{err}");
}

#[test]
fn tcp_client_at_a_websocket_port_says_it_got_http() {
    let server = ExampleServer::start("ws_echo_server", &["127.0.0.1:0"]);
    let out = run_example("tcp_client", &[&server.addr.to_string(), "hello"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("the peer sent an HTTP response where a length-prefixed frame was expected"),
        "{err}"
    );
}

#[test]
fn tcp_server_lines_skips_an_over_long_line_and_keeps_the_connection() {
    use std::io::{BufRead, BufReader, Write};
    let server = ExampleServer::start(
        "tcp_server",
        &["127.0.0.1:0", "--lines", "--max-message", "16"],
    );
    let mut conn = std::net::TcpStream::connect(server.addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    conn.write_all(b"first\n").unwrap();
    conn.write_all(&[b'a'; 100]).unwrap();
    conn.write_all(b"\nafter it\n").unwrap();
    let mut replies = BufReader::new(conn);
    let mut line = String::new();
    replies.read_line(&mut line).unwrap();
    assert_eq!(line, "first\n");
    line.clear();
    replies.read_line(&mut line).unwrap();
    assert_eq!(
        line, "after it\n",
        "the connection went on after the long line"
    );
}

#[test]
fn typed_tcp_client_and_server_agree() {
    let server = ExampleServer::start("typed_tcp", &["server", "127.0.0.1:0"]);
    let out = run_example("typed_tcp", &["client", &server.addr.to_string()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Add { a: 40, b: 2 } -> Sum(42)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn ws_client_gets_every_message_echoed_and_the_page_is_served() {
    let server = ExampleServer::start("ws_echo_server", &["127.0.0.1:0"]);
    let url = format!("ws://{}/ws", server.addr);
    let out = run_example("ws_client", &[&url, "hello", "two words"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello\ntwo words\n");

    use std::io::{Read, Write};
    let mut page = std::net::TcpStream::connect(server.addr).unwrap();
    page.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut body = String::new();
    page.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.contains("new WebSocket(scheme + location.host + \"/ws\")"));
}

#[test]
fn ws_client_shows_the_close_code_and_reason_it_received() {
    let server = ExampleServer::start("ws_echo_server", &["127.0.0.1:0", "--max-message", "8"]);
    let url = format!("ws://{}/ws", server.addr);
    let out = run_example("ws_client", &[&url, "more than eight bytes"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("the server closed the connection with 1009"),
        "{err}"
    );
    assert!(err.contains("message too big"), "{err}");
}

#[test]
fn ws_client_without_a_server_fails_with_a_reason() {
    let addr = unused_addr();
    let out = run_example("ws_client", &[&format!("ws://{addr}/ws"), "hello"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no WebSocket server at"),
        "{}",
        stderr(&out)
    );
}

/// What `curl -d 'hello' http://ADDR/push` sends, asking the server to
/// close after its answer (a keep-alive server such as axum's would
/// otherwise hold the connection open); the whole answer.
fn post_hello(addr: std::net::SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut curl = std::net::TcpStream::connect(addr).unwrap();
    curl.write_all(b"POST /push HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\nhello").unwrap();
    let mut reply = String::new();
    curl.read_to_string(&mut reply).unwrap();
    reply
}

/// Opens a page on `ws_push` at `pages`, pushes `hello` to `pushes` (retried
/// until the page has joined), and checks that the page receives it.
fn push_reaches_an_open_page(pages: std::net::SocketAddr, pushes: std::net::SocketAddr) {
    use futures::StreamExt;

    switchyard::rt::block_on(async move {
        let mut page = switchyard::ws::connect(&format!("ws://{pages}/ws"))
            .await
            .unwrap();
        let mut reply = String::new();
        for _ in 0..50 {
            reply = post_hello(pushes);
            if reply.contains("\"delivered\":1,") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(reply.contains("\"delivered\":1,"), "{reply}");
        // An earlier try may have been published before the page joined
        // (delivered to nobody, but numbered), so the page's message is the
        // one whose reply said it was delivered.
        let body = reply.split("\r\n\r\n").nth(1).unwrap_or_default();
        let receipt: serde_json::Value = serde_json::from_str(body).unwrap();
        let offset = receipt["offset"].clone();
        assert!(offset.as_u64().is_some_and(|n| n >= 1), "{reply}");
        // Each message comes numbered, after the answer to the page's join.
        let next = |msg: Option<Result<switchyard::ws::WsMessage, _>>| {
            serde_json::from_slice::<serde_json::Value>(msg.unwrap().unwrap().data()).unwrap()
        };
        let answer = next(page.next().await);
        assert_eq!(answer["subscribed"], "default", "{answer}");
        let msg = next(page.next().await);
        assert_eq!(
            (&msg["data"], &msg["offset"]),
            (&"hello".into(), &offset),
            "{msg}"
        );
    });
}

#[test]
fn ws_push_delivers_a_post_to_an_open_subscriber() {
    let server = ExampleServer::start("ws_push", &["127.0.0.1:0"]);
    push_reaches_an_open_page(server.addr, server.addr);
}

#[test]
fn ws_push_takes_pushes_on_their_own_address_when_asked() {
    let server = ExampleServer::start("ws_push", &["127.0.0.1:0", "--push-listen", "127.0.0.1:0"]);
    let mut pushes = None;
    server.wait_until(std::time::Duration::from_secs(5), |s| {
        pushes = s
            .log()
            .lines()
            .find_map(|line| line.split("pushes taken on ").nth(1)?.trim().parse().ok());
        pushes.is_some()
    });
    let pushes = pushes.unwrap_or_else(|| panic!("no push address logged: {}", server.log()));
    assert_ne!(pushes, server.addr);
    push_reaches_an_open_page(server.addr, pushes);
    // The pages' address no longer takes them.
    let reply = post_hello(server.addr);
    assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
}

/// An axum application hands its upgrades to switchyard: a page joins
/// through axum's `/ws`, and a push made through the application's own
/// route reaches it. Everything ran on the application's tokio runtime:
/// the process has no thread of another runtime's (async-std is compiled
/// in too, as the default).
#[cfg(feature = "tokio")]
#[test]
fn axum_push_delivers_a_post_to_its_own_route_to_a_page_on_its_websocket() {
    let server = ExampleServer::start_choosing_its_runtime("axum_push", &["127.0.0.1:0"]);
    push_reaches_an_open_page(server.addr, server.addr);
    let threads = server.thread_names();
    assert!(
        threads.iter().any(|t| t.starts_with("tokio-r")),
        "{threads:?}"
    );
    for foreign in [
        "async-io",
        "async-std",
        "smol",
        "blocking",
        "switchyard-tok",
    ] {
        assert!(
            !threads.iter().any(|t| t.starts_with(foreign)),
            "a thread of {foreign:?} in a tokio program: {threads:?}"
        );
    }
}

#[test]
fn ws_chat_rooms_see_their_own_messages_and_notices() {
    use futures::{SinkExt, StreamExt};
    use switchyard::ws::{connect, ClientIo, WsConnection};

    async fn next_json(conn: &mut WsConnection<ClientIo>) -> serde_json::Value {
        let msg = switchyard::rt::timeout(std::time::Duration::from_secs(5), "chat", conn.next())
            .await
            .expect("a message in time")
            .expect("open")
            .expect("a message");
        serde_json::from_slice(&msg).expect("JSON")
    }

    let server = ExampleServer::start("ws_chat", &["127.0.0.1:0"]);
    let base = format!("ws://{}/ws", server.addr);
    switchyard::rt::block_on(async move {
        let mut alice = connect(&format!("{base}?room=rust&name=Alice"))
            .await
            .unwrap();
        // Who is there first (the joiner included), then the notices.
        assert_eq!(
            next_json(&mut alice).await["names"],
            serde_json::json!(["Alice"])
        );
        let joined = next_json(&mut alice).await;
        assert_eq!(
            (joined["kind"].as_str(), joined["from"].as_str()),
            (Some("join"), Some("Alice"))
        );
        let mut bob = connect(&format!("{base}?room=rust&name=Bob%20B"))
            .await
            .unwrap();
        let members = next_json(&mut bob).await;
        assert_eq!(members["kind"], "members");
        assert_eq!(members["names"], serde_json::json!(["Alice", "Bob B"]));
        assert_eq!(next_json(&mut bob).await["from"], "Bob B");
        assert_eq!(next_json(&mut alice).await["from"], "Bob B");
        let mut gopher = connect(&format!("{base}?room=go&name=Gopher"))
            .await
            .unwrap();
        assert_eq!(
            next_json(&mut gopher).await["names"],
            serde_json::json!(["Gopher"])
        );
        assert_eq!(next_json(&mut gopher).await["kind"], "join");
        // Asked who is here, a page is told, and nobody else is.
        gopher.send(r#"{"who":true}"#.into()).await.unwrap();
        assert_eq!(
            next_json(&mut gopher).await["names"],
            serde_json::json!(["Gopher"])
        );

        // A name is one person's in a room: a second Alice is refused.
        let mut second = connect(&format!("{base}?room=rust&name=Alice"))
            .await
            .unwrap();
        let refused = next_json(&mut second).await;
        assert!(refused["error"]
            .as_str()
            .unwrap()
            .contains("Alice is already in room rust"));
        assert!(second.next().await.is_none());
        assert_eq!(second.peer_close().map(|c| c.code), Some(1008));

        alice
            .send(r#"{"text":"hello, rust"}"#.into())
            .await
            .unwrap();
        for conn in [&mut alice, &mut bob] {
            let said = next_json(conn).await;
            assert_eq!(said["kind"], "message");
            assert_eq!(said["from"], "Alice");
            assert_eq!(said["text"], "hello, rust");
            assert!(said["time"].as_u64().unwrap() > 1_600_000_000_000);
        }
        let quiet = switchyard::rt::timeout(
            std::time::Duration::from_millis(200),
            "other room",
            gopher.next(),
        )
        .await;
        assert!(quiet.is_err(), "another room received: {quiet:?}");

        bob.close(1000, "bye").await.unwrap();
        let left = next_json(&mut alice).await;
        assert_eq!(
            (left["kind"].as_str(), left["from"].as_str()),
            (Some("leave"), Some("Bob B"))
        );
        // Gone, the name is free again.
        let mut again = connect(&format!("{base}?room=rust&name=Bob%20B"))
            .await
            .unwrap();
        assert_eq!(
            next_json(&mut again).await["names"],
            serde_json::json!(["Alice", "Bob B"])
        );

        let mut nameless = connect(&format!("{base}?room=rust")).await.unwrap();
        assert!(next_json(&mut nameless).await["error"]
            .as_str()
            .unwrap()
            .contains("name"));
        assert!(nameless.next().await.is_none());
        assert_eq!(nameless.peer_close().map(|c| c.code), Some(1008));
    });
}

/// The next message of an example page's WebSocket, as JSON (5 s at
/// most); `what` names it in a failure.
async fn next_json(
    conn: &mut switchyard::ws::WsConnection<switchyard::ws::ClientIo>,
    what: &str,
) -> serde_json::Value {
    use futures::StreamExt;
    let msg = switchyard::rt::timeout(std::time::Duration::from_secs(5), what, conn.next())
        .await
        .expect("a message in time")
        .expect("open")
        .expect("a message");
    serde_json::from_slice(&msg).expect("JSON")
}

/// The next message of a `ws_chat` page.
async fn next_chat_message(
    conn: &mut switchyard::ws::WsConnection<switchyard::ws::ClientIo>,
) -> serde_json::Value {
    next_json(conn, "chat").await
}

#[test]
fn ws_chat_a_late_joiner_is_sent_the_last_50_messages_said_before_it_joined() {
    use futures::SinkExt;
    use switchyard::ws::connect;

    let server = ExampleServer::start("ws_chat", &["127.0.0.1:0"]);
    let base = format!("ws://{}/ws?room=history", server.addr);
    switchyard::rt::block_on(async move {
        // The first in a room is sent no history: there is none.
        let mut alice = connect(&format!("{base}&name=alice")).await.unwrap();
        assert_eq!(next_chat_message(&mut alice).await["kind"], "members");
        assert_eq!(next_chat_message(&mut alice).await["kind"], "join");
        // 120 messages, between a join and a leave that are not shown.
        let mut passer = connect(&format!("{base}&name=passer")).await.unwrap();
        assert_eq!(next_chat_message(&mut passer).await["kind"], "members");
        passer.close(1000, "bye").await.unwrap();
        assert_eq!(next_chat_message(&mut alice).await["kind"], "join");
        assert_eq!(next_chat_message(&mut alice).await["kind"], "leave");
        for i in 1..=120 {
            let said = serde_json::json!({ "text": format!("m{i}") }).to_string();
            alice.send(said.into()).await.unwrap();
            assert_eq!(next_chat_message(&mut alice).await["text"], format!("m{i}"));
        }
        let mut bob = connect(&format!("{base}&name=bob")).await.unwrap();
        assert_eq!(
            next_chat_message(&mut bob).await["names"],
            serde_json::json!(["alice", "bob"])
        );
        let history = next_chat_message(&mut bob).await;
        assert_eq!(history["kind"], "history", "{history}");
        let texts: Vec<&str> = history["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                assert_eq!(
                    (&m["kind"], &m["from"]),
                    (&"message".into(), &"alice".into())
                );
                m["text"].as_str().unwrap()
            })
            .collect();
        let expected: Vec<String> = (71..=120).map(|i| format!("m{i}")).collect();
        assert_eq!(texts, expected);
        // Then bob's own join, and what is said from now on, once.
        assert_eq!(next_chat_message(&mut bob).await["from"], "bob");
        alice.send(r#"{"text":"live"}"#.into()).await.unwrap();
        let live = next_chat_message(&mut bob).await;
        assert_eq!(
            (&live["kind"], &live["text"]),
            (&"message".into(), &"live".into())
        );
    });
}

#[test]
fn ws_chat_says_which_of_name_or_room_is_bad_and_what_is_allowed() {
    use futures::StreamExt;
    use switchyard::ws::connect;

    let server = ExampleServer::start("ws_chat", &["127.0.0.1:0"]);
    let base = format!("ws://{}/ws", server.addr);
    let long = "x".repeat(33);
    let cases = [
        (
            "room=no%20spaces&name=alice".to_string(),
            r#"bad room "no spaces": rooms are 1-128 of A-Z a-z 0-9 . _ -"#.to_string(),
        ),
        (
            "room=rust&name=%20%20".to_string(),
            "no name: pick one of 1-32 characters".to_string(),
        ),
        (
            format!("room=rust&name={long}"),
            format!(r#"bad name "{long}": it has 33 characters, names are 1-32"#),
        ),
    ];
    switchyard::rt::block_on(async move {
        for (query, expected) in cases {
            let mut page = connect(&format!("{base}?{query}")).await.unwrap();
            assert_eq!(
                next_chat_message(&mut page).await["error"],
                expected.as_str()
            );
            assert!(page.next().await.is_none());
            assert_eq!(page.peer_close().map(|c| c.code), Some(1008));
        }
        // A room name long enough to fill a page is quoted cut short.
        let huge = "y".repeat(300);
        let mut page = connect(&format!("{base}?room={huge}%20&name=alice"))
            .await
            .unwrap();
        let error = next_chat_message(&mut page).await;
        let error = error["error"].as_str().unwrap();
        assert!(
            error.starts_with(&format!("bad room \"{}…\": rooms are", "y".repeat(40))),
            "{error}"
        );
    });
}

/// The next message of a `ws_tail` page.
async fn next_tail_message(
    conn: &mut switchyard::ws::WsConnection<switchyard::ws::ClientIo>,
) -> serde_json::Value {
    next_json(conn, "tail").await
}

/// The next line a `ws_tail` page is sent (failing on anything else).
async fn next_tail_line(
    conn: &mut switchyard::ws::WsConnection<switchyard::ws::ClientIo>,
) -> String {
    let msg = next_tail_message(conn).await;
    msg["line"]
        .as_str()
        .unwrap_or_else(|| panic!("a line, not {msg}"))
        .to_string()
}

fn append(path: &std::path::Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn ws_tail_shows_the_last_lines_then_appends_truncation_and_rotation() {
    use switchyard::ws::connect;

    let dir = std::env::temp_dir().join(format!("switchyard-tail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("app.log");
    std::fs::write(&log, "one\ntwo\nthree\n").unwrap();
    let file = log.to_str().unwrap().to_string();
    let server = ExampleServer::start(
        "ws_tail",
        &[
            "127.0.0.1:0",
            "--file",
            &file,
            "--lines",
            "2",
            "--poll-ms",
            "20",
        ],
    );
    let url = format!("ws://{}/ws", server.addr);
    let log2 = log.clone();
    switchyard::rt::block_on(async move {
        // First the file the page follows, by name.
        let mut page = connect(&url).await.unwrap();
        let status = next_tail_message(&mut page).await;
        assert_eq!(
            (status["file"].as_str(), status["state"].as_str()),
            (Some(file.as_str()), Some("following")),
            "{status}"
        );
        // The follower may not have read the file yet when we connect.
        let mut first = next_tail_line(&mut page).await;
        if first == "one" {
            first = next_tail_line(&mut page).await;
        }
        assert_eq!(first, "two");
        assert_eq!(next_tail_line(&mut page).await, "three");

        append(&log2, "four\n");
        assert_eq!(next_tail_line(&mut page).await, "four");
        append(&log2, "half a li");
        append(&log2, "ne\n");
        assert_eq!(next_tail_line(&mut page).await, "half a line");

        // Truncated: the open page is told, then gets the new lines.
        std::fs::write(&log2, "").unwrap();
        let told = next_tail_message(&mut page).await;
        assert_eq!(told["state"], "truncated", "{told}");
        assert!(
            told["text"].as_str().unwrap().contains("was truncated"),
            "{told}"
        );
        append(&log2, "after truncation\n");
        assert_eq!(next_tail_line(&mut page).await, "after truncation");
        // A page opened now starts with the file's new content, not with
        // "four" and "half a line", which it no longer holds.
        let mut late = connect(&url).await.unwrap();
        assert_eq!(next_tail_message(&mut late).await["state"], "following");
        assert_eq!(next_tail_line(&mut late).await, "after truncation");

        let rotated = log2.with_extension("new");
        std::fs::write(&rotated, "after rotation\n").unwrap();
        std::fs::rename(&rotated, &log2).unwrap(); // replaced
        for conn in [&mut page, &mut late] {
            assert_eq!(next_tail_message(conn).await["state"], "replaced");
            assert_eq!(next_tail_line(conn).await, "after rotation");
        }
        let mut later = connect(&url).await.unwrap();
        assert_eq!(next_tail_message(&mut later).await["state"], "following");
        assert_eq!(next_tail_line(&mut later).await, "after rotation");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ws_tail_says_when_the_file_is_missing_and_when_it_appears() {
    use switchyard::ws::connect;

    let dir = std::env::temp_dir().join(format!("switchyard-tail-missing-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("not-yet.log");
    let _ = std::fs::remove_file(&log);
    let file = log.to_str().unwrap().to_string();
    let server = ExampleServer::start(
        "ws_tail",
        &["127.0.0.1:0", "--file", &file, "--poll-ms", "20"],
    );
    let url = format!("ws://{}/ws", server.addr);
    let log2 = log.clone();
    switchyard::rt::block_on(async move {
        let mut page = connect(&url).await.unwrap();
        let status = next_tail_message(&mut page).await;
        assert_eq!(status["state"], "missing", "{status}");
        assert_eq!(
            status["text"].as_str(),
            Some(format!("cannot read {file}: it does not exist; waiting for it").as_str())
        );
        // It appears: all of it is new, so all of it is shown.
        std::fs::write(&log2, "first\nsecond\n").unwrap();
        assert_eq!(next_tail_message(&mut page).await["state"], "following");
        assert_eq!(next_tail_line(&mut page).await, "first");
        assert_eq!(next_tail_line(&mut page).await, "second");
        // Gone again (mid-rotation): said again.
        std::fs::remove_file(&log2).unwrap();
        let status = next_tail_message(&mut page).await;
        assert_eq!(status["state"], "missing", "{status}");
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn ws_typed_client_and_server_agree_in_bincode() {
    let server = ExampleServer::start("ws_typed", &["server", "127.0.0.1:0"]);
    let out = run_example("ws_typed", &["client", &format!("ws://{}/ws", server.addr)]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("mean: 20.0"), "{}", stdout(&out));
}

#[test]
fn ws_client_reaches_the_echo_server_over_wss_with_a_self_signed_certificate() {
    let dir = std::env::temp_dir().join(format!("switchyard-wss-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());

    let server = ExampleServer::start(
        "ws_echo_server",
        &["127.0.0.1:0", "--tls-cert", cert, "--tls-key", key],
    );
    let url = format!("wss://localhost:{}/ws", server.addr.port());
    let out = run_example("ws_client", &[&url, "secret", "--ca", cert]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "secret\n");

    let untrusted = run_example("ws_client", &[&url, "secret"]);
    assert!(!untrusted.status.success());
    assert!(
        stderr(&untrusted).to_lowercase().contains("certificate"),
        "{}",
        stderr(&untrusted)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn example_servers_close_their_websockets_with_1001_on_sigterm() {
    use futures::StreamExt;
    for name in ["ws_echo_server", "ws_push"] {
        let mut server = ExampleServer::start(name, &["127.0.0.1:0"]);
        let addr = server.addr;
        let mut page =
            switchyard::rt::block_on(switchyard::ws::connect(&format!("ws://{addr}/ws"))).unwrap();
        if name == "ws_push" {
            // Joined (the answer to its join) before the signal.
            switchyard::rt::block_on(page.next()).unwrap().unwrap();
        }
        // The page reads (and so answers the close) while the server stops.
        let reading = std::thread::spawn(move || {
            let end = switchyard::rt::block_on(page.next());
            (end.is_none(), page.peer_close().map(|c| c.code))
        });
        let status = server.signal_and_wait("TERM", std::time::Duration::from_secs(10));
        assert!(status.is_some_and(|s| s.success()), "{name}: {status:?}");
        assert_eq!(reading.join().unwrap(), (true, Some(1001)), "{name}");
    }
}
