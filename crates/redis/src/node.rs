//! The node task: one per [`RedisBackplane`](crate::RedisBackplane), it
//! holds the connections to Redis and hands the hub its topics' messages.
//!
//! It connects (with backoff), subscribes every topic the hub wants,
//! brings each up to date (what was missed while cut off, from the
//! history, or the news that it was lost), and then waits for whichever
//! comes first: a pub/sub message, a change in the topics wanted, the
//! periodic check, or the end. It is the only one delivering to the hub,
//! so each topic's messages reach it in order, one at a time.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::future::Either;
use futures::{FutureExt, StreamExt, TryStreamExt};
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::AsyncConnectionConfig;
use switchyard_hub::{HubInbox, Numbered, Position, Recovery, Sequenced};
use switchyard_rt::{Backoff, Timer};

use crate::scripts::{self, within, Failure};
use crate::shared::{Changes, Shared};
use crate::{payload, presence};

/// Topics one SUBSCRIBE or UNSUBSCRIBE names.
const SUBSCRIBE_BATCH: usize = 256;
/// Topics brought up at once (each a resume script) after connecting.
const BRING_UP_CONCURRENCY: usize = 16;
/// How long a message Redis has numbered may take to come through the
/// pub/sub connection before it counts as lost here, at least (and at
/// least one check interval): a busy machine can delay one a few
/// milliseconds, never this long unless something is wrong.
const MIN_OVERDUE: Duration = Duration::from_secs(1);
/// Messages already received that are handed to the hub before a check,
/// at most: the check then compares Redis with what arrived, not with
/// what waits to be read.
const DRAINED_BEFORE_CHECK: usize = 10_000;

/// Why a session ended.
#[derive(Debug)]
enum End {
    /// The backplane was dropped or closed, or its hub is gone.
    Stopped,
    /// A connection failed: why.
    Lost(String),
}

/// Runs until the backplane is dropped or closed, or its hub is gone.
pub(crate) async fn run(shared: Arc<Shared>, inbox: HubInbox) {
    let config = &shared.config;
    let mut backoff = Backoff::new(config.reconnect_min, config.reconnect_max).with_jitter();
    let mut failures = 0u32;
    while !shared.stop.is_triggered() && inbox.is_attached() {
        let start = Box::pin(Session::start(&shared, &inbox));
        let started = match futures::future::select(start, shared.stop.wait()).await {
            Either::Left((started, _)) => started,
            Either::Right(_) => break,
        };
        let reason = match started {
            Ok(mut session) => {
                backoff.reset();
                failures = 0;
                match session.run().await {
                    End::Stopped => break,
                    End::Lost(reason) => {
                        tracing::warn!(%reason, "lost the connection to Redis; reconnecting");
                        reason
                    }
                }
            }
            Err(End::Stopped) => break,
            Err(End::Lost(reason)) => {
                failures += 1;
                if failures == 1 {
                    tracing::warn!(%reason, "cannot connect to Redis; retrying");
                } else {
                    tracing::debug!(%reason, failures, "cannot connect to Redis; retrying");
                }
                reason
            }
        };
        shared.down(&reason);
        let delay = backoff.next_delay();
        let wait =
            futures::future::select(Box::pin(switchyard_rt::sleep(delay)), shared.stop.wait());
        if let Either::Right(_) = wait.await {
            break;
        }
    }
    shared.down("closed");
    tracing::debug!("Redis backplane stopped");
}

/// One connection to Redis (a command connection and a pub/sub one).
struct Session<'a> {
    shared: &'a Shared,
    inbox: &'a HubInbox,
    conn: MultiplexedConnection,
    sink: PubSubSink,
    stream: PubSubStream,
    /// The topics this pub/sub connection is subscribed to.
    subscribed: HashSet<Arc<str>>,
    /// The last message of each topic the pub/sub connection carried.
    heard: HashMap<Arc<str>, Position>,
    /// Topics that were behind Redis at a check, with where Redis was
    /// then, and when: once overdue, the pub/sub connection must have
    /// carried that far.
    suspects: HashMap<Arc<str>, Suspect>,
}

/// Where Redis was in a topic the hub was behind in, and since when.
#[derive(Debug, Clone)]
struct Suspect {
    there: Position,
    since: Instant,
}

/// What woke the session.
enum Wake {
    Stop,
    Changed,
    Check,
    Message(redis::Msg),
    Closed,
}

