//! Direct delivery through the hub: a delivery that panics loses nothing,
//! and a resume that begins while messages of its topic are out for
//! direct delivery does not send them again among the recovered; every
//! subscriber is warmed before a writer delivers to it; a busy topic is
//! drained in batches, in order, and a subscriber that takes nothing is
//! cut off alone.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::executor::block_on;
use futures::StreamExt;
use switchyard_hub::{
    Delivery, Direct, DirectDelivery, HistoryConfig, Hub, HubConfig, MemoryBackplane, Published,
    Subscription,
};

/// A subscriber of `topic` that has had its first message through the
/// stream, with `direct` set and armed.
fn idle_subscriber(hub: &Hub, topic: &str, direct: Box<dyn DirectDelivery>) -> Subscription {
    let mut sub = hub.subscribe();
    sub.join(topic).unwrap();
    assert!(matches!(
        block_on(sub.next()),
        Some(Delivery::Subscribed { .. })
    ));
    block_on(hub.publish(topic, "first".into())).unwrap();
    assert!(matches!(block_on(sub.next()), Some(Delivery::Message(_))));
    let handle = sub.direct_handle();
    handle.set(direct);
    assert!(handle.arm());
    sub
}

/// `n` subscribers of "t", each with its first message through the
/// stream, then with `direct(i)` set and armed.
fn idle_subscribers(
    hub: &Hub,
    n: usize,
    direct: impl Fn(usize) -> Box<dyn DirectDelivery>,
) -> Vec<Subscription> {
    let mut subs: Vec<Subscription> = (0..n)
        .map(|_| {
            let mut sub = hub.subscribe();
            sub.join("t").unwrap();
            assert!(matches!(
                block_on(sub.next()),
                Some(Delivery::Subscribed { .. })
            ));
            sub
        })
        .collect();
    block_on(hub.publish("t", "first".into())).unwrap();
    for (i, sub) in subs.iter_mut().enumerate() {
        assert!(matches!(block_on(sub.next()), Some(Delivery::Message(_))));
        let handle = sub.direct_handle();
        handle.set(direct(i));
        assert!(handle.arm());
    }
    subs
}

/// Publishes `n` messages to "t", never more than `ahead` of what its
/// `subscribers` (all delivered to directly) have been written: a
/// publisher that the writers keep up with, however slow the machine.
/// Returns how long it took.
fn publish_paced(hub: &Hub, n: u64, subscribers: u64, ahead: u64) -> Duration {
    let start = std::time::Instant::now();
    let base = hub.stats().delivered_directly;
    for i in 0..n {
        while i - (hub.stats().delivered_directly - base) / subscribers > ahead {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{:?}",
                hub.stats()
            );
            std::thread::sleep(Duration::from_micros(100));
        }
        block_on(hub.publish("t", format!("{i}").into())).unwrap();
    }
    start.elapsed()
}

