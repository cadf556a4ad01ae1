//! The publisher task: sends publishes to Redis in the order they were
//! made, several at a time on the command connection.
//!
//! A publish starts when [`Backplane::publish`](switchyard_hub::Backplane::publish)
//! is called, as the hub promises, not when its future is first polled: it
//! is queued then (a bounded queue: past [`QUEUED`], a publish fails at
//! once), and a publish whose future is dropped still happens. One task
//! takes them in order and sends each before the next, so two publishes
//! made one after the other are numbered in that order.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::channel::oneshot;
use futures::StreamExt;
use switchyard_hub::{BackplaneError, PublishReceipt};

use crate::scripts;
use crate::shared::Shared;

/// Publishes queued and not yet sent, at most.
pub(crate) const QUEUED: usize = 1024;
/// Publishes awaiting Redis's answer at once, at most.
const IN_FLIGHT: usize = 64;

/// One publish, waiting to be sent.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) topic: String,
    pub(crate) data: Bytes,
    pub(crate) key: Option<String>,
    /// When it fails if not answered.
    pub(crate) deadline: Instant,
    pub(crate) answer: oneshot::Sender<Result<PublishReceipt, BackplaneError>>,
}

/// Sends `requests` until every sender is gone.
pub(crate) async fn run(shared: Arc<Shared>, requests: async_channel::Receiver<Request>) {
    requests
        .map(|request| publish(&shared, request))
        .buffered(IN_FLIGHT)
        .for_each(|()| futures::future::ready(()))
        .await;
}

async fn publish(shared: &Shared, request: Request) {
    let Request {
        topic,
        data,
        key,
        deadline,
        answer,
    } = request;
    let result = async {
        let (id, mut conn) = shared.connection()?;
        let limit = deadline.saturating_duration_since(Instant::now());
        if limit.is_zero() {
            return Err(BackplaneError::Down {
                reason: "timed out waiting to be sent".to_string(),
            });
        }
        let config = &shared.config;
        let published = scripts::publish(
            &mut conn,
            config,
            &shared.names,
            &topic,
            &data,
            key.as_deref(),
            limit,
        )
        .await
        .map_err(|failure| {
            if failure.is_connection() {
                shared.broken(id, &failure.to_string());
            }
            failure.into_error()
        })?;
        Ok(PublishReceipt::new(published.position, published.duplicate))
    }
    .await;
    // The caller may have stopped waiting: the publish happened all the same.
    let _ = answer.send(result);
}
