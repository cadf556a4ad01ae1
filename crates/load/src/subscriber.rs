//! One `fanout` subscriber: reads its deliveries, at full speed or, if it
//! is one of the slow ones, resting after each while messages are
//! published; and says how its connection ended.
//!
//! What a slow subscriber leaves unread waits in its socket, then in the
//! server's socket, then in the hub's queue for it, and only a full queue
//! gets it cut off. The kernel alone holds about 4 MB per connection on
//! loopback (the sender's buffer is sized from loopback's 64 KiB segments
//! when the connection is made), so a subscriber is cut off only once it is
//! that much plus a full queue behind the others.
//!
//! A cut-off subscriber finds out only after reading what was already on
//! its way to it: once publishing is over, every subscriber reads at full
//! speed until nothing has come for [`DRAIN`], its connection ends, or the
//! run's last moment.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::{select, Either};
use futures::StreamExt;
use switchyard_endpoint::WsSide;
use switchyard_rt::Timer;

use crate::report::Tally;
use crate::stamp::latency_nanos;

/// How long a subscriber waits for one more delivery once publishing is
/// over before it stops reading; what has not come by then is missing.
const DRAIN: Duration = Duration::from_secs(2);

/// The close code a push server cuts a slow consumer off with.
const SLOW_CONSUMER: u16 = 1008;

/// How a subscriber's connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Open until the subscriber stopped reading.
    Open,
    /// The server closed it with 1008, its "slow consumer".
    SlowConsumer,
    /// It ended otherwise: with another close code, an error, or no close
    /// frame at all. A server that cuts off a subscriber whose socket is
    /// full cannot get its close frame through, and drops the connection.
    Lost,
}

/// How one subscriber's reading went (what it received is in the tally it
/// was given).
#[derive(Debug)]
pub struct Outcome {
    /// The first delivery's latency, in nanoseconds: the first message to
    /// a new subscriber may take the server longer than the next ones.
    pub first: Option<u64>,
    /// How its connection ended.
    pub end: End,
}

/// When a subscriber stops reading.
#[derive(Debug, Clone)]
pub struct Until {
    /// Closed when publishing is over.
    pub over: async_channel::Receiver<()>,
    /// The latest moment to read until, whatever is still coming.
    pub last: Instant,
}

/// Reads `conn`'s deliveries into `tally` (shared by the subscribers of a
/// kind: a latency histogram each would take 200 KB per subscriber, and
/// tens of thousands of them had the load generator zeroing pages instead
/// of reading), latency measured from a stamp made `start`'s way
/// (`stamp::stamped`), resting for `rest` after each while publishing goes
/// on (none: a fast subscriber).
pub async fn read(
    mut conn: WsSide,
    start: Instant,
    rest: Option<Duration>,
    until: Until,
    tally: Arc<Mutex<Tally>>,
) -> Outcome {
    let mut first = None;
    let mut publishing = true;
    let end = loop {
        let next = if publishing {
            match unless(conn.next(), until.over.recv()).await {
                Some(next) => next,
                None => {
                    publishing = false;
                    continue;
                }
            }
        } else {
            let quiet = (Instant::now() + DRAIN).min(until.last);
            match unless(conn.next(), Timer::at(quiet)).await {
                Some(next) => next,
                None => break End::Open,
            }
        };
        match next {
            Some(Ok(msg)) => {
                if let Some(nanos) = latency_nanos(start, &msg) {
                    let later = first.is_some();
                    first.get_or_insert(nanos);
                    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
                    tally.record_latency(nanos);
                    if later {
                        tally.record_later(nanos);
                    }
                    tally.messages += 1;
                    crate::wire::received(1);
                    tally.bytes += msg.len() as u64;
                }
            }
            Some(Err(_)) | None => break how_it_ended(&conn),
        }
        if let (Some(rest), true) = (rest, publishing) {
            publishing = unless(switchyard_rt::sleep(rest), until.over.recv())
                .await
                .is_some();
        }
    };
    Outcome { first, end }
}

fn how_it_ended(conn: &WsSide) -> End {
    match conn.get_ref().peer_close() {
        Some(close) if close.code == SLOW_CONSUMER => End::SlowConsumer,
        _ => End::Lost,
    }
}

/// `work`'s output, or none if `stop` is done first. `work` is dropped
/// then: only a cancel-safe future may be given (a stream's `next`).
async fn unless<T>(work: impl Future<Output = T>, stop: impl Future) -> Option<T> {
    futures::pin_mut!(work, stop);
    match select(work, stop).await {
        Either::Left((done, _)) => Some(done),
        Either::Right(_) => None,
    }
}
