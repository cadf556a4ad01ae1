//! The accept loop every stream server runs (TCP's [`Server`](crate::Server)
//! and, on Unix, [`UnixServer`](crate::UnixServer)): at most
//! `max_connections` at once (a semaphore: at the limit it waits, and new
//! peers wait in the kernel's backlog), accept errors retried after a
//! back-off, and at a shutdown a grace period, then what is still open shut
//! down by force.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::{select, Either};
use switchyard_rt::{Backoff, Shutdown};

use crate::{ServeReport, ServerConfig};

/// A listening socket, as the accept loop needs it.
pub(crate) trait Listen {
    /// The runtime's stream of an accepted connection (a handle the loop
    /// keeps, to shut it down at the end of the grace period).
    type Stream: Clone + Send + 'static;
    /// Who the peer is.
    type Peer: Send + 'static;

    /// Waits for the next connection.
    fn accept(&self) -> impl Future<Output = io::Result<(Self::Stream, Self::Peer)>> + Send;

    /// Shuts the stream down both ways (the grace period is over).
    fn force_close(stream: &Self::Stream);
}

/// Open connections, so that shutdown can end the ones that outstay the
/// grace period. Bounded by `max_connections`.
type Open<S> = Arc<Mutex<HashMap<u64, S>>>;

/// Accepts on `listener` until `shutdown`, running `handler` on each
/// connection in a task of its own, within `config`'s limits.
pub(crate) async fn accept_loop<L, H, Fut>(
    listener: L,
    config: &ServerConfig,
    shutdown: &Shutdown,
    handler: H,
) -> ServeReport
where
    L: Listen,
    H: Fn(L::Stream, L::Peer) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(async_lock::Semaphore::new(config.max_connections));
    let open: Open<L::Stream> = Arc::default();
    // Every connection task holds a clone; when all are dropped, every
    // connection has finished.
    let (finished_tx, finished) = async_channel::bounded::<()>(1);
    let mut report = ServeReport::default();
    let mut backoff = Backoff::new(Duration::from_millis(5), Duration::from_secs(1));
    let mut next_id = 0u64;

    loop {
        let Some(permit) = until(shutdown, permits.acquire_arc()).await else {
            break;
        };
        let Some(accepted) = until(shutdown, listener.accept()).await else {
            break;
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                report.accept_errors += 1;
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, ?delay, "accept failed; backing off");
                if until(shutdown, switchyard_rt::sleep(delay)).await.is_none() {
                    break;
                }
                continue;
            }
        };
        backoff.reset();
        report.accepted += 1;
        let id = next_id;
        next_id += 1;
        lock(&open).insert(id, stream.clone());
        let task = handler(stream, peer);
        let open = open.clone();
        let finished_tx = finished_tx.clone();
        switchyard_rt::spawn(async move {
            task.await;
            lock(&open).remove(&id);
            drop(permit);
            drop(finished_tx);
        });
    }

    drop(listener);
    drop(finished_tx);
    let grace = config.shutdown_grace;
    if switchyard_rt::timeout(grace, "shutdown", finished.recv())
        .await
        .is_err()
    {
        let stragglers: Vec<L::Stream> = lock(&open).drain().map(|(_, s)| s).collect();
        report.forced = stragglers.len();
        tracing::info!(
            connections = report.forced,
            "grace period over; shutting down"
        );
        for stream in &stragglers {
            L::force_close(stream);
        }
        let _ = finished.recv().await;
    }
    report
}

/// Runs `future` unless shutdown is requested first.
async fn until<F: Future>(shutdown: &Shutdown, future: F) -> Option<F::Output> {
    match select(pin!(future), shutdown.wait()).await {
        Either::Left((output, _)) => Some(output),
        Either::Right(_) => None,
    }
}

fn lock<S>(open: &Open<S>) -> std::sync::MutexGuard<'_, HashMap<u64, S>> {
    open.lock().unwrap_or_else(PoisonError::into_inner)
}
