//! What a [`RedisBackplane`](crate::RedisBackplane) and its node task share:
//! the status, the command connection, and the topics the hub wants, with
//! the events that say when any of them changed.
//!
//! The wanted topics are a map bounded by the hub's topics (one entry per
//! topic the hub has subscribers of); no queue of changes is kept, only the
//! sets of topics joined and left since the node task last looked (each at
//! most one entry per topic), so a burst of joins and leaves costs one
//! pass, whatever its length.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use event_listener::Event;
use redis::aio::MultiplexedConnection;
use switchyard_hub::{BackplaneError, BackplaneStatus};
use switchyard_rt::Shutdown;

use crate::keys::Names;
use crate::RedisConfig;

/// Shared by the backplane, its node task and its publisher task.
pub(crate) struct Shared {
    pub(crate) config: RedisConfig,
    pub(crate) names: Names,
    pub(crate) client: redis::Client,
    state: Mutex<State>,
    /// Wakes the node task: the wanted topics changed, or the command
    /// connection failed.
    pub(crate) changed: Event,
    /// Wakes whoever waits for a topic to flow, or for the status to
    /// change.
    pub(crate) flowing: Event,
    /// Stops the node task (the backplane was dropped or closed).
    pub(crate) stop: Shutdown,
    /// The names this server holds, per room, renewed at every check:
    /// bounded by the claims made (one per chat connection).
    pub(crate) claims: Mutex<HashMap<String, HashSet<String>>>,
    /// Who this server is, as the holder of the names it claims: unique
    /// to this backplane (the time it was made and a random part).
    pub(crate) holder: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state();
        f.debug_struct("Shared")
            .field("config", &self.config)
            .field("status", &state.status)
            .field("topics", &state.topics.len())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
struct State {
    status: BackplaneStatus,
    /// The command connection while up, with its number.
    conn: Option<(u64, MultiplexedConnection)>,
    connections: u64,
    /// The topics the hub has subscribers of.
    topics: HashMap<Arc<str>, Wanted>,
    /// Numbers each join, so that a topic left and joined again while the
    /// node task brought it up is brought up again.
    joins: u64,
    /// Topics joined since the node task last looked (each in `topics`).
    joined: HashSet<Arc<str>>,
    /// Topics left since the node task last looked (none in `topics`).
    left: HashSet<Arc<str>>,
    /// A request on the current command connection failed: why.
    broken: Option<String>,
}

#[derive(Debug, Clone, Copy)]
struct Wanted {
    join: u64,
    /// Subscribed, and the hub told where the topic starts, on the current
    /// connection.
    flowing: bool,
}

/// Where a topic is, for a join waiting on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Its messages reach the hub.
    Flowing,
    /// The node task has yet to subscribe it.
    Pending,
    /// The hub left it meanwhile.
    Left,
    /// The backplane is down.
    Down(String),
}

/// What the node task has to do after a change.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    /// The topics to subscribe and bring up, each with its join's number.
    pub(crate) joined: Vec<(Arc<str>, u64)>,
    /// The topics to unsubscribe.
    pub(crate) left: Vec<Arc<str>>,
    /// Why the command connection must be replaced, if it must.
    pub(crate) broken: Option<String>,
}

