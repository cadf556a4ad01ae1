//! `stdio` as an endpoint, as a terminal user meets it: `switchyard-bridge
//! stdio ws://...` is an interactive client (each line typed one message,
//! each message received one line, the close code and reason printed at
//! the end, the exit status saying whether it ended well), and
//! `switchyard-bridge ws://... stdio` serves one WebSocket session at a
//! time to the terminal.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use switchyard_ws::http::{HttpServer, HttpServerConfig};
use switchyard_ws::{websocket, Router, WsMessage, WsServerConfig};

/// A WebSocket service at `/chat` that answers each text message with
/// `got: TEXT`, and closes with 4000 "done" when told `bye`.
async fn chat_service() -> SocketAddr {
    let router = Router::new().upgrade(
        "/chat",
        websocket(WsServerConfig::default(), |mut conn, _| async move {
            while let Some(Ok(msg)) = conn.next().await {
                let text = String::from_utf8_lossy(msg.as_ref()).into_owned();
                if text == "bye" {
                    let _ = conn.close(4000, "done").await;
                    while conn.next().await.is_some() {}
                    return;
                }
                if conn
                    .send(WsMessage::text(format!("got: {text}")))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }),
    );
    let server = HttpServer::bind("127.0.0.1:0", HttpServerConfig::default(), router)
        .await
        .unwrap();
    let addr = server.local_addr().unwrap();
    switchyard_rt::spawn(server.serve());
    addr
}

fn bridge(args: &[&str]) -> Child {
    Command::new(support::bridge_binary())
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// [`bridge`] with the log level the binary chooses itself.
fn bridge_with_default_log(args: &[&str]) -> Child {
    Command::new(support::bridge_binary())
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits (off the executor) for the child to exit, at most 10 s.
async fn exit_status(mut child: Child) -> (std::process::ExitStatus, String, String) {
    support::blocking(move || {
        let started = Instant::now();
        while child.try_wait().unwrap().is_none() {
            assert!(started.elapsed() < Duration::from_secs(10), "still running");
            std::thread::sleep(Duration::from_millis(20));
        }
        let (mut out, mut err) = (String::new(), String::new());
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        (child.wait().unwrap(), out, err)
    })
    .await
}

#[test]
fn a_stdio_client_sends_lines_prints_messages_and_the_close() {
    switchyard_rt::block_on(async {
        let service = chat_service().await;
        let url = format!("ws://{service}/chat");

        // Input ended by the terminal (Ctrl-D): a normal close, status 0.
        let mut client = bridge_with_default_log(&["stdio", &url]);
        client
            .stdin
            .take()
            .unwrap()
            .write_all(b"one\ntwo\n")
            .unwrap();
        let (status, out, err) = exit_status(client).await;
        assert_eq!(out, "got: one\ngot: two\n", "{err}");
        assert!(status.success(), "{status:?}\n{err}");
        // Without RUST_LOG, as a user runs it: the conversation, then the
        // close, and no server talk around them.
        assert_eq!(err, format!("closed by {url}: 1000\n"));

        // The service closes with its own code and reason: printed, status 1.
        let mut client = bridge(&["stdio", &url]);
        let mut stdin = client.stdin.take().unwrap();
        stdin.write_all(b"three\nbye\n").unwrap();
        let (status, out, err) = exit_status(client).await;
        drop(stdin);
        assert_eq!(out, "got: three\n", "{err}");
        assert!(
            err.contains(&format!("closed by {url}: 4000 done")),
            "{err}"
        );
        assert_eq!(status.code(), Some(1), "{err}");

        // Nothing there: said so, status 1.
        let closed = support::closed_port();
        let client = bridge(&["stdio", &format!("ws://{closed}/chat")]);
        let (status, _, err) = exit_status(client).await;
        assert!(err.contains("unreachable"), "{err}");
        assert_eq!(status.code(), Some(1), "{err}");
    })
}

/// Reads stderr lines until `listening on ws://ADDR`; the address. (The
/// line goes to stderr: stdout is the session's.)
fn listening_addr(stderr: &mut BufReader<ChildStderr>) -> SocketAddr {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "no listening line"
        );
        if let Some(addr) = line.trim().strip_prefix("listening on ws://") {
            return addr.parse().unwrap();
        }
    }
}

#[test]
fn a_websocket_listener_serves_one_session_at_a_time_to_stdio() {
    switchyard_rt::block_on(async {
        let mut server = bridge(&["ws://127.0.0.1:0/", "stdio"]);
        let mut stderr = BufReader::new(server.stderr.take().unwrap());
        let addr = listening_addr(&mut stderr);
        let mut stdin = server.stdin.take().unwrap();
        let mut stdout = BufReader::new(server.stdout.take().unwrap());

        let mut client = switchyard_ws::connect(&format!("ws://{addr}/"))
            .await
            .unwrap();
        client.send("from the browser".into()).await.unwrap();
        let (line, mut stdout) = support::blocking(move || {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            (line, stdout)
        })
        .await;
        assert_eq!(line, "from the browser\n");
        stdin.write_all(b"from the terminal\n").unwrap();
        assert_eq!(
            client.next().await.unwrap().unwrap(),
            WsMessage::binary("from the terminal")
        );
        // The terminal is taken: a second client is refused.
        let second = support::blocking(move || support::upgrade_status(addr, "/", "")).await;
        assert_eq!(support::status(&second), 503, "{second}");

        // Once the first has gone, the next session has the terminal, and no
        // line typed is lost between them.
        client.close(1000, "").await.unwrap();
        while client.next().await.is_some() {}
        stdin.write_all(b"typed between sessions\n").unwrap();
        let url = format!("ws://{addr}/");
        let mut next = None;
        for _ in 0..100 {
            match switchyard_ws::connect(&url).await {
                Ok(conn) => {
                    next = Some(conn);
                    break;
                }
                // 503 while the first session is still ending.
                Err(_) => switchyard_rt::sleep(std::time::Duration::from_millis(50)).await,
            }
        }
        let mut next = next.expect("a second session");
        assert_eq!(
            next.next().await.unwrap().unwrap(),
            WsMessage::binary("typed between sessions")
        );
        stdin.write_all(b"and after\n").unwrap();
        assert_eq!(
            next.next().await.unwrap().unwrap(),
            WsMessage::binary("and after")
        );
        next.send("back again".into()).await.unwrap();
        let line = support::blocking(move || {
            let mut line = String::new();
            stdout.read_line(&mut line).unwrap();
            line
        })
        .await;
        assert_eq!(line, "back again\n");
        let _ = server.kill();
        let _ = server.wait();
    })
}
