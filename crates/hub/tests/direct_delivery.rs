//! Direct delivery through the hub: a delivery that panics loses nothing,
//! and a resume that begins while a message of its topic is out for
//! direct delivery does not send that message again among the recovered;
//! every subscriber is warmed before a writer delivers to it.

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
    // The topic rests, so the next message is delivered directly.
    std::thread::sleep(Duration::from_millis(30));
    sub
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

/// Holds each delivery until told to go on, and records it.
struct Held {
    started: mpsc::Sender<u64>,
    go_on: Arc<Mutex<mpsc::Receiver<()>>>,
    written: Arc<Mutex<Vec<u64>>>,
}

impl DirectDelivery for Held {
    fn deliver(&mut self, msg: &Published) -> Direct {
        let _ = self.started.send(msg.offset());
        let _ = self.go_on.lock().unwrap().recv();
        self.written.lock().unwrap().push(msg.offset());
        Direct::Delivered
    }
}

#[test]
fn a_resume_during_a_direct_delivery_does_not_send_it_again() {
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
    let mut sub = idle_subscriber(&hub, "t", Box::new(held));
    // Offset 2 goes out directly, and is held in the writer thread...
    block_on(hub.publish("t", "second".into())).unwrap();
    assert_eq!(started.recv_timeout(Duration::from_secs(5)), Ok(2));
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
    let answer = block_on(sub.next());
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
    let mut subs: Vec<Subscription> = (0..40)
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
    for (id, sub) in subs.iter_mut().enumerate() {
        assert!(matches!(block_on(sub.next()), Some(Delivery::Message(_))));
        let handle = sub.direct_handle();
        handle.set(Box::new(Logged {
            id,
            log: log.clone(),
        }));
        assert!(handle.arm());
    }
    std::thread::sleep(Duration::from_millis(30));
    block_on(hub.publish("t", "second".into())).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while hub.stats().delivered_directly < 40 {
        assert!(std::time::Instant::now() < deadline, "not all delivered");
        std::thread::sleep(Duration::from_millis(1));
    }
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
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while hub.stats().delivered_directly < delivered {
            assert!(std::time::Instant::now() < deadline, "{:?}", hub.stats());
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    assert_eq!(hub.stats().delivered_directly, 2);
}