impl Shared {
    pub(crate) fn new(config: RedisConfig, client: redis::Client) -> Self {
        Self {
            names: Names::new(&config.prefix),
            config,
            client,
            state: Mutex::new(State {
                status: BackplaneStatus::Down {
                    reason: "not connected yet".to_string(),
                },
                conn: None,
                connections: 0,
                topics: HashMap::new(),
                joins: 0,
                joined: HashSet::new(),
                left: HashSet::new(),
                broken: None,
            }),
            changed: Event::new(),
            flowing: Event::new(),
            stop: Shutdown::new(),
            claims: Mutex::default(),
            holder: switchyard_hub::Epoch::fresh().as_str().to_string(),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What a request's `failure` on connection `id` means to its caller;
    /// a failed connection is marked for replacement.
    pub(crate) fn failed(&self, id: u64, failure: crate::scripts::Failure) -> BackplaneError {
        if failure.is_connection() {
            self.broken(id, &failure.to_string());
        }
        failure.into_error()
    }

    pub(crate) fn status(&self) -> BackplaneStatus {
        self.state().status.clone()
    }

    /// The command connection and its number, or why there is none.
    pub(crate) fn connection(&self) -> Result<(u64, MultiplexedConnection), BackplaneError> {
        let state = self.state();
        match (&state.conn, &state.status) {
            (Some((id, conn)), _) => Ok((*id, conn.clone())),
            (None, BackplaneStatus::Down { reason }) => Err(BackplaneError::Down {
                reason: reason.clone(),
            }),
            (None, _) => Err(BackplaneError::Down {
                reason: "not connected".to_string(),
            }),
        }
    }

    /// A request on command connection `id` failed for want of a
    /// connection: the node task replaces it (if it is still the current
    /// one).
    pub(crate) fn broken(&self, id: u64, reason: &str) {
        let mut state = self.state();
        if state
            .conn
            .as_ref()
            .is_some_and(|(current, _)| *current == id)
            && state.broken.is_none()
        {
            state.broken = Some(reason.to_string());
            drop(state);
            self.changed.notify(1);
        }
    }

    /// The hub wants `topic`: where it is now.
    pub(crate) fn want(&self, topic: &str) -> Flow {
        let mut state = self.state();
        if let BackplaneStatus::Down { reason } = &state.status {
            return Flow::Down(reason.clone());
        }
        if let Some(wanted) = state.topics.get(topic) {
            return if wanted.flowing {
                Flow::Flowing
            } else {
                Flow::Pending
            };
        }
        state.joins += 1;
        let join = state.joins;
        let topic: Arc<str> = topic.into();
        state.topics.insert(
            topic.clone(),
            Wanted {
                join,
                flowing: false,
            },
        );
        state.left.remove(&topic);
        state.joined.insert(topic);
        drop(state);
        self.changed.notify(1);
        Flow::Pending
    }

    /// The hub no longer wants `topic`.
    pub(crate) fn unwant(&self, topic: &str) {
        let mut state = self.state();
        if let Some((topic, _)) = state.topics.remove_entry(topic) {
            state.joined.remove(&topic);
            state.left.insert(topic);
            drop(state);
            self.changed.notify(1);
            // A join still waiting on it is answered.
            self.flowing.notify(usize::MAX);
        }
    }

    /// Where `topic` is, for a join waiting on it.
    pub(crate) fn flow(&self, topic: &str) -> Flow {
        let state = self.state();
        if let BackplaneStatus::Down { reason } = &state.status {
            return Flow::Down(reason.clone());
        }
        match state.topics.get(topic) {
            Some(wanted) if wanted.flowing => Flow::Flowing,
            Some(_) => Flow::Pending,
            None => Flow::Left,
        }
    }

    /// What changed since the node task last looked, if anything did.
    pub(crate) fn take_changes(&self) -> Option<Changes> {
        let mut state = self.state();
        if state.joined.is_empty() && state.left.is_empty() && state.broken.is_none() {
            return None;
        }
        let State {
            topics,
            joined,
            left,
            broken,
            ..
        } = &mut *state;
        Some(Changes {
            joined: joined
                .drain()
                .filter_map(|topic| {
                    let join = topics.get(&topic)?.join;
                    Some((topic, join))
                })
                .collect(),
            left: left.drain().collect(),
            broken: broken.take(),
        })
    }

    /// Every topic wanted now, with its join's number: all of them are
    /// to be brought up (after connecting).
    pub(crate) fn wanted(&self) -> Vec<(Arc<str>, u64)> {
        let mut state = self.state();
        state.joined.clear();
        state.left.clear();
        state
            .topics
            .iter()
            .map(|(topic, wanted)| (topic.clone(), wanted.join))
            .collect()
    }

    /// These topics now flow (those not left or joined again since), and
    /// their joins are answered.
    pub(crate) fn now_flowing(&self, topics: &[(Arc<str>, u64)]) {
        let mut state = self.state();
        for (topic, join) in topics {
            if let Some(wanted) = state.topics.get_mut(topic) {
                if wanted.join == *join {
                    wanted.flowing = true;
                }
            }
        }
        drop(state);
        self.flowing.notify(usize::MAX);
    }

    /// Connected, with command connection `conn`: returns its number.
    pub(crate) fn up(&self, conn: MultiplexedConnection) -> u64 {
        let mut state = self.state();
        state.connections += 1;
        let id = state.connections;
        state.conn = Some((id, conn));
        state.status = BackplaneStatus::Up;
        state.broken = None;
        drop(state);
        self.flowing.notify(usize::MAX);
        id
    }

    /// Cut off from Redis: nothing flows until the node task is up again.
    pub(crate) fn down(&self, reason: &str) {
        let mut state = self.state();
        state.status = BackplaneStatus::Down {
            reason: reason.to_string(),
        };
        state.conn = None;
        state.broken = None;
        for wanted in state.topics.values_mut() {
            wanted.flowing = false;
        }
        drop(state);
        self.flowing.notify(usize::MAX);
    }
}
