//! A pub/sub connection that dies without a word (a middlebox dropping
//! what Redis sends on it, the TCP connection still open): when it has
//! carried nothing of what Redis had numbered a check earlier, the
//! periodic check delivers what it missed and the backplane replaces it.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{hub, message, nothing_more, subscriber, text, Redis, PATIENCE};
use switchyard_hub::HistoryConfig;

/// A TCP proxy to Redis that can go silent on the pub/sub connections it
/// carries (those whose client sent SUBSCRIBE): what Redis sends on them
/// is dropped, and nothing is closed.
struct Proxy {
    port: u16,
    /// Connections accepted so far (each is numbered in that order).
    accepted: Arc<AtomicU64>,
    /// Connections numbered below this one are silenced, if pub/sub.
    silence_below: Arc<AtomicU64>,
}

impl Proxy {
    fn start(redis_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicU64::new(0));
        let silence_below = Arc::new(AtomicU64::new(0));
        let (count, silence) = (accepted.clone(), silence_below.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let number = count.fetch_add(1, Ordering::SeqCst);
                let Ok(server) = TcpStream::connect(("127.0.0.1", redis_port)) else {
                    return;
                };
                let pubsub = Arc::new(AtomicBool::new(false));
                let (client_in, server_out) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let marks = pubsub.clone();
                std::thread::spawn(move || {
                    pipe(client_in, server_out, |bytes| {
                        if bytes
                            .windows(9)
                            .any(|w| w.eq_ignore_ascii_case(b"SUBSCRIBE"))
                        {
                            marks.store(true, Ordering::SeqCst);
                        }
                        true
                    })
                });
                let silence = silence.clone();
                std::thread::spawn(move || {
                    pipe(server, client, |_| {
                        !(pubsub.load(Ordering::SeqCst) && number < silence.load(Ordering::SeqCst))
                    })
                });
            }
        });
        Self {
            port,
            accepted,
            silence_below,
        }
    }

    /// Silences the pub/sub connections open now (not later ones).
    fn silence(&self) {
        let open = self.accepted.load(Ordering::SeqCst);
        self.silence_below.store(open, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` while `pass` lets each read through (what it
/// does not is dropped); closes `to` at the end.
fn pipe(mut from: TcpStream, mut to: TcpStream, mut pass: impl FnMut(&[u8]) -> bool) {
    let mut buf = [0; 16 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf) {
        if pass(&buf[..n]) && to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
}

#[test]
#[ignore = "needs redis-server (apt install redis-server)"]
fn a_silently_dead_pubsub_connection_is_caught_up_and_replaced() {
    common::logs();
    let redis = Redis::start();
    let proxy = Proxy::start(redis.port());
    switchyard_rt::block_on(async {
        let through_proxy = format!("redis://127.0.0.1:{}/", proxy.port);
        let config = common::config(&through_proxy, HistoryConfig::default())
            .check_interval(Duration::from_millis(300));
        let (listening, _) = hub(config).await;
        let (publishing, _) = hub(common::config(&redis.url(), HistoryConfig::default())).await;
        let (mut sub, _) = subscriber(&listening, "news").await;
        for i in 1..=3 {
            publishing
                .publish("news", format!("m{i}").into())
                .await
                .unwrap();
            assert_eq!(message(&mut sub).await.offset(), i);
        }
        let before = redis.pubsub_clients();
        assert_eq!(before.len(), 1);

        proxy.silence();
        let silenced_at = Instant::now();
        for i in 4..=6 {
            publishing
                .publish("news", format!("m{i}").into())
                .await
                .unwrap();
        }
        // Still missing at the second check after they were published:
        // the periodic check fetches them, and gives up on the pub/sub
        // connection, which carried none of them.
        for i in 4..=6 {
            let msg = message(&mut sub).await;
            assert_eq!((msg.offset(), text(&msg)), (i, format!("m{i}")));
        }
        let deadline = Instant::now() + PATIENCE;
        loop {
            let now = redis.pubsub_clients();
            if !now.is_empty() && !now.iter().any(|id| before.contains(id)) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the silent connection was kept: {now:?}"
            );
            switchyard_rt::sleep(Duration::from_millis(20)).await;
        }
        assert!(silenced_at.elapsed() < Duration::from_secs(3));
        for i in 7..=9 {
            publishing
                .publish("news", format!("m{i}").into())
                .await
                .unwrap();
            let msg = message(&mut sub).await;
            assert_eq!((msg.offset(), text(&msg)), (i, format!("m{i}")));
        }
        nothing_more(&mut sub).await;
    });
}
