//! Whatever happens between publishes, subscribers that come and go, and a
//! backplane that takes its time to answer a join, every subscriber sees
//! each topic as one unbroken run: after each answer, the offsets that
//! follow its position, each once and in order; and an answer says
//! "recovered" exactly when the history held everything it missed. The
//! same whether messages come through the stream or are delivered
//! directly by the hub's writer threads (one at a time or drained in
//! batches), with a connection that takes all, some or none of a batch.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use proptest::prelude::*;
use switchyard_hub::{
    Backplane, BackplaneError, BackplaneStatus, Delivery, Direct, DirectDelivery, DirectHandle,
    HistoryConfig, Hub, HubConfig, HubInbox, MemoryBackplane, Position, PublishReceipt, Published,
    Recovery, Subscription,
};

/// A [`MemoryBackplane`] whose joins complete only when released, as a
/// shared backplane's do once its subscription to the topic is confirmed.
#[derive(Debug)]
struct SlowJoins {
    inner: MemoryBackplane,
    released: Arc<AtomicBool>,
}

impl Backplane for SlowJoins {
    fn attach(&self, inbox: HubInbox) -> Result<(), BackplaneError> {
        self.inner.attach(inbox)
    }

    fn publish(
        &self,
        topic: &str,
        data: Bytes,
        key: Option<&str>,
    ) -> BoxFuture<'static, Result<PublishReceipt, BackplaneError>> {
        self.inner.publish(topic, data, key)
    }

    fn join(&self, _topic: &str) -> BoxFuture<'static, Result<(), BackplaneError>> {
        let released = self.released.clone();
        futures::future::poll_fn(move |_| {
            if released.load(Ordering::Acquire) {
                Poll::Ready(Ok(()))
            } else {
                Poll::Pending
            }
        })
        .boxed()
    }

    fn leave(&self, topic: &str) {
        self.inner.leave(topic)
    }

    fn since(
        &self,
        topic: &str,
        position: Option<&Position>,
    ) -> BoxFuture<'static, Result<Recovery, BackplaneError>> {
        self.inner.since(topic, position)
    }

    fn status(&self) -> BackplaneStatus {
        self.inner.status()
    }
}

/// What a subscriber has been given, in the order it was given: from its
/// stream, and from the writer threads.
type Given = Arc<Mutex<Vec<Delivery>>>;

/// A connection the writer threads deliver to: by turns it takes a whole
/// batch, part of one (the first message, or the first begun), or none.
struct Connection {
    given: Given,
    turn: usize,
}

impl DirectDelivery for Connection {
    fn deliver(&mut self, msg: &Published) -> Direct {
        self.deliver_all(std::slice::from_ref(msg)).1
    }

    fn deliver_all(&mut self, msgs: &[Published]) -> (usize, Direct) {
        self.turn += 1;
        let (taken, how) = match self.turn % 4 {
            0 => (0, Direct::Declined),
            1 => (1, Direct::Started),
            2 => (1, Direct::Delivered),
            _ => (msgs.len(), Direct::Delivered),
        };
        let taken = taken.min(msgs.len());
        let mut given = self.given.lock().unwrap();
        given.extend(msgs[..taken].iter().cloned().map(Delivery::Message));
        (taken, if taken == 0 { Direct::Declined } else { how })
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// Publish to topic 0 or 1.
    Publish(usize),
    /// Subscriber 0 or 1 reads what it has.
    Read(usize),
    /// Subscriber 0 or 1 goes away and comes back, resuming where it was.
    Reconnect(usize),
    /// Joins waiting on the backplane complete from now on (slow backplane
    /// only), or stop completing.
    Joins(bool),
    /// Subscriber 0 or 1 says it is idle (after a read that left nothing):
    /// the hub may deliver to it directly.
    Arm(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..2usize).prop_map(Op::Publish),
        3 => (0..2usize).prop_map(Op::Read),
        1 => (0..2usize).prop_map(Op::Reconnect),
        1 => any::<bool>().prop_map(Op::Joins),
        2 => (0..2usize).prop_map(Op::Arm),
    ]
}

const TOPICS: [&str; 2] = ["a", "b"];

/// One subscriber and what it knows: its position in each topic once
/// answered, and the answers it is waiting for.
struct Client {
    sub: Subscription,
    direct: DirectHandle,
    given: Given,
    at: HashMap<String, Position>,
    /// Per topic, whether its join is answered yet.
    answered: HashMap<String, bool>,
    /// Per topic, the position it resumed from (None: a plain join).
    resumed_from: HashMap<String, Option<Position>>,
}

impl Client {
    fn join_all(hub: &Hub, at: &HashMap<String, Position>) -> Self {
        let mut sub = hub.subscribe();
        let mut resumed_from = HashMap::new();
        for topic in TOPICS {
            match at.get(topic) {
                Some(p) => sub.resume(topic, p.clone()).unwrap(),
                None => sub.join(topic).unwrap(),
            }
            resumed_from.insert(topic.to_string(), at.get(topic).cloned());
        }
        let direct = sub.direct_handle();
        let given = Given::default();
        direct.set(Box::new(Connection {
            given: given.clone(),
            turn: 0,
        }));
        Self {
            sub,
            direct,
            given,
            at: at.clone(),
            answered: TOPICS.iter().map(|t| (t.to_string(), false)).collect(),
            resumed_from,
        }
    }

