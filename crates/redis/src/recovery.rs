//! What a resume gets, from what the resume script read in Redis: the
//! rules of [`TopicHistory::since`](switchyard_hub::TopicHistory::since),
//! applied to a topic kept in Redis. Sans-IO: Redis's clock is passed in.

use bytes::Bytes;
use switchyard_hub::{HistoryConfig, Numbered, Position, Recovery};

use crate::config::millis;

/// One kept message, as the resume script reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Kept {
    /// Its offset.
    pub(crate) offset: u64,
    /// When it was published, in Redis's clock (ms since the Unix epoch).
    pub(crate) at_ms: u64,
    /// The message.
    pub(crate) data: Bytes,
}

/// What the resume script read: the topic's position, Redis's clock, and
/// the kept messages after the position asked about (oldest first; none
/// when they could not make a resume).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Snapshot {
    /// The topic's last offset and its epoch.
    pub(crate) current: Position,
    /// Redis's clock when it read them (ms since the Unix epoch).
    pub(crate) now_ms: u64,
    /// Kept messages after the position asked about.
    pub(crate) kept: Vec<Kept>,
}

/// The answer to a resume from `position` (none: a plain join), given what
/// Redis holds: exactly the messages after it when the history has all of
/// them, unexpired, and they are at most `max_resume`; otherwise the
/// topic's current position.
pub(crate) fn decide(
    position: Option<&Position>,
    snapshot: Snapshot,
    history: &HistoryConfig,
) -> Recovery {
    let Snapshot {
        current,
        now_ms,
        kept,
    } = snapshot;
    let Some(position) = position else {
        return Recovery::NotRecovered { current };
    };
    if position.epoch != current.epoch || position.offset > current.offset {
        return Recovery::NotRecovered { current };
    }
    let missed = current.offset - position.offset;
    if missed == 0 {
        return Recovery::Recovered(Vec::new());
    }
    if !history.is_on() || missed > history.max_resume as u64 {
        return Recovery::NotRecovered { current };
    }
    // As TopicHistory::expire: the oldest kept messages past the
    // time-to-live are gone.
    let ttl = millis(history.ttl);
    let fresh = kept
        .into_iter()
        .skip_while(|k| now_ms.saturating_sub(k.at_ms) >= ttl)
        .filter(|k| k.offset > position.offset);
    let mut missed_messages = Vec::new();
    for (next, k) in (position.offset + 1..).zip(fresh) {
        if k.offset != next || next > current.offset {
            // The first missed one is gone (or the history has holes, which
            // the publish script never makes): not all of them are here.
            return Recovery::NotRecovered { current };
        }
        missed_messages.push(Numbered {
            offset: k.offset,
            epoch: current.epoch.clone(),
            data: k.data,
        });
    }
    if missed_messages.len() as u64 != missed {
        return Recovery::NotRecovered { current };
    }
    Recovery::Recovered(missed_messages)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use switchyard_hub::Epoch;

    use super::*;

    fn at(offset: u64) -> Position {
        Position {
            offset,
            epoch: Epoch::new("e"),
        }
    }

    /// A topic at `last`, keeping `offsets`, each published at `published`
    /// ms; read at `now` ms.
    fn snapshot(
        last: u64,
        offsets: impl IntoIterator<Item = u64>,
        published: u64,
        now: u64,
    ) -> Snapshot {
        Snapshot {
            current: at(last),
            now_ms: now,
            kept: offsets
                .into_iter()
                .map(|offset| Kept {
                    offset,
                    at_ms: published,
                    data: Bytes::from(offset.to_string()),
                })
                .collect(),
        }
    }

    fn offsets(recovery: Recovery) -> Option<Vec<u64>> {
        match recovery {
            Recovery::Recovered(missed) => Some(missed.iter().map(|m| m.offset).collect()),
            Recovery::NotRecovered { .. } => None,
        }
    }

    fn history() -> HistoryConfig {
        HistoryConfig::default()
            .size(10)
            .ttl(Duration::from_secs(60))
            .max_resume(5)
    }

    #[test]
    fn exactly_the_missed_messages_or_the_current_position() {
        let h = history();
        // Kept 8..=12 (what the script returns after each position).
        let after = |from: u64| snapshot(12, (from + 1).max(8)..=12, 1_000, 2_000);
        assert_eq!(offsets(decide(Some(&at(12)), after(12), &h)), Some(vec![]));
        assert_eq!(
            offsets(decide(Some(&at(9)), after(9), &h)),
            Some(vec![10, 11, 12])
        );
        assert_eq!(
            offsets(decide(Some(&at(7)), after(7), &h)),
            Some(vec![8, 9, 10, 11, 12])
        );
        // Offset 7 is not kept.
        assert_eq!(offsets(decide(Some(&at(6)), after(6), &h)), None);
        // Ahead of the topic, another epoch, or no position: the current one.
        assert_eq!(offsets(decide(Some(&at(13)), after(13), &h)), None);
        let other = Position {
            offset: 12,
            epoch: Epoch::new("old"),
        };
        assert_eq!(
            decide(Some(&other), after(12), &h),
            Recovery::NotRecovered { current: at(12) }
        );
        assert_eq!(
            decide(None, after(12), &h),
            Recovery::NotRecovered { current: at(12) }
        );
    }

    #[test]
    fn too_many_expired_or_missing_messages_are_not_recovered() {
        let h = history();
        // Six missed, over max_resume (5), though all are kept.
        assert_eq!(
            offsets(decide(Some(&at(6)), snapshot(12, 7..=12, 0, 0), &h)),
            None
        );
        // Older than the time-to-live (60 s) at Redis's clock.
        assert_eq!(
            offsets(decide(Some(&at(10)), snapshot(12, 11..=12, 0, 60_000), &h)),
            None
        );
        assert_eq!(
            offsets(decide(Some(&at(10)), snapshot(12, 11..=12, 0, 59_999), &h)),
            Some(vec![11, 12])
        );
        // A hole, or fewer kept than missed.
        assert_eq!(
            offsets(decide(Some(&at(9)), snapshot(12, [10, 12], 0, 0), &h)),
            None
        );
        assert_eq!(
            offsets(decide(Some(&at(9)), snapshot(12, 10..=11, 0, 0), &h)),
            None
        );
        // History off: only a current position is recovered.
        let off = HistoryConfig::off();
        assert_eq!(
            offsets(decide(Some(&at(11)), snapshot(12, [12], 0, 0), &off)),
            None
        );
        assert_eq!(
            offsets(decide(Some(&at(12)), snapshot(12, [], 0, 0), &off)),
            Some(vec![])
        );
    }

    #[test]
    fn only_the_oldest_expired_ones_are_dropped() {
        let h = history();
        let mut snap = snapshot(12, 11..=12, 100_000, 100_000);
        // An older message after a newer one (Redis's clock went back): as
        // in TopicHistory, only expired messages at the front are gone.
        snap.kept[1].at_ms = 0;
        assert_eq!(offsets(decide(Some(&at(10)), snap, &h)), Some(vec![11, 12]));
    }
}