/// Waits until the hub has delivered `n` messages directly.
fn wait_for_direct(hub: &Hub, n: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hub.stats().delivered_directly < n {
        assert!(std::time::Instant::now() < deadline, "{:?}", hub.stats());
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// `answer` is a resume's, with everything missed recovered.
fn assert_recovered(answer: Option<Delivery>) {
    assert!(
        matches!(
            answer,
            Some(Delivery::Subscribed {
                recovered: true,
                ..
            })
        ),
        "{answer:?}"
    );
}

fn is_pending(sub: &mut Subscription) -> bool {
    block_on(async { futures::poll!(sub.next()).is_pending() })
}

fn data(delivery: Option<Delivery>) -> String {
    match delivery {
        Some(Delivery::Message(m)) => String::from_utf8_lossy(m.data()).into_owned(),
        other => panic!("expected a message, got {other:?}"),
    }
}

struct Panics;

impl DirectDelivery for Panics {
    fn deliver(&mut self, _: &Published) -> Direct {
        panic!("a delivery that fails")
    }
}

#[test]
fn a_delivery_that_panics_hands_its_message_to_the_stream() {
    let hub = Hub::new(HubConfig::default());
    let mut sub = idle_subscriber(&hub, "t", Box::new(Panics));
    block_on(hub.publish("t", "second".into())).unwrap();
    // The writer thread caught the panic: the message comes through the
    // stream instead, and later ones too.
    assert_eq!(data(block_on(sub.next())), "second");
    block_on(hub.publish("t", "third".into())).unwrap();
    assert_eq!(data(block_on(sub.next())), "third");
    assert_eq!(hub.stats().delivered_directly, 0);
}

/// Holds each delivery (of one message or a batch) until told to go on,
/// and records it.
struct Held {
    started: mpsc::Sender<Vec<u64>>,
    go_on: Arc<Mutex<mpsc::Receiver<()>>>,
    written: Arc<Mutex<Vec<u64>>>,
}

impl DirectDelivery for Held {
    fn deliver(&mut self, msg: &Published) -> Direct {
        self.deliver_all(std::slice::from_ref(msg)).1
    }

    fn deliver_all(&mut self, msgs: &[Published]) -> (usize, Direct) {
        let offsets: Vec<u64> = msgs.iter().map(Published::offset).collect();
        let _ = self.started.send(offsets.clone());
        let _ = self.go_on.lock().unwrap().recv();
        self.written.lock().unwrap().extend(offsets);
        (msgs.len(), Direct::Delivered)
    }
}

/// A hub with history, and an idle subscriber of "t" whose deliveries are
/// held: what each delivery started with, how to let it go on, and what
/// was written.
struct HeldSubscriber {
    hub: Hub,
    sub: Subscription,
    started: mpsc::Receiver<Vec<u64>>,
    go_on: mpsc::Sender<()>,
    written: Arc<Mutex<Vec<u64>>>,
}

fn held_subscriber() -> HeldSubscriber {
    let backplane = Arc::new(MemoryBackplane::new(HistoryConfig::default()));
    let hub = Hub::with_backplane(HubConfig::default(), backplane).unwrap();
    let (started_tx, started) = mpsc::channel();
    let (go_on, go_on_rx) = mpsc::channel();
    let written = Arc::new(Mutex::new(Vec::new()));
    let held = Held {
        started: started_tx,
        go_on: Arc::new(Mutex::new(go_on_rx)),
        written: written.clone(),
    };
    let sub = idle_subscriber(&hub, "t", Box::new(held));
    HeldSubscriber {
        hub,
        sub,
        started,
        go_on,
        written,
    }
}

#[test]
fn a_resume_during_a_direct_delivery_does_not_send_it_again() {
    let HeldSubscriber {
        hub,
        mut sub,
        started,
        go_on,
        written,
    } = held_subscriber();
    // Offset 2 goes out directly, and is held in the writer thread...
    block_on(hub.publish("t", "second".into())).unwrap();
    assert_eq!(started.recv_timeout(Duration::from_secs(5)), Ok(vec![2]));
    // ...while the subscriber resumes the topic from its first message.
    let third = block_on(hub.publish("t", "third".into())).unwrap();
    let since = switchyard_hub::Position {
        offset: 1,
        epoch: third.position.epoch.clone(),
    };
    sub.resume("t", since).unwrap();
    // The answer waits for the message out to come back.
    assert!(is_pending(&mut sub));
    go_on.send(()).unwrap();
    assert_recovered(block_on(sub.next()));
    // Recovered: 3 only, since 2 was written; and 3 once, not again live.
    assert_eq!(data(block_on(sub.next())), "third");
    assert!(is_pending(&mut sub));
    assert_eq!(*written.lock().unwrap(), [2]);
}

/// Records, in one log shared by many subscribers, when each is warmed and
/// when it is delivered to.
struct Logged {
    id: usize,
    log: Arc<Mutex<Vec<(usize, &'static str)>>>,
}

impl DirectDelivery for Logged {
    fn warm(&self) {
        self.log.lock().unwrap().push((self.id, "warm"));
    }

    fn deliver(&mut self, _: &Published) -> Direct {
        self.log.lock().unwrap().push((self.id, "deliver"));
        Direct::Delivered
    }
}

#[test]
fn every_subscriber_is_warmed_once_before_it_is_delivered_to() {
    let hub = Hub::new(HubConfig::default());
    let log = Arc::new(Mutex::new(Vec::new()));
    let _subs = idle_subscribers(&hub, 40, |id| {
        Box::new(Logged {
            id,
            log: log.clone(),
        })
    });
    block_on(hub.publish("t", "second".into())).unwrap();
    wait_for_direct(&hub, 40);
    let log = log.lock().unwrap();
    for id in 0..40 {
        let events: Vec<&str> = log.iter().filter(|e| e.0 == id).map(|e| e.1).collect();
        assert_eq!(events, ["warm", "deliver"], "subscriber {id}");
    }
    // Warming runs ahead: several are warmed before the first delivery.
    let ahead = log.iter().take_while(|e| e.1 == "warm").count();
    assert!(ahead > 1, "{log:?}");
}

/// Delivers, but panics when warmed.
struct PanicsWarming;

impl DirectDelivery for PanicsWarming {
    fn warm(&self) {
        panic!("a warm-up that fails")
    }

    fn deliver(&mut self, _: &Published) -> Direct {
        Direct::Delivered
    }
}

#[test]
fn a_warm_up_that_panics_costs_nothing() {
    let hub = Hub::new(HubConfig::default());
    let _sub = idle_subscriber(&hub, "t", Box::new(PanicsWarming));
    // The writer thread caught the panic: the message was delivered
    // directly all the same, and so is the next.
    for delivered in [1, 2] {
        block_on(hub.publish("t", "again".into())).unwrap();
        wait_for_direct(&hub, delivered);
    }
    assert_eq!(hub.stats().delivered_directly, 2);
}

/// Takes nothing: a connection whose socket is always full.
struct Full;

impl DirectDelivery for Full {
    fn deliver(&mut self, _: &Published) -> Direct {
        Direct::Declined
    }
}

/// Takes every batch whole, and records each; with a gate, the first only
/// once let through.
struct Gated {
    gate: Option<GateInside>,
    batches: Batched,
}

/// A gate, as a delivery sees it: where it says it arrived, and where it
/// waits to be let through.
struct GateInside {
    arrived: mpsc::Sender<()>,
    open: mpsc::Receiver<()>,
}

/// A gate, as a test sees it.
struct Gate {
    arrived: mpsc::Receiver<()>,
    open: mpsc::Sender<()>,
}

impl Gate {
    fn new() -> (Self, GateInside) {
        let (arrived_tx, arrived) = mpsc::channel();
        let (open, open_rx) = mpsc::channel();
        let inside = GateInside {
            arrived: arrived_tx,
            open: open_rx,
        };
        (Self { arrived, open }, inside)
    }

    /// Waits until a delivery waits at the gate.
    fn reached(&self) {
        self.arrived
            .recv_timeout(Duration::from_secs(10))
            .expect("a delivery reaches the gate");
    }

    fn open(&self) {
        self.open.send(()).unwrap();
    }
}

impl DirectDelivery for Gated {
    fn deliver(&mut self, msg: &Published) -> Direct {
        self.deliver_all(std::slice::from_ref(msg)).1
    }

    fn deliver_all(&mut self, msgs: &[Published]) -> (usize, Direct) {
        if let Some(gate) = self.gate.take() {
            let _ = gate.arrived.send(());
            let _ = gate.open.recv();
        }
        let offsets = msgs.iter().map(Published::offset).collect();
        self.batches.lock().unwrap().push(offsets);
        (msgs.len(), Direct::Delivered)
    }
}

/// The batches each delivery took.
type Batched = Arc<Mutex<Vec<Vec<u64>>>>;

/// An idle subscriber of "t" whose next delivery waits at the gate
/// returned, and the batches it takes.
fn gated_subscriber(hub: &Hub) -> (Subscription, Gate, Batched) {
    let batches = Batched::default();
    let (gate, inside) = Gate::new();
    let gated = Gated {
        gate: Some(inside),
        batches: batches.clone(),
    };
    (idle_subscriber(hub, "t", Box::new(gated)), gate, batches)
}

#[test]
fn a_busy_topic_is_drained_in_order_in_batches_and_one_that_takes_nothing_is_cut_off_alone() {
    let config = HubConfig::default()
        .queue_messages(200)
        .drain_interval(Duration::from_millis(5));
    let hub = Hub::new(config);
    let (mut fast, gate, batches) = gated_subscriber(&hub);
    // Its "first" (offset 2) goes to the first subscriber directly, and is
    // held at the gate.
    let stuck = idle_subscriber(&hub, "t", Box::new(Full));
    gate.reached();
    // 150 wait behind it meanwhile...
    for i in 0..150 {
        block_on(hub.publish("t", format!("{i}").into())).unwrap();
    }
    gate.open();
    // ...and go out in the drains that follow, the first of them 128
    // together (the most one write takes), the other 22 in the next.
    wait_for_direct(&hub, 151);
    let sizes: Vec<usize> = batches.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, 128, 22]);
    // 100 more, while the first keeps up: the subscriber that took nothing
    // has its queue fill (200), and is cut off, alone.
    for i in 150..250 {
        block_on(hub.publish("t", format!("{i}").into())).unwrap();
        std::thread::sleep(Duration::from_micros(200));
    }
    wait_for_direct(&hub, 251);
    let written: Vec<u64> = batches.lock().unwrap().concat();
    // Its own "first" (offset 1) came through the stream.
    assert_eq!(written, (2..253).collect::<Vec<_>>());
    // Nothing else came through the stream.
    assert!(is_pending(&mut fast));
    assert!(stuck.is_cut_off(), "{:?}", hub.stats());
    assert!(!fast.is_cut_off());
    assert_eq!(hub.subscribers("t"), 1);
    assert_eq!(hub.stats().slow_disconnects, 1);
}

#[test]
fn a_resume_during_a_drain_does_not_send_the_batch_again() {
    let HeldSubscriber {
        hub,
        mut sub,
        started,
        go_on,
        written,
    } = held_subscriber();
    let wait = Duration::from_secs(5);
    // 2 goes out alone and is held; 3 and 4 queue behind it...
    block_on(hub.publish("t", "2".into())).unwrap();
    assert_eq!(started.recv_timeout(wait), Ok(vec![2]));
    block_on(hub.publish("t", "3".into())).unwrap();
    let four = block_on(hub.publish("t", "4".into())).unwrap();
    go_on.send(()).unwrap();
    // ...and are drained together, held again...
    assert_eq!(started.recv_timeout(wait), Ok(vec![3, 4]));
    // ...while the subscriber resumes from its first message.
    let since = switchyard_hub::Position {
        offset: 1,
        epoch: four.position.epoch.clone(),
    };
    sub.resume("t", since).unwrap();
    block_on(hub.publish("t", "5".into())).unwrap();
    assert!(is_pending(&mut sub));
    go_on.send(()).unwrap();
    assert_recovered(block_on(sub.next()));
    // Recovered: 2 (written before the resume began, and asked for again)
    // and 5; not 3 and 4, written as it began; and 5 once, not again live.
    assert_eq!(data(block_on(sub.next())), "2");
    assert_eq!(data(block_on(sub.next())), "5");
    assert!(is_pending(&mut sub));
    assert_eq!(*written.lock().unwrap(), [2, 3, 4]);
}

#[test]
fn a_full_queue_presses_for_a_drain_whatever_the_interval() {
    // An hour is taken as a second: a drain each second, and whenever a
    // quarter of the queue (10) waits.
    let config = HubConfig::default()
        .queue_messages(40)
        .drain_interval(Duration::from_secs(3600));
    let hub = Hub::new(config);
    let batches = Batched::default();
    let recorded = Gated {
        gate: None,
        batches: batches.clone(),
    };
    let _sub = idle_subscriber(&hub, "t", Box::new(recorded));
    // 300, never more than 20 ahead of what was written: at a drain a
    // second, that would take 15 s; pressed drains take a fraction of it.
    let took = publish_paced(&hub, 300, 1, 20);
    assert!(took < Duration::from_secs(5), "{took:?}");
    wait_for_direct(&hub, 300);
    assert_eq!(hub.stats().slow_disconnects, 0);
    let written: Vec<u64> = batches.lock().unwrap().iter().flatten().copied().collect();
    assert_eq!(written, (2..302).collect::<Vec<_>>());
}

#[test]
fn a_batch_whose_delivery_panics_comes_through_the_stream_in_order() {
    let hub = Hub::new(HubConfig::default());
    let mut sub = idle_subscriber(&hub, "t", Box::new(Panics));
    for msg in ["a", "b", "c"] {
        block_on(hub.publish("t", msg.into())).unwrap();
    }
    for msg in ["a", "b", "c"] {
        assert_eq!(data(block_on(sub.next())), msg);
    }
    assert!(is_pending(&mut sub));
    assert_eq!(hub.stats().delivered_directly, 0);
}

/// Takes every batch, after a few microseconds' work, as a socket's write
/// would; counts the messages.
struct Slowish(Arc<std::sync::atomic::AtomicU64>);

impl DirectDelivery for Slowish {
    fn deliver(&mut self, msg: &Published) -> Direct {
        self.deliver_all(std::slice::from_ref(msg)).1
    }

    fn deliver_all(&mut self, msgs: &[Published]) -> (usize, Direct) {
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_micros(2) {}
        self.0
            .fetch_add(msgs.len() as u64, std::sync::atomic::Ordering::Relaxed);
        (msgs.len(), Direct::Delivered)
    }
}

/// More subscribers than one piece of a writer's work: each drain is
/// several pieces, and every subscriber has everything, none cut off.
#[test]
fn every_subscriber_of_a_busy_topic_gets_its_turn_in_each_drain() {
    let config = HubConfig::default()
        .queue_messages(64)
        .drain_interval(Duration::from_millis(10));
    let hub = Hub::new(config);
    let taken = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let _subs = idle_subscribers(&hub, 1100, |_| Box::new(Slowish(taken.clone())));
    let messages = 300;
    // Never more than 8 ahead of the subscribers on average; a quarter of
    // the queue (16) presses for a drain before anyone falls far behind.
    publish_paced(&hub, messages, 1100, 8);
    wait_for_direct(&hub, messages * 1100);
    assert_eq!(hub.stats().slow_disconnects, 0);
    assert_eq!(
        taken.load(std::sync::atomic::Ordering::Relaxed),
        messages * 1100
    );
}

#[test]
fn a_batch_that_leaves_more_behind_brings_the_next_drain_forward() {
    // A drain a second (an hour is taken as a second), and a queue large
    // enough that 240 waiting do not press (a quarter is 250).
    let config = HubConfig::default()
        .queue_messages(1000)
        .drain_interval(Duration::from_secs(3600));
    let hub = Hub::new(config);
    let (_sub, gate, batches) = gated_subscriber(&hub);
    // The first message held at the gate, 240 behind it.
    block_on(hub.publish("t", "held".into())).unwrap();
    gate.reached();
    for i in 0..240 {
        block_on(hub.publish("t", format!("{i}").into())).unwrap();
    }
    let opened = std::time::Instant::now();
    gate.open();
    // The first drain takes 128 (the most at once), and the next comes at
    // once for the other 112, not a second later.
    wait_for_direct(&hub, 241);
    assert!(
        opened.elapsed() < Duration::from_millis(500),
        "{:?}",
        opened.elapsed()
    );
    let sizes: Vec<usize> = batches.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [1, 128, 112]);
}