    /// Takes everything ready from the stream, then checks everything given
    /// so far (directly too), in order, against what came before.
    fn read(&mut self, published: &HashMap<String, u64>, config: &HistoryConfig) {
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        while let Poll::Ready(Some(delivery)) = self.sub.poll_next_unpin(&mut cx) {
            self.given.lock().unwrap().push(delivery);
        }
        let given = std::mem::take(&mut *self.given.lock().unwrap());
        for delivery in given {
            self.check(delivery, published, config);
        }
    }

    /// Says the subscriber is idle, if it is: read first, so that nothing
    /// is in hand.
    fn arm(&mut self, published: &HashMap<String, u64>, config: &HistoryConfig) {
        self.read(published, config);
        self.direct.arm();
    }

    fn check(
        &mut self,
        delivery: Delivery,
        published: &HashMap<String, u64>,
        config: &HistoryConfig,
    ) {
        {
            match delivery {
                Delivery::Subscribed {
                    topic,
                    recovered,
                    position,
                } => {
                    let topic = topic.to_string();
                    let from = self.resumed_from[&topic].clone();
                    let total = published.get(&topic).copied().unwrap_or(0);
                    assert!(position.offset <= total);
                    if recovered {
                        // Then the missed messages follow, checked below
                        // one by one: none can be missing.
                        assert_eq!(Some(&position), from.as_ref());
                    } else if let Some(from) = from.as_ref().filter(|f| f.epoch == position.epoch) {
                        // Not recovered: where the topic was when answered,
                        // and the history did not hold all it missed.
                        let missed = position.offset.saturating_sub(from.offset);
                        assert!(
                            missed > config.size as u64 || missed > config.max_resume as u64,
                            "{topic}: {missed} missed from {from:?} were kept, yet not recovered"
                        );
                    }
                    self.at.insert(topic.clone(), position);
                    self.answered.insert(topic, true);
                }
                Delivery::Message(m) => {
                    let topic = m.topic().to_string();
                    assert!(
                        self.answered[&topic],
                        "a message of {topic} before its answer"
                    );
                    let at = &self.at[&topic];
                    assert_eq!(m.epoch(), &at.epoch);
                    assert_eq!(m.offset(), at.offset + 1, "{topic}: not the next one");
                    assert_eq!(&m.data()[..], format!("{topic}{}", m.offset()).as_bytes());
                    self.at.insert(topic, m.position());
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

fn run(ops: Vec<Op>, config: HistoryConfig, slow: bool) {
    let released = Arc::new(AtomicBool::new(!slow));
    let backplane: Arc<dyn Backplane> = if slow {
        Arc::new(SlowJoins {
            inner: MemoryBackplane::new(config),
            released: released.clone(),
        })
    } else {
        Arc::new(MemoryBackplane::new(config))
    };
    let hub_config = HubConfig::default()
        .queue_messages(10_000)
        .drain_interval(Duration::from_millis(1));
    let hub = Hub::with_backplane(hub_config, backplane).unwrap();
    let mut published: HashMap<String, u64> = HashMap::new();
    let mut clients: Vec<Client> = (0..2)
        .map(|_| Client::join_all(&hub, &HashMap::new()))
        .collect();
    for op in ops {
        match op {
            Op::Publish(t) => {
                let topic = TOPICS[t];
                let n = published.entry(topic.to_string()).or_default();
                *n += 1;
                let receipt = hub
                    .publish(topic, format!("{topic}{n}").into())
                    .now_or_never()
                    .unwrap()
                    .unwrap();
                assert_eq!(receipt.position.offset, *n);
            }
            Op::Read(c) => clients[c].read(&published, &config),
            Op::Reconnect(c) => {
                // It resumes from where it got to, in the topics it had
                // been answered in.
                let at = clients[c].at.clone();
                clients[c] = Client::join_all(&hub, &at);
            }
            Op::Joins(on) => released.store(on || !slow, Ordering::Release),
            Op::Arm(c) => clients[c].arm(&published, &config),
        }
    }
    // In the end every client catches up with everything, unbroken (what
    // is out with the writer threads comes, or comes back, soon).
    released.store(true, Ordering::Release);
    for client in &mut clients {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            client.read(&published, &config);
            let caught_up = TOPICS.iter().all(|topic| {
                let total = published.get(*topic).copied().unwrap_or(0);
                client.answered[*topic] && client.at[*topic].offset == total
            });
            if caught_up || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        for topic in TOPICS {
            assert!(client.answered[topic], "{topic} never answered");
            let total = published.get(topic).copied().unwrap_or(0);
            assert_eq!(client.at[topic].offset, total, "{topic}: not caught up");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn every_subscriber_sees_each_topic_unbroken(
        ops in proptest::collection::vec(op(), 1..80),
        size in 0usize..6,
        max_resume in 1usize..6,
        slow in any::<bool>(),
    ) {
        let config = HistoryConfig::default().size(size).max_resume(max_resume);
        run(ops, config, slow);
    }
}

#[test]
fn messages_published_while_a_resume_waits_come_once_after_the_missed_ones() {
    use Op::*;
    let ops = vec![
        Joins(true),
        Publish(0),
        Read(0),
        Joins(false),
        Publish(0),
        Reconnect(0),
        Publish(0),
        Publish(0),
        Read(0),
        Joins(true),
        Read(0),
        Publish(0),
        Read(0),
    ];
    run(ops, HistoryConfig::default(), true);
}
