//! [`RedisBackplane`]: the [`Backplane`] a hub shares its topics through
//! Redis with.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Instant;

use bytes::Bytes;
use futures::channel::oneshot;
use futures::future::{ready, BoxFuture};
use futures::FutureExt;
use switchyard_hub::{
    is_valid_topic, Backplane, BackplaneError, BackplaneStatus, HubInbox, Position, Presence,
    PublishReceipt, Recovery,
};

use crate::keys::MAX_PUBLISH_KEY_LEN;
use crate::publisher::{self, Request, QUEUED};
use crate::shared::{Flow, Shared};
use crate::{node, presence, scripts, RedisConfig};

/// A [`Backplane`] through Redis: the hubs of several servers, each with
/// its own `RedisBackplane` on the same Redis, share their topics. A
/// message published on any server is numbered in Redis (one counter per
/// topic, for every server), kept in the topic's history if
/// [`RedisConfig::history`] is on, and delivered to every server whose hub
/// has subscribers of the topic, in order, each message once; a subscriber
/// that comes back on another server resumes where it was.
///
/// Made with [`new`](Self::new), which does not connect; the hub's
/// [`Hub::with_backplane`](switchyard_hub::Hub::with_backplane) attaches
/// it, which starts its task: it connects (and reconnects, with backoff),
/// and is [`BackplaneStatus::Down`] until it is connected. Dropping the
/// hub (and every other handle on the backplane), or [`close`](Self::close),
/// stops it.
///
/// ```no_run
/// # switchyard_redis::rt::block_on(async {
/// use futures::StreamExt;
/// use switchyard_redis::hub::{Delivery, HistoryConfig, Hub, HubConfig};
/// use switchyard_redis::{RedisBackplane, RedisConfig};
///
/// let config = RedisConfig::new("redis://127.0.0.1:6379/").history(HistoryConfig::default());
/// let backplane = RedisBackplane::new(config)?;
/// let hub = Hub::with_backplane(HubConfig::default(), backplane.clone())?;
/// backplane.connected().await;
///
/// let mut sub = hub.subscribe();
/// sub.join("news")?;
/// let Some(Delivery::Subscribed { .. }) = sub.next().await else { panic!() };
/// // Published here or by any server on the same Redis:
/// let receipt = hub.publish("news", "hello".into()).await?;
/// let Some(Delivery::Message(msg)) = sub.next().await else { panic!() };
/// assert_eq!(msg.position(), receipt.position);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
pub struct RedisBackplane {
    shared: Arc<Shared>,
    inbox: OnceLock<HubInbox>,
    requests: async_channel::Sender<Request>,
    /// Taken by [`Backplane::attach`], which starts the publisher task.
    publisher: Mutex<Option<async_channel::Receiver<Request>>>,
}

impl std::fmt::Debug for RedisBackplane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackplane")
            .field("shared", &self.shared)
            .field("attached", &self.inbox.get().is_some())
            .finish_non_exhaustive()
    }
}

impl RedisBackplane {
    /// A backplane for the Redis server at [`RedisConfig::url`]. Checks
    /// the URL and returns at once: it connects once attached to a hub.
    ///
    /// ```
    /// use switchyard_redis::hub::{BackplaneError, BackplaneStatus, Backplane};
    /// use switchyard_redis::{RedisBackplane, RedisConfig};
    ///
    /// let backplane = RedisBackplane::new(RedisConfig::new("redis://127.0.0.1:6379/"))?;
    /// assert!(matches!(backplane.status(), BackplaneStatus::Down { .. }));
    /// let wrong = RedisBackplane::new(RedisConfig::new("http://127.0.0.1/"));
    /// assert!(matches!(wrong, Err(BackplaneError::Failed { .. })));
    /// # Ok::<(), BackplaneError>(())
    /// ```
    pub fn new(config: RedisConfig) -> Result<Arc<Self>, BackplaneError> {
        let client =
            redis::Client::open(config.url.as_str()).map_err(|e| BackplaneError::Failed {
                reason: format!("invalid Redis URL: {e}"),
            })?;
        let (requests, publisher) = async_channel::bounded(QUEUED);
        Ok(Arc::new(Self {
            shared: Arc::new(Shared::new(config, client)),
            inbox: OnceLock::new(),
            requests,
            publisher: Mutex::new(Some(publisher)),
        }))
    }

