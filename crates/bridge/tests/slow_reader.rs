//! Backpressure end to end: a WebSocket client that stops reading while the
//! TCP side offers 100 MiB holds the service back, and the bridge's memory
//! stays bounded; everything arrives once the client reads again.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::io::AsyncWriteExt;
use futures::StreamExt;

const TOTAL: u64 = 100 << 20;

#[test]
fn a_stalled_websocket_reader_holds_back_a_100_mib_tcp_sender() {
    switchyard_rt::block_on(async {
        // The service: as soon as a client connects, 100 MiB as fast as it can.
        let written = Arc::new(AtomicU64::new(0));
        let listener = switchyard_rt::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let service = listener.local_addr().unwrap();
        let count = written.clone();
        switchyard_rt::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let chunk = vec![0x5au8; 64 << 10];
            while count.load(Ordering::Relaxed) < TOTAL {
                if stream.write_all(&chunk).await.is_err() {
                    return;
                }
                count.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
        });
        let target = format!("tcp://{service}");
        let bridge = process::ExampleServer::start_program(
            &support::bridge_binary(),
            &["ws://127.0.0.1:0/bulk", &target],
        );
        let baseline = bridge.rss_kib();
        let mut client = switchyard_ws::connect(&format!("ws://{}/bulk", bridge.addr))
            .await
            .unwrap();

        // Not reading: the service gets only as far as the buffers in between.
        switchyard_rt::sleep(Duration::from_secs(2)).await;
        let stalled_at = written.load(Ordering::Relaxed);
        switchyard_rt::sleep(Duration::from_millis(500)).await;
        assert_eq!(
            written.load(Ordering::Relaxed),
            stalled_at,
            "the sender was not held back"
        );
        assert!(
            stalled_at < 48 << 20,
            "{} MiB left the sender",
            stalled_at >> 20
        );
        let stalled_rss = bridge.rss_kib();

        // Reading again: all of it arrives, memory sampled along the way.
        let (mut received, mut peak) = (0u64, stalled_rss);
        while received < TOTAL {
            let msg = switchyard_rt::timeout(Duration::from_secs(20), "data", client.next())
                .await
                .unwrap()
                .expect("more data")
                .unwrap();
            assert!(msg.iter().all(|b| *b == 0x5a));
            received += msg.len() as u64;
            if received % (8 << 20) < msg.len() as u64 {
                peak = peak.max(bridge.rss_kib());
            }
        }
        assert_eq!(received, TOTAL);
        let growth = peak.saturating_sub(baseline);
        eprintln!(
            "bridge RSS: {baseline} KiB at start, {stalled_rss} KiB stalled, peak {peak} KiB; \
         the sender had written {} MiB when stalled",
            stalled_at >> 20
        );
        assert!(
            growth < 32 << 10,
            "the bridge grew by {growth} KiB relaying 100 MiB"
        );
    })
}