/// Says when a delivery starts, waits at a gate, takes it whole, and
/// panics when dropped.
struct PanicsWhenDropped {
    started: mpsc::Sender<()>,
    gate: mpsc::Receiver<()>,
}

impl DirectDelivery for PanicsWhenDropped {
    fn deliver(&mut self, _: &Published) -> Direct {
        let _ = self.started.send(());
        let _ = self.gate.recv();
        Direct::Delivered
    }
}

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("a delivery that fails as it is dropped");
    }
}

/// A subscription dropped while a writer thread delivers to it leaves its
/// delivery to that thread to drop; a drop that panics does not end the
/// thread. More rounds than the hub has writer threads: were each round
/// to end one, the last rounds would find none left.
#[test]
fn a_delivery_that_panics_when_dropped_ends_no_writer_thread() {
    let hub = Hub::new(HubConfig::default());
    let batches = Batched::default();
    let witnessing = Gated {
        gate: None,
        batches: batches.clone(),
    };
    let mut witness = idle_subscriber(&hub, "w", Box::new(witnessing));
    for round in 1..=8u64 {
        let (started_tx, started) = mpsc::channel();
        let (open, gate) = mpsc::channel();
        let doomed = PanicsWhenDropped {
            started: started_tx,
            gate,
        };
        let sub = idle_subscriber(&hub, "t", Box::new(doomed));
        block_on(hub.publish("t", "last".into())).unwrap();
        started
            .recv_timeout(Duration::from_secs(10))
            .expect("a writer delivers");
        drop(sub); // its delivery is out: the writer drops it
        open.send(()).unwrap();
        block_on(hub.publish("w", format!("{round}").into())).unwrap();
        wait_for_direct(&hub, 2 * round);
    }
    assert!(is_pending(&mut witness), "all went out directly");
    assert_eq!(batches.lock().unwrap().len(), 8);
}

/// A subscriber cut off while its delivery is out with a writer: its task,
/// waiting on the stream, is woken to find it ended.
#[test]
fn a_subscriber_cut_off_while_written_to_finds_its_stream_ended() {
    let hub = Hub::new(HubConfig::default().queue_messages(4));
    let (mut sub, gate, _batches) = gated_subscriber(&hub);
    block_on(hub.publish("t", "held".into())).unwrap();
    gate.reached();
    let (ended_tx, ended) = mpsc::channel();
    let waiting = std::thread::spawn(move || {
        let next = block_on(sub.next());
        let _ = ended_tx.send(());
        (sub, next)
    });
    // It waits: its delivery is out.
    assert!(ended.recv_timeout(Duration::from_millis(100)).is_err());
    for i in 0..5 {
        block_on(hub.publish("t", format!("{i}").into())).unwrap();
    }
    ended
        .recv_timeout(Duration::from_secs(10))
        .expect("the waiting task is woken");
    let (sub, next) = waiting.join().unwrap();
    assert!(next.is_none() && sub.is_cut_off());
    gate.open();
    assert_eq!(hub.subscribers("t"), 0);
}