    /// Its configuration.
    pub fn config(&self) -> &RedisConfig {
        &self.shared.config
    }

    /// Resolves once it is [`BackplaneStatus::Up`] (at once if it is): for
    /// a server that would rather not take subscribers before it can serve
    /// them. Race it with a timeout: a Redis that never answers keeps it
    /// waiting.
    pub async fn connected(&self) {
        loop {
            let listener = self.shared.flowing.listen();
            if self.status() == BackplaneStatus::Up {
                return;
            }
            listener.await;
        }
    }

    /// Disconnects and stops for good: from now on it is
    /// [`BackplaneStatus::Down`], and every publish and join fails.
    /// Dropping it does the same.
    pub fn close(&self) {
        self.shared.stop.trigger();
        self.requests.close();
    }

    fn inbox(&self) -> Result<&HubInbox, BackplaneError> {
        self.inbox.get().ok_or(BackplaneError::Detached)
    }
}

impl Drop for RedisBackplane {
    fn drop(&mut self) {
        self.close();
    }
}

/// Why `topic` is not taken, if it is not.
fn check_topic(topic: &str) -> Result<(), BackplaneError> {
    if is_valid_topic(topic) {
        Ok(())
    } else {
        Err(BackplaneError::Failed {
            reason: "not a valid topic name (1 to 128 of A-Z a-z 0-9 . _ -)".to_string(),
        })
    }
}

impl Backplane for RedisBackplane {
    fn attach(&self, inbox: HubInbox) -> Result<(), BackplaneError> {
        self.inbox
            .set(inbox.clone())
            .map_err(|_| BackplaneError::AlreadyAttached)?;
        let publisher = self
            .publisher
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(requests) = publisher {
            drop(switchyard_rt::spawn(publisher::run(
                self.shared.clone(),
                requests,
            )));
        }
        drop(switchyard_rt::spawn(node::run(self.shared.clone(), inbox)));
        Ok(())
    }

    fn publish(
        &self,
        topic: &str,
        data: Bytes,
        key: Option<&str>,
    ) -> BoxFuture<'static, Result<PublishReceipt, BackplaneError>> {
        let queued = (|| {
            check_topic(topic)?;
            if key.is_some_and(|key| key.len() > MAX_PUBLISH_KEY_LEN) {
                return Err(BackplaneError::Failed {
                    reason: format!("publish key over {MAX_PUBLISH_KEY_LEN} bytes"),
                });
            }
            self.inbox()?;
            if let BackplaneStatus::Down { reason } = self.status() {
                return Err(BackplaneError::Down { reason });
            }
            let (answer, answered) = oneshot::channel();
            let request = Request {
                topic: topic.to_string(),
                data,
                key: key.map(str::to_string),
                deadline: Instant::now() + self.shared.config.request_timeout,
                answer,
            };
            self.requests
                .try_send(request)
                .map_err(|e| BackplaneError::Down {
                    reason: if e.is_full() {
                        format!("{QUEUED} publishes already waiting to be sent")
                    } else {
                        "closed".to_string()
                    },
                })?;
            Ok(answered)
        })();
        match queued {
            Ok(answered) => async move {
                answered.await.unwrap_or_else(|_| {
                    Err(BackplaneError::Down {
                        reason: "closed".to_string(),
                    })
                })
            }
            .boxed(),
            Err(e) => ready(Err(e)).boxed(),
        }
    }

    fn join(&self, topic: &str) -> BoxFuture<'static, Result<(), BackplaneError>> {
        if let Err(e) = check_topic(topic).and_then(|()| self.inbox().map(drop)) {
            return ready(Err(e)).boxed();
        }
        match self.shared.want(topic) {
            Flow::Flowing => return ready(Ok(())).boxed(),
            Flow::Down(reason) => return ready(Err(BackplaneError::Down { reason })).boxed(),
            Flow::Pending | Flow::Left => {}
        }
        let shared = self.shared.clone();
        let topic: Arc<str> = topic.into();
        async move {
            let flowing = async {
                loop {
                    let listener = shared.flowing.listen();
                    match shared.flow(&topic) {
                        Flow::Flowing => return Ok(()),
                        Flow::Down(reason) => return Err(BackplaneError::Down { reason }),
                        Flow::Left => {
                            return Err(BackplaneError::Failed {
                                reason: "the topic was left before it was joined".to_string(),
                            })
                        }
                        Flow::Pending => listener.await,
                    }
                }
            };
            let limit = shared.config.request_timeout;
            switchyard_rt::timeout(limit, "joining the topic", flowing)
                .await
                .unwrap_or_else(|timed_out| {
                    Err(BackplaneError::Down {
                        reason: timed_out.to_string(),
                    })
                })
        }
        .boxed()
    }

    fn leave(&self, topic: &str) {
        self.shared.unwant(topic);
    }

    fn since(
        &self,
        topic: &str,
        position: Option<&Position>,
    ) -> BoxFuture<'static, Result<Recovery, BackplaneError>> {
        let connection = check_topic(topic)
            .and_then(|()| self.inbox().map(drop))
            .and_then(|()| self.shared.connection());
        let (id, mut conn) = match connection {
            Ok(connection) => connection,
            Err(e) => return ready(Err(e)).boxed(),
        };
        let shared = self.shared.clone();
        let topic = topic.to_string();
        let position = position.cloned();
        async move {
            scripts::since(
                &mut conn,
                &shared.config,
                &shared.names,
                &topic,
                position.as_ref(),
            )
            .await
            .map_err(|failure| shared.failed(id, failure))
        }
        .boxed()
    }

    fn status(&self) -> BackplaneStatus {
        self.shared.status()
    }
}

