//! Subscribers of one topic that read at very different speeds each
//! receive exactly their share: every message, in order, for those that
//! keep within the limits (by their task or written directly); under
//! `Disconnect` the one that never reads is cut off, alone; under
//! `DropMessages` the slow one receives the newest in order and the hub
//! counts exactly what it missed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use futures::executor::block_on;
use futures::StreamExt;
use switchyard_hub::{
    Delivery, Direct, DirectDelivery, Hub, HubConfig, Published, SlowConsumerPolicy, Subscription,
};

/// Messages published in each run.
const N: u64 = 2000;
/// How far a subscriber may be behind.
const LIMIT: usize = 64;

/// A subscriber of "t", its join answered.
fn subscriber(hub: &Hub) -> Subscription {
    let mut sub = hub.subscribe();
    sub.join("t").unwrap();
    assert!(matches!(
        block_on(sub.next()),
        Some(Delivery::Subscribed { .. })
    ));
    sub
}

/// What a subscriber received, and the offset of the last of it.
#[derive(Default)]
struct Received {
    offsets: Mutex<Vec<u64>>,
    last: AtomicU64,
}

impl Received {
    fn record(&self, offset: u64) {
        self.offsets.lock().unwrap().push(offset);
        self.last.store(offset, Ordering::Release);
    }

    fn all(&self) -> Vec<u64> {
        self.offsets.lock().unwrap().clone()
    }
}

/// Reads `sub`'s stream until the last message, pausing `pause` after each.
fn task_reader(
    mut sub: Subscription,
    pause: Duration,
) -> (Arc<Received>, JoinHandle<Subscription>) {
    let received = Arc::new(Received::default());
    let record = received.clone();
    let thread = std::thread::spawn(move || {
        while let Some(delivery) = block_on(sub.next()) {
            let Delivery::Message(m) = delivery else {
                panic!("only messages: {delivery:?}");
            };
            record.record(m.offset());
            if m.offset() == N {
                return sub;
            }
            std::thread::sleep(pause);
        }
        panic!("cut off");
    });
    (received, thread)
}

/// Takes every message, as a socket with room does.
struct Records(Arc<Received>);

impl DirectDelivery for Records {
    fn deliver(&mut self, msg: &Published) -> Direct {
        self.0.record(msg.offset());
        Direct::Delivered
    }
}

/// A subscriber written to directly once its task has nothing in hand.
fn direct_reader(mut sub: Subscription) -> (Arc<Received>, JoinHandle<Subscription>) {
    let received = Arc::new(Received::default());
    let record = received.clone();
    let thread = std::thread::spawn(move || {
        let handle = sub.direct_handle();
        handle.set(Box::new(Records(record.clone())));
        let deadline = Instant::now() + Duration::from_secs(60);
        while record.last.load(Ordering::Acquire) < N {
            assert!(Instant::now() < deadline, "stalled");
            match block_on(async { futures::poll!(sub.next()) }) {
                std::task::Poll::Ready(Some(Delivery::Message(m))) => record.record(m.offset()),
                std::task::Poll::Ready(other) => panic!("only messages: {other:?}"),
                std::task::Poll::Pending => {
                    handle.arm();
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
        }
        sub
    });
    (received, thread)
}

/// Publishes 1..=N to "t", never more than a quarter of the limit ahead of
/// any of `paced_by` (a direct delivery's batch in flight is behind too).
fn publish(hub: &Hub, paced_by: &[&Received]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for i in 1..=N {
        while paced_by
            .iter()
            .any(|r| i - r.last.load(Ordering::Acquire) > LIMIT as u64 / 4)
        {
            assert!(Instant::now() < deadline, "readers stalled");
            std::thread::sleep(Duration::from_micros(50));
        }
        block_on(hub.publish("t", format!("{i}").into())).unwrap();
    }
}

fn hub(policy: SlowConsumerPolicy) -> Hub {
    Hub::new(
        HubConfig::default()
            .queue_messages(LIMIT)
            .slow_consumer(policy),
    )
}

#[test]
fn each_keeps_everything_and_the_one_that_never_reads_is_cut_off_alone() {
    let hub = hub(SlowConsumerPolicy::Disconnect);
    let (fast, fast_thread) = task_reader(subscriber(&hub), Duration::ZERO);
    let (steady, steady_thread) = task_reader(subscriber(&hub), Duration::from_micros(300));
    let (direct, direct_thread) = direct_reader(subscriber(&hub));
    let stuck = subscriber(&hub);
    publish(&hub, &[&fast, &steady, &direct]);
    let _subs: Vec<Subscription> = [fast_thread, steady_thread, direct_thread]
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    let everything: Vec<u64> = (1..=N).collect();
    assert_eq!(fast.all(), everything, "fast");
    assert_eq!(steady.all(), everything, "steady");
    assert_eq!(direct.all(), everything, "direct");
    assert!(stuck.is_cut_off());
    let stats = hub.stats();
    assert_eq!((stats.slow_disconnects, stats.dropped), (1, 0));
    assert!(stats.delivered_directly > N / 2, "{stats:?}");
    assert_eq!(hub.subscribers("t"), 3);
}

#[test]
fn the_slow_one_gets_the_newest_in_order_and_the_hub_counts_what_it_missed() {
    let hub = hub(SlowConsumerPolicy::DropMessages);
    let (fast, fast_thread) = task_reader(subscriber(&hub), Duration::ZERO);
    let (direct, direct_thread) = direct_reader(subscriber(&hub));
    // 5 ms a message: 10 s for all of them, far longer than the others
    // take.
    let (slow, slow_thread) = task_reader(subscriber(&hub), Duration::from_millis(5));
    publish(&hub, &[&fast, &direct]);
    let _subs: Vec<Subscription> = [fast_thread, direct_thread, slow_thread]
        .into_iter()
        .map(|thread| thread.join().unwrap())
        .collect();
    let everything: Vec<u64> = (1..=N).collect();
    assert_eq!(fast.all(), everything, "fast");
    assert_eq!(direct.all(), everything, "direct");
    let got = slow.all();
    assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, once each");
    assert_eq!(got.last(), Some(&N));
    let stats = hub.stats();
    assert_eq!(stats.slow_disconnects, 0);
    assert!(stats.dropped > 0, "{stats:?}");
    assert_eq!(stats.dropped, N - got.len() as u64, "{stats:?}");
    assert_eq!(hub.subscribers("t"), 3);
}
