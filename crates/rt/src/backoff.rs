//! Exponential backoff, for retrying what failed (an accept, a reconnect).

use std::time::Duration;

/// Delays that double from `min` up to `max`, and start over after
/// [`reset`](Backoff::reset).
///
/// ```
/// use std::time::Duration;
/// use switchyard_rt::Backoff;
///
/// let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(35));
/// let delays: Vec<_> = (0..4).map(|_| backoff.next_delay().as_millis()).collect();
/// assert_eq!(delays, [10, 20, 35, 35]);
/// backoff.reset();
/// assert_eq!(backoff.next_delay(), Duration::from_millis(10));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    jitter: bool,
}

impl Backoff {
    /// Delays from `min`, doubling, capped at `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            next: min,
            jitter: false,
        }
    }

    /// Randomizes each delay to between half and all of its value, so that
    /// many clients cut off at once do not all come back at the same instant.
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchyard_rt::Backoff;
    ///
    /// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1)).with_jitter();
    /// let first = backoff.next_delay();
    /// assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
    /// ```
    pub fn with_jitter(mut self) -> Self {
        self.jitter = true;
        self
    }

    /// The delay to wait now; the next one is twice as long, up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).min(self.max);
        if self.jitter {
            delay.mul_f64(0.5 + fastrand::f64() / 2.0)
        } else {
            delay
        }
    }

    /// Starts over from the smallest delay (after a success).
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}