/// Members of chat rooms kept in Redis, across every server sharing it: a
/// claim is held while this server runs and expires
/// [`RedisConfig::presence_ttl`] after it stops renewing it (a crashed
/// server's members disappear).
impl Presence for RedisBackplane {
    /// Held while this server runs: renewed at every check, gone
    /// [`RedisConfig::presence_ttl`] after the server stops renewing.
    fn claim(&self, room: &str, name: &str) -> BoxFuture<'static, Result<bool, BackplaneError>> {
        let connection = check_topic(room).and_then(|()| self.shared.connection());
        let (id, mut conn) = match connection {
            Ok(connection) => connection,
            Err(e) => return ready(Err(e)).boxed(),
        };
        let shared = self.shared.clone();
        let (room, name) = (room.to_string(), name.to_string());
        async move {
            let place = (room.as_str(), name.as_str());
            let claimed = presence::claim(
                &mut conn,
                &shared.config,
                &shared.names,
                place,
                &shared.holder,
            )
            .await
            .map_err(|failure| shared.failed(id, failure))?;
            if claimed {
                shared
                    .claims
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .entry(room)
                    .or_default()
                    .insert(name);
            }
            Ok(claimed)
        }
        .boxed()
    }

    fn release(&self, room: &str, name: &str) {
        {
            let mut claims = self
                .shared
                .claims
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !presence::forget(&mut claims, room, name) {
                return;
            }
        }
        // Must not wait: given back in the background. If Redis is down,
        // the name expires instead (it is no longer renewed).
        let Ok((id, mut conn)) = self.shared.connection() else {
            return;
        };
        let shared = self.shared.clone();
        let (room, name) = (room.to_string(), name.to_string());
        drop(switchyard_rt::spawn(async move {
            let limit = shared.config.request_timeout;
            if let Err(failure) = presence::release(
                &mut conn,
                limit,
                &shared.names,
                (&room, &name),
                &shared.holder,
            )
            .await
            {
                tracing::debug!(%room, %name, %failure, "a name not given back: it expires");
                shared.failed(id, failure);
            }
        }));
    }

    fn members(&self, room: &str) -> BoxFuture<'static, Result<Vec<String>, BackplaneError>> {
        let connection = check_topic(room).and_then(|()| self.shared.connection());
        let (id, mut conn) = match connection {
            Ok(connection) => connection,
            Err(e) => return ready(Err(e)).boxed(),
        };
        let shared = self.shared.clone();
        let room = room.to_string();
        async move {
            presence::members(&mut conn, &shared.config, &shared.names, &room)
                .await
                .map_err(|failure| shared.failed(id, failure))
        }
        .boxed()
    }
}