impl<'a> Session<'a> {
    /// Connects, subscribes every topic wanted and brings each up to date,
    /// then tells everyone the backplane is up.
    async fn start(shared: &'a Shared, inbox: &'a HubInbox) -> Result<Session<'a>, End> {
        let limit = shared.config.request_timeout;
        let settings = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(limit))
            .set_response_timeout(Some(limit));
        let mut conn = within(
            limit,
            "connecting",
            shared
                .client
                .get_multiplexed_async_connection_with_config(&settings),
        )
        .await
        .map_err(lost)?;
        let pubsub = within(
            limit,
            "connecting for pub/sub",
            shared.client.get_async_pubsub(),
        )
        .await
        .map_err(lost)?;
        scripts::load(&mut conn, limit).await.map_err(lost)?;
        let (sink, stream) = pubsub.split();
        let mut session = Session {
            shared,
            inbox,
            conn,
            sink,
            stream,
            subscribed: HashSet::new(),
            heard: HashMap::new(),
            suspects: HashMap::new(),
        };
        let wanted = shared.wanted();
        let topics: Vec<Arc<str>> = wanted.iter().map(|(topic, _)| topic.clone()).collect();
        session.subscribe(&topics).await?;
        let caught_up = session.bring_up(&topics).await?;
        shared.up(session.conn.clone());
        shared.now_flowing(&wanted);
        tracing::info!(
            topics = topics.len(),
            caught_up,
            "connected to Redis; resynced {} topics",
            topics.len()
        );
        Ok(session)
    }

    /// Serves the hub until the connection is lost or the backplane stops.
    async fn run(&mut self) -> End {
        let interval = self.shared.config.check_interval;
        let mut timer = Timer::at(Instant::now() + interval);
        let mut stop = self.shared.stop.wait();
        let mut listener = None;
        loop {
            // Listen before looking, so that a change made in between
            // still wakes this task.
            let changed = listener.get_or_insert_with(|| self.shared.changed.listen());
            if let Some(changes) = self.shared.take_changes() {
                if let Err(end) = self.apply(changes).await {
                    return end;
                }
                continue;
            }
            let stream = &mut self.stream;
            let wake = futures::future::poll_fn(|cx| {
                if Pin::new(&mut stop).poll(cx).is_ready() {
                    return Poll::Ready(Wake::Stop);
                }
                if Pin::new(&mut *changed).poll(cx).is_ready() {
                    return Poll::Ready(Wake::Changed);
                }
                if Pin::new(&mut timer).poll(cx).is_ready() {
                    return Poll::Ready(Wake::Check);
                }
                match stream.poll_next_unpin(cx) {
                    Poll::Ready(Some(msg)) => Poll::Ready(Wake::Message(msg)),
                    Poll::Ready(None) => Poll::Ready(Wake::Closed),
                    Poll::Pending => Poll::Pending,
                }
            })
            .await;
            let done = match wake {
                Wake::Stop => Err(End::Stopped),
                Wake::Changed => {
                    listener = None;
                    Ok(())
                }
                Wake::Check => {
                    let checked = match self.drain().await {
                        Ok(()) => self.check().await,
                        Err(end) => Err(end),
                    };
                    self.renew_names().await;
                    timer.set_at(Instant::now() + interval);
                    checked
                }
                Wake::Message(msg) => self.on_message(&msg).await,
                Wake::Closed => Err(End::Lost("the pub/sub connection closed".to_string())),
            };
            if let Err(end) = done {
                return end;
            }
        }
    }

    /// Renews the names this server holds (presence); a failure is logged
    /// and the names expire unless the next check renews them.
    async fn renew_names(&self) {
        let Ok((id, mut conn)) = self.shared.connection() else {
            return;
        };
        if let Err(failure) = presence::renew(&mut conn, self.shared).await {
            tracing::warn!(%failure, "cannot renew this server's names");
            self.shared.failed(id, failure);
        }
    }

    /// Hands the hub the messages already received.
    async fn drain(&mut self) -> Result<(), End> {
        for _ in 0..DRAINED_BEFORE_CHECK {
            match self.stream.next().now_or_never() {
                Some(Some(msg)) => self.on_message(&msg).await?,
                Some(None) => return Err(End::Lost("the pub/sub connection closed".to_string())),
                None => break,
            }
        }
        Ok(())
    }

    /// Subscribes and unsubscribes as the hub's topics changed.
    async fn apply(&mut self, changes: Changes) -> Result<(), End> {
        if let Some(reason) = changes.broken {
            return Err(End::Lost(format!("a request failed: {reason}")));
        }
        let gone: Vec<Arc<str>> = changes
            .left
            .into_iter()
            .filter(|topic| self.subscribed.contains(topic))
            .collect();
        self.unsubscribe(&gone).await?;
        if changes.joined.is_empty() {
            return Ok(());
        }
        let topics: Vec<Arc<str>> = changes.joined.iter().map(|(t, _)| t.clone()).collect();
        let new: Vec<Arc<str>> = topics
            .iter()
            .filter(|topic| !self.subscribed.contains(*topic))
            .cloned()
            .collect();
        self.subscribe(&new).await?;
        self.bring_up(&topics).await?;
        self.shared.now_flowing(&changes.joined);
        Ok(())
    }

    async fn subscribe(&mut self, topics: &[Arc<str>]) -> Result<(), End> {
        let limit = self.shared.config.request_timeout;
        for batch in topics.chunks(SUBSCRIBE_BATCH) {
            let channels: Vec<String> =
                batch.iter().map(|t| self.shared.names.channel(t)).collect();
            within(limit, "subscribing", self.sink.subscribe(channels))
                .await
                .map_err(lost)?;
            self.subscribed.extend(batch.iter().cloned());
        }
        Ok(())
    }

    async fn unsubscribe(&mut self, topics: &[Arc<str>]) -> Result<(), End> {
        let limit = self.shared.config.request_timeout;
        for batch in topics.chunks(SUBSCRIBE_BATCH) {
            let channels: Vec<String> =
                batch.iter().map(|t| self.shared.names.channel(t)).collect();
            within(limit, "unsubscribing", self.sink.unsubscribe(channels))
                .await
                .map_err(lost)?;
            for topic in batch {
                self.subscribed.remove(topic);
                self.heard.remove(topic);
                self.suspects.remove(topic);
            }
        }
        Ok(())
    }

    /// Brings subscribed topics up to date, once their subscription is
    /// confirmed: a topic the hub has a position in gets what it missed
    /// (or is reset, when that is lost); one it has none in starts where
    /// Redis is now. Returns how many messages were caught up.
    async fn bring_up(&mut self, topics: &[Arc<str>]) -> Result<usize, End> {
        let here: HashMap<Arc<str>, Position> = self
            .inbox
            .topics()
            .into_iter()
            .filter_map(|(topic, position)| Some((topic, position?)))
            .collect();
        let shared = self.shared;
        let requests: Vec<_> = topics
            .iter()
            .map(|topic| (topic.clone(), here.get(topic).cloned(), self.conn.clone()))
            .collect();
        let mut answers = futures::stream::iter(requests)
            .map(|(topic, position, mut conn)| async move {
                let answer = scripts::since(
                    &mut conn,
                    &shared.config,
                    &shared.names,
                    &topic,
                    position.as_ref(),
                )
                .await;
                Ok::<_, End>((topic, position, answer))
            })
            .buffered(BRING_UP_CONCURRENCY);
        let mut caught_up = 0;
        while let Some((topic, position, answer)) = answers.try_next().await? {
            let answer = match answer {
                Ok(answer) => answer,
                Err(failure) if failure.is_connection() => return Err(lost(failure)),
                Err(failure) => {
                    tracing::warn!(%topic, reason = %failure, "cannot bring the topic up to date");
                    continue;
                }
            };
            match (position, answer) {
                (None, Recovery::NotRecovered { current }) => self.inbox.start(&topic, current),
                (_, Recovery::Recovered(missed)) => caught_up += self.deliver_all(&topic, missed),
                (Some(_), Recovery::NotRecovered { current }) => {
                    tracing::info!(%topic, "messages were lost while cut off from Redis");
                    self.inbox.reset(&topic, current);
                }
            }
        }
        Ok(caught_up)
    }

    fn deliver_all(&self, topic: &str, messages: Vec<Numbered>) -> usize {
        let mut delivered = 0;
        for msg in messages {
            if let Sequenced::Delivered(_) = self.inbox.deliver(topic, msg) {
                delivered += 1;
            }
        }
        delivered
    }

    async fn on_message(&mut self, msg: &redis::Msg) -> Result<(), End> {
        let channel = msg.get_channel_name();
        let Some(topic) = self.shared.names.topic_of(channel) else {
            tracing::debug!(%channel, "skipping a message on a channel that is no topic's");
            return Ok(());
        };
        let Some(topic) = self.subscribed.get(topic).cloned() else {
            return Ok(()); // unsubscribed meanwhile
        };
        let numbered = match payload::parse(msg.get_payload_bytes()) {
            Ok(numbered) => numbered,
            Err(e) => {
                tracing::warn!(%topic, error = %e, "skipping a malformed message");
                return Ok(());
            }
        };
        self.heard.insert(topic.clone(), numbered.position());
        if let Sequenced::Gap { after } = self.inbox.deliver(&topic, numbered.clone()) {
            self.catch_up(&topic, &after).await?;
            if let Sequenced::Gap { after } = self.inbox.deliver(&topic, numbered) {
                tracing::debug!(%topic, ?after, "a message still does not follow after catching up");
            }
        }
        Ok(())
    }

    /// Delivers what followed `after` in `topic`, or resets the topic if
    /// that is lost.
    async fn catch_up(&mut self, topic: &Arc<str>, after: &Position) -> Result<(), End> {
        let config = &self.shared.config;
        let answer = scripts::since(
            &mut self.conn,
            config,
            &self.shared.names,
            topic,
            Some(after),
        )
        .await;
        match answer {
            Ok(Recovery::Recovered(missed)) => {
                self.deliver_all(topic, missed);
            }
            Ok(Recovery::NotRecovered { current }) => {
                tracing::info!(%topic, ?after, ?current, "messages were lost; the topic's subscribers are told");
                self.inbox.reset(topic, current);
            }
            Err(failure) if failure.is_connection() => return Err(lost(failure)),
            Err(failure) => {
                tracing::warn!(%topic, reason = %failure, "cannot fetch missed messages");
            }
        }
        Ok(())
    }

    /// Compares each topic's position here with Redis's: fetches what the
    /// hub still lacks of what Redis had at the last check (sooner, it may
    /// be on its way), gives up on a pub/sub connection that carried none
    /// of it, and resets a topic Redis lost messages of.
    async fn check(&mut self) -> Result<(), End> {
        if !self.inbox.is_attached() {
            return Err(End::Stopped);
        }
        let here: Vec<(Arc<str>, Position)> = self
            .inbox
            .topics()
            .into_iter()
            .filter(|(topic, _)| self.subscribed.contains(topic))
            .filter_map(|(topic, position)| Some((topic, position?)))
            .collect();
        let names: Vec<&str> = here.iter().map(|(topic, _)| &**topic).collect();
        let config = &self.shared.config;
        let there = scripts::positions(&mut self.conn, config, &self.shared.names, &names).await;
        let there = match there {
            Ok(there) => there,
            Err(failure) if failure.is_connection() => return Err(lost(failure)),
            Err(failure) => {
                tracing::warn!(reason = %failure, "cannot check the topics' positions");
                return Ok(());
            }
        };
        let now = Instant::now();
        let overdue = self.shared.config.check_interval.max(MIN_OVERDUE);
        let mut silent = None;
        let mut suspects = HashMap::new();
        for ((topic, here), there) in here.into_iter().zip(there) {
            let there = match there {
                // Redis is behind, in another epoch, or has no such topic:
                // it lost messages (restarted from an older file, flushed),
                // and the topic's subscribers are told.
                Some(there) if there.epoch == here.epoch && there.offset >= here.offset => there,
                _ => {
                    self.catch_up(&topic, &here).await?;
                    continue;
                }
            };
            if there.offset == here.offset {
                continue;
            }
            // Redis is ahead: its messages may be on their way. Still
            // missing once overdue, they were lost here: fetched, and the
            // pub/sub connection given up on if it carried none of them.
            let missing = self
                .suspects
                .get(&topic)
                .filter(|then| then.there.epoch == here.epoch && then.there.offset > here.offset)
                .cloned();
            let suspect = match missing {
                Some(then) if now.saturating_duration_since(then.since) >= overdue => {
                    let heard = self.heard.get(&topic).is_some_and(|p| {
                        p.epoch == then.there.epoch && p.offset >= then.there.offset
                    });
                    if !heard {
                        silent = Some((topic.clone(), then.there.offset));
                    }
                    self.catch_up(&topic, &here).await?;
                    Suspect { there, since: now }
                }
                Some(then) => then, // not overdue yet
                None => Suspect { there, since: now },
            };
            suspects.insert(topic, suspect);
        }
        self.suspects = suspects;
        match silent {
            Some((topic, offset)) => Err(End::Lost(format!(
                "the pub/sub connection went silent: {topic}'s offset {offset} never came"
            ))),
            None => Ok(()),
        }
    }
}

fn lost(failure: Failure) -> End {
    End::Lost(failure.to_string())
}
