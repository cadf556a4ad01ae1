//! [`TopicHistory`]: one topic's numbered messages, kept for a while so that
//! a subscriber that was away can be given exactly what it missed.
//!
//! Every message published to a topic gets the next **offset** (1, 2, 3...)
//! and the topic's **epoch**, which names this run of offsets: when the
//! history is lost (a restart without persistence), the epoch changes, and
//! a position from the old epoch can no longer be trusted. A subscriber
//! keeps the position of the last message it received and, coming back,
//! asks for what followed it ([`TopicHistory::since`]): either exactly the
//! missed messages, in order, or a plain "not recovered" when the history
//! no longer covers the gap, so that the application reloads its state
//! instead of silently missing messages.
//!
//! Sans-IO: time is passed in, nothing here waits or spawns.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;

/// Names one run of a topic's offsets; a new epoch means the old offsets
/// mean nothing any more.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Epoch(Arc<str>);

impl Epoch {
    /// An epoch of this name.
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    /// A fresh epoch, unlike any other this process makes: the time it
    /// was made and a random part.
    pub fn fresh() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        Self::new(format!("{nanos:x}-{:08x}", fastrand::u32(..)))
    }

    /// The epoch's name, as it goes on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Epoch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a subscriber is in a topic: the offset of the last message it
/// received (0 for none yet), in an epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The last offset received; 0 before the first message.
    pub offset: u64,
    /// The epoch that offset belongs to.
    pub epoch: Epoch,
}

/// One published message with its place in its topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Numbered {
    /// The message's offset in its topic, from 1.
    pub offset: u64,
    /// The topic's epoch when it was published.
    pub epoch: Epoch,
    /// The message.
    pub data: Bytes,
}

impl Numbered {
    /// Where a subscriber that received it is: its offset and epoch.
    pub fn position(&self) -> Position {
        Position {
            offset: self.offset,
            epoch: self.epoch.clone(),
        }
    }
}

/// How much of a topic's past is kept, and how much one resume may take.
///
/// The default keeps each topic's last 100 messages for 5 minutes;
/// [`off`](Self::off) keeps none (offsets are still given, and a
/// subscriber that missed nothing resumes), and is what a hub without
/// history ([`Hub::new`](crate::Hub::new)) uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct HistoryConfig {
    /// Messages kept per topic; older ones are forgotten. Default 100: a
    /// page that reconnects after a blip misses a few, not thousands.
    pub size: usize,
    /// How long a message is kept. Default 5 minutes: a reconnect after a
    /// network blip or a deploy, not a day away.
    pub ttl: Duration,
    /// The most messages one resume returns; a larger gap is "not
    /// recovered" (the application reloads) rather than an unbounded read.
    /// Default 1000.
    pub max_resume: usize,
    /// Topics with history kept at most. Default 10,000: topic names come
    /// from clients, and each topic's history is up to `size` messages.
    pub max_topics: usize,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        Self {
            size: 100,
            ttl: Duration::from_secs(300),
            max_resume: 1000,
            max_topics: 10_000,
        }
    }
}

impl HistoryConfig {
    /// No history: offsets only.
    pub fn off() -> Self {
        Self::default().size(0)
    }

    /// Whether messages are kept at all.
    pub fn is_on(&self) -> bool {
        self.size > 0
    }

    /// Sets [`size`](Self::size).
    pub fn size(mut self, messages: usize) -> Self {
        self.size = messages;
        self
    }

    /// Sets [`ttl`](Self::ttl).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets [`max_resume`](Self::max_resume).
    pub fn max_resume(mut self, messages: usize) -> Self {
        self.max_resume = messages;
        self
    }

    /// Sets [`max_topics`](Self::max_topics) (at least 1).
    pub fn max_topics(mut self, topics: usize) -> Self {
        self.max_topics = topics.max(1);
        self
    }
}

/// The answer to a resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    /// Exactly the messages after the position, in order (none if it was
    /// current).
    Recovered(Vec<Numbered>),
    /// The history does not cover the gap (forgotten, expired, over the
    /// resume limit) or the epoch changed: here is where the topic is now.
    NotRecovered {
        /// The topic's current position: its last offset and epoch.
        current: Position,
    },
}

