//! Waiting on time.

use std::future::Future;
use std::io;
use std::time::Duration;

use futures::future::{select, Either};

/// A timer that can be re-armed, for time-outs that move (see
/// [`IdleTimeout`](crate::IdleTimeout)).
pub use async_io::Timer;

/// Waits for `duration`.
pub async fn sleep(duration: Duration) {
    Timer::after(duration).await;
}

/// Runs `future` for at most `duration`; past that, an
/// [`io::ErrorKind::TimedOut`] error saying what took too long.
///
/// ```
/// # async_std::task::block_on(async {
/// use std::time::Duration;
///
/// let slow = switchyard_rt::sleep(Duration::from_secs(60));
/// let err = switchyard_rt::timeout(Duration::from_millis(10), "nap", slow).await.unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
/// assert_eq!(err.to_string(), "nap timed out after 10ms");
/// # });
/// ```
pub async fn timeout<F: Future>(
    duration: Duration,
    what: &str,
    future: F,
) -> io::Result<F::Output> {
    let future = std::pin::pin!(future);
    match select(future, Timer::after(duration)).await {
        Either::Left((output, _)) => Ok(output),
        Either::Right(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what} timed out after {duration:?}"),
        )),
    }
}
