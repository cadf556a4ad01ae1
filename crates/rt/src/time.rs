//! Waiting on time.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::{select, Either};
use futures::Stream;

use crate::runtime::Reactor;

/// A timer on the runtime's clock that can be re-armed, for time-outs that
/// move (see [`Deadline`](crate::Deadline)).
///
/// As a [`Future`] it is ready with the instant it fired at, once; an
/// interval's [`Stream`] gives one instant per period. A timer that is not
/// set is pending forever.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use std::time::{Duration, Instant};
/// use futures::StreamExt;
/// use switchyard_rt::Timer;
///
/// let start = Instant::now();
/// let fired = Timer::after(Duration::from_millis(10)).await;
/// assert!(fired >= start + Duration::from_millis(10));
///
/// let ticks: Vec<Instant> = Timer::interval(Duration::from_millis(5)).take(3).collect().await;
/// assert!(ticks.windows(2).all(|pair| pair[1] > pair[0]));
/// # });
/// ```
#[derive(Debug)]
pub struct Timer(Inner);

#[derive(Debug)]
enum Inner {
    #[cfg(async_io)]
    AsyncIo(crate::runtime::async_io::Timer),
    #[cfg(feature = "tokio")]
    Tokio(crate::runtime::tokio::Timer),
    /// With no runtime compiled in, nothing makes a timer.
    #[cfg(not(any(async_io, feature = "tokio")))]
    None(std::convert::Infallible),
}

impl Timer {
    /// A timer that never fires (until [`set_at`](Timer::set_at)).
    pub fn never() -> Self {
        Self(match Reactor::current() {
            #[cfg(async_io)]
            Reactor::AsyncIo => Inner::AsyncIo(crate::runtime::async_io::Timer::never()),
            #[cfg(feature = "tokio")]
            Reactor::Tokio => Inner::Tokio(crate::runtime::tokio::Timer::never()),
        })
    }

    /// A timer that fires at `at`.
    pub fn at(at: Instant) -> Self {
        let mut timer = Self::never();
        timer.set_at(at);
        timer
    }

    /// A timer that fires after `duration`.
    pub fn after(duration: Duration) -> Self {
        Self::at(Instant::now() + duration)
    }

    /// A timer that fires every `period`, the first time one period from
    /// now.
    pub fn interval(period: Duration) -> Self {
        let start = Instant::now() + period;
        Self(match Reactor::current() {
            #[cfg(async_io)]
            Reactor::AsyncIo => {
                Inner::AsyncIo(crate::runtime::async_io::Timer::interval_at(start, period))
            }
            #[cfg(feature = "tokio")]
            Reactor::Tokio => {
                Inner::Tokio(crate::runtime::tokio::Timer::interval_at(start, period))
            }
        })
    }

    /// Sets the timer to fire once at `at`, in place of what it was set to.
    pub fn set_at(&mut self, at: Instant) {
        match &mut self.0 {
            // async-io's `set_at` keeps an interval's period: a new timer
            // fires once.
            #[cfg(async_io)]
            Inner::AsyncIo(timer) => *timer = crate::runtime::async_io::Timer::at(at),
            #[cfg(feature = "tokio")]
            Inner::Tokio(timer) => timer.set_at(at),
            #[cfg(not(any(async_io, feature = "tokio")))]
            Inner::None(never) => match *never {},
        }
    }

    fn poll_fire(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        match &mut self.0 {
            #[cfg(async_io)]
            Inner::AsyncIo(timer) => match Pin::new(timer).poll_next(cx) {
                Poll::Ready(Some(fired)) => Poll::Ready(fired),
                // async-io's timer ends its stream once it will not fire.
                Poll::Ready(None) | Poll::Pending => Poll::Pending,
            },
            #[cfg(feature = "tokio")]
            Inner::Tokio(timer) => timer.poll_fire(cx),
            #[cfg(not(any(async_io, feature = "tokio")))]
            Inner::None(never) => match *never {},
        }
    }
}

impl Future for Timer {
    type Output = Instant;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Instant> {
        self.poll_fire(cx)
    }
}

impl Stream for Timer {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.poll_fire(cx).map(Some)
    }
}

/// Waits for `duration`.
pub async fn sleep(duration: Duration) {
    Timer::after(duration).await;
}

/// Runs `future` for at most `duration`; past that, an
/// [`io::ErrorKind::TimedOut`] error saying what took too long.
///
/// ```
/// # switchyard_rt::block_on(async {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interval_set_at_a_time_fires_once_there() {
        crate::block_on(async {
            let mut timer = Timer::interval(Duration::from_millis(5));
            let at = Instant::now() + Duration::from_millis(10);
            timer.set_at(at);
            assert!(Pin::new(&mut timer).await >= at);
            let again =
                crate::timeout(Duration::from_millis(50), "a second firing", &mut timer).await;
            assert!(again.is_err(), "it fired again: {again:?}");
        });
    }
}
