//! The hub's writer threads start with its first direct delivery and end
//! once the hub is dropped, even with a subscriber still waiting for
//! their next drain. A file of its own: it counts the process's threads
//! by name, which other tests' hubs would change.
#![cfg(target_os = "linux")]

use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::StreamExt;
use switchyard_hub::{Delivery, Direct, DirectDelivery, Hub, HubConfig, Published};

/// This process's threads named by the hub's writers.
fn writer_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("hub-writer"))
        .count()
}

/// Takes everything; the first delivery only once let through (saying
/// when it arrived at the gate).
struct Gated(Option<(Sender<()>, Receiver<()>)>);

impl DirectDelivery for Gated {
    fn deliver(&mut self, _: &Published) -> Direct {
        if let Some((arrived, open)) = self.0.take() {
            let _ = arrived.send(());
            let _ = open.recv();
        }
        Direct::Delivered
    }
}

fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn writer_threads_end_when_the_hub_is_dropped() {
    assert_eq!(writer_threads(), 0, "none before a direct delivery");
    // Drains a second apart (the longest interval taken).
    let hub = Hub::new(HubConfig::default().drain_interval(Duration::MAX));
    let mut sub = hub.subscribe();
    sub.join("t").unwrap();
    assert!(matches!(
        block_on(sub.next()),
        Some(Delivery::Subscribed { .. })
    ));
    block_on(hub.publish("t", "first".into())).unwrap();
    assert!(matches!(block_on(sub.next()), Some(Delivery::Message(_))));
    // A task waiting on its stream is woken by the publisher: no thread.
    let waiting = std::thread::spawn(move || {
        let next = block_on(sub.next());
        (sub, next)
    });
    std::thread::sleep(Duration::from_millis(20));
    block_on(hub.publish("t", "to the task".into())).unwrap();
    let (mut sub, next) = waiting.join().unwrap();
    assert!(matches!(next, Some(Delivery::Message(_))));
    assert_eq!(writer_threads(), 0, "none for a task");
    assert!(block_on(async { futures::poll!(sub.next()) }).is_pending());
    let handle = sub.direct_handle();
    let (open, gate) = channel();
    let (arrived_tx, arrived) = channel();
    handle.set(Box::new(Gated(Some((arrived_tx, gate)))));
    assert!(handle.arm());
    // "second" goes out alone and is held at the gate while the others
    // wait behind it; then they go in the first drain, and the subscriber
    // waits with the writers for the next drain, a second later.
    block_on(hub.publish("t", "second".into())).unwrap();
    arrived.recv_timeout(Duration::from_secs(10)).unwrap();
    for msg in ["third", "fourth"] {
        block_on(hub.publish("t", msg.into())).unwrap();
    }
    open.send(()).unwrap();
    wait_until("direct deliveries", || hub.stats().delivered_directly == 3);
    assert!(writer_threads() > 0, "started by the direct delivery");
    assert!(!handle.may_arm(), "still with the writers");
    drop(sub);
    drop(hub);
    // At once, not when their next drain would have been due.
    let dropped = Instant::now();
    wait_until("the writer threads to end", || writer_threads() == 0);
    assert!(
        dropped.elapsed() < Duration::from_millis(500),
        "{:?}",
        dropped.elapsed()
    );
}
