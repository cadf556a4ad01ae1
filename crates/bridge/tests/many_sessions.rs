//! 1000 sessions opened and closed through the bridge binary: every one
//! relayed, and no file descriptor left behind.

#[path = "../../../tests/support/mod.rs"]
mod process;
mod support;

use std::time::Duration;

use futures::{SinkExt, StreamExt};

#[test]
fn a_thousand_sessions_leave_no_file_descriptor_behind() {
    switchyard_rt::block_on(async {
        let echo = support::tcp_echo().await;
        let target = format!("tcp://{echo}");
        let bridge = process::ExampleServer::start_program(
            &support::bridge_binary(),
            &["ws://127.0.0.1:0/echo", &target],
        );
        let url = format!("ws://{}/echo", bridge.addr);
        // One session first, so that lazily opened descriptors are counted.
        let mut warm = switchyard_ws::connect(&url).await.unwrap();
        warm.send("warm".into()).await.unwrap();
        warm.next().await.unwrap().unwrap();
        warm.close(1000, "").await.unwrap();
        while warm.next().await.is_some() {}
        switchyard_rt::sleep(Duration::from_millis(300)).await;
        let baseline = bridge.open_fds();

        for batch in 0..10 {
            let sessions = (0..100).map(|i| {
                let url = url.clone();
                async move {
                    let mut client = switchyard_ws::connect(&url).await.unwrap();
                    let msg = format!("session {batch}-{i}");
                    client.send(msg.clone().into()).await.unwrap();
                    assert_eq!(client.next().await.unwrap().unwrap(), msg.as_bytes().into());
                    client.close(1000, "").await.unwrap();
                    while client.next().await.is_some() {}
                }
            });
            futures::future::join_all(sessions).await;
        }
        let settled = bridge.wait_until(Duration::from_secs(10), |b| b.open_fds() <= baseline);
        assert!(
            settled,
            "{} descriptors open, {baseline} before the sessions",
            bridge.open_fds()
        );
        // One log line per session.
        let lines = bridge
            .log()
            .lines()
            .filter(|l| l.contains("session peer="))
            .count();
        assert_eq!(lines, 1001);
    })
}