/// One topic's numbered messages.
///
/// ```
/// use std::time::{Duration, Instant};
/// use switchyard_hub::{Epoch, HistoryConfig, Position, Recovery, TopicHistory};
///
/// let now = Instant::now();
/// let mut news = TopicHistory::new(Epoch::new("e1"), HistoryConfig::default().size(2));
/// for text in ["a", "b", "c"] {
///     news.append(text.into(), now);
/// }
/// // A subscriber that saw offset 1 ("a") missed "b" and "c": both kept.
/// let back = news.since(&Position { offset: 1, epoch: Epoch::new("e1") }, now);
/// let Recovery::Recovered(missed) = back else { panic!("{back:?}") };
/// assert_eq!(missed.iter().map(|m| m.offset).collect::<Vec<_>>(), [2, 3]);
/// // One that saw nothing missed "a" too, which only 2 kept messages lost.
/// let back = news.since(&Position { offset: 0, epoch: Epoch::new("e1") }, now);
/// assert!(matches!(back, Recovery::NotRecovered { .. }));
/// ```
#[derive(Debug, Clone)]
pub struct TopicHistory {
    config: HistoryConfig,
    epoch: Epoch,
    /// The offset of the last message published (0: none).
    last: u64,
    /// The kept messages, oldest first, with when each was published.
    kept: VecDeque<(Instant, Numbered)>,
}

impl TopicHistory {
    /// An empty topic in `epoch`.
    pub fn new(epoch: Epoch, config: HistoryConfig) -> Self {
        Self {
            config,
            epoch,
            last: 0,
            kept: VecDeque::new(),
        }
    }

    /// Where the topic is: its last offset and its epoch.
    pub fn position(&self) -> Position {
        Position {
            offset: self.last,
            epoch: self.epoch.clone(),
        }
    }

    /// Numbers `data` with the next offset, keeps it (forgetting the oldest
    /// past the size), and returns it numbered.
    pub fn append(&mut self, data: Bytes, now: Instant) -> Numbered {
        self.last += 1;
        let numbered = Numbered {
            offset: self.last,
            epoch: self.epoch.clone(),
            data,
        };
        if self.config.size > 0 {
            self.kept.push_back((now, numbered.clone()));
            while self.kept.len() > self.config.size {
                self.kept.pop_front();
            }
        }
        self.expire(now);
        numbered
    }

    /// Whether no message is kept.
    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    /// When the newest kept message was published.
    pub fn newest(&self) -> Option<Instant> {
        self.kept.back().map(|(at, _)| *at)
    }

    /// Forgets messages older than the time-to-live.
    pub fn expire(&mut self, now: Instant) {
        while self
            .kept
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) >= self.config.ttl)
        {
            self.kept.pop_front();
        }
    }

    /// What followed `position`: every message after it, if the history
    /// still holds all of them and they are at most `max_resume`.
    pub fn since(&mut self, position: &Position, now: Instant) -> Recovery {
        self.expire(now);
        let not_recovered = Recovery::NotRecovered {
            current: self.position(),
        };
        if position.epoch != self.epoch || position.offset > self.last {
            return not_recovered;
        }
        let missed = self.last - position.offset;
        if missed == 0 {
            return Recovery::Recovered(Vec::new());
        }
        // The first missed offset must still be kept, and not too many.
        let oldest = self.kept.front().map_or(self.last + 1, |(_, m)| m.offset);
        if position.offset + 1 < oldest || missed > self.config.max_resume as u64 {
            return not_recovered;
        }
        let skip = (position.offset + 1 - oldest) as usize;
        Recovery::Recovered(
            self.kept
                .iter()
                .skip(skip)
                .map(|(_, m)| m.clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(config: HistoryConfig) -> TopicHistory {
        TopicHistory::new(Epoch::new("e"), config)
    }

    fn at(offset: u64) -> Position {
        Position {
            offset,
            epoch: Epoch::new("e"),
        }
    }

    fn offsets(recovery: Recovery) -> Option<Vec<u64>> {
        match recovery {
            Recovery::Recovered(missed) => Some(missed.iter().map(|m| m.offset).collect()),
            Recovery::NotRecovered { .. } => None,
        }
    }

    #[test]
    fn every_position_the_history_covers_gets_exactly_what_followed_it() {
        let now = Instant::now();
        let mut t = topic(HistoryConfig::default().size(5));
        for i in 0..12u8 {
            let m = t.append(Bytes::from(vec![i]), now);
            assert_eq!(m.offset, u64::from(i) + 1);
        }
        // Kept: 8..=12. From 7 on, everything that followed is there.
        for from in 0..=12u64 {
            let expected = (from >= 7).then(|| (from + 1..=12).collect::<Vec<_>>());
            assert_eq!(offsets(t.since(&at(from), now)), expected, "from {from}");
        }
        // A position ahead of the topic, or of another epoch: not trusted.
        assert_eq!(offsets(t.since(&at(13), now)), None);
        let other = Position {
            offset: 12,
            epoch: Epoch::new("old"),
        };
        assert_eq!(
            t.since(&other, now),
            Recovery::NotRecovered { current: at(12) }
        );
    }

    #[test]
    fn expired_messages_are_not_recovered_and_a_resume_is_bounded() {
        let start = Instant::now();
        let config = HistoryConfig::default()
            .size(100)
            .ttl(Duration::from_secs(10))
            .max_resume(3);
        let mut t = topic(config);
        t.append("old".into(), start);
        t.append("new".into(), start + Duration::from_secs(8));
        let later = start + Duration::from_secs(12);
        assert_eq!(offsets(t.since(&at(1), later)), Some(vec![2]));
        assert_eq!(offsets(t.since(&at(0), later)), None, "offset 1 expired");
        for _ in 0..4 {
            t.append("more".into(), later);
        }
        // Offsets 3..=6 after 2: four, over the limit of three.
        assert_eq!(offsets(t.since(&at(2), later)), None);
        assert_eq!(offsets(t.since(&at(3), later)), Some(vec![4, 5, 6]));
    }

    #[test]
    fn without_history_only_a_current_position_is_recovered() {
        let now = Instant::now();
        let mut t = topic(HistoryConfig::default().size(0));
        t.append("a".into(), now);
        assert_eq!(offsets(t.since(&at(1), now)), Some(vec![]));
        assert_eq!(offsets(t.since(&at(0), now)), None);
        assert_ne!(Epoch::fresh(), Epoch::fresh());
    }

    proptest::proptest! {
        /// Against a model that keeps everything: a resume is recovered
        /// exactly when every missed message is among the last `size`,
        /// younger than the time-to-live and at most `max_resume`, and then
        /// it is exactly the missed messages.
        #[test]
        fn a_resume_matches_a_model_that_keeps_everything(
            gaps in proptest::collection::vec(0u64..5, 0..40),
            size in 0usize..8,
            ttl in 1u64..20,
            max_resume in 0usize..8,
            queries in proptest::collection::vec((0u64..45, 0u64..30), 1..10),
        ) {
            let start = Instant::now();
            let config = HistoryConfig::default().size(size).ttl(Duration::from_secs(ttl)).max_resume(max_resume);
            let mut t = topic(config);
            let mut published = Vec::new(); // (offset, seconds)
            let mut clock = 0;
            for gap in gaps {
                clock += gap;
                let m = t.append(Bytes::new(), start + Duration::from_secs(clock));
                published.push((m.offset, clock));
            }
            let last = published.len() as u64;
            // Time only moves on: each query a little later than the last.
            let mut now_s = clock;
            for (from, extra) in queries {
                now_s += extra;
                let got = offsets(t.since(&at(from), start + Duration::from_secs(now_s)));
                let missed: Vec<&(u64, u64)> = published.iter().filter(|(o, _)| *o > from).collect();
                let kept_from = last.saturating_sub(size as u64); // offsets above this are kept
                let expected = (from <= last
                    && missed.len() <= max_resume
                    && missed.iter().all(|(o, at)| *o > kept_from && now_s - at < ttl))
                    .then(|| missed.iter().map(|(o, _)| *o).collect::<Vec<_>>());
                // Nothing missed is always recovered, whatever the limits.
                let expected = if from == last { Some(vec![]) } else { expected };
                proptest::prop_assert_eq!(got, expected, "from {} at {}s", from, now_s);
            }
        }
    }
}
