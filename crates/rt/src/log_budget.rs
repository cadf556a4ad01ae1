//! [`LogBudget`]: how many log lines about what peers do may be written, so
//! that a flood of bad connections cannot fill the log.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// A budget for log lines that peers cause (refused handshakes, invalid
/// headers): `burst` lines pass at once, then one more every `interval`;
/// the line that passes after some were held back is told how many, so
/// that it can say so.
///
/// ```
/// use std::time::Duration;
/// use switchyard_rt::LogBudget;
///
/// let budget = LogBudget::new(2, Duration::from_secs(60));
/// assert_eq!(budget.admit(), Some(0));
/// assert_eq!(budget.admit(), Some(0));
/// // The burst is spent: held back (and counted) for a minute.
/// assert_eq!(budget.admit(), None);
/// assert_eq!(budget.admit(), None);
/// assert_eq!(budget.held_back(), 2);
/// ```
#[derive(Debug)]
pub struct LogBudget {
    burst: u32,
    interval: Duration,
    state: Mutex<BudgetState>,
}

#[derive(Debug)]
struct BudgetState {
    /// Lines that may pass now.
    tokens: u32,
    /// When the next token is added (while below `burst`).
    refill_at: Instant,
    /// Lines held back since the last that passed.
    held_back: u64,
}

impl LogBudget {
    /// A budget of `burst` lines at once (at least 1), then one every
    /// `interval`.
    pub fn new(burst: u32, interval: Duration) -> Self {
        let burst = burst.max(1);
        Self {
            burst,
            interval,
            state: Mutex::new(BudgetState {
                tokens: burst,
                refill_at: Instant::now() + interval,
                held_back: 0,
            }),
        }
    }

    /// Whether a line may be written now: `Some(n)` if so, `n` being how
    /// many were held back since the last one written; `None` if it is
    /// held back (and counted).
    pub fn admit(&self) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        if state.tokens < self.burst && now >= state.refill_at {
            let periods = now.duration_since(state.refill_at).as_nanos()
                / self.interval.as_nanos().max(1)
                + 1;
            let added = u32::try_from(periods).unwrap_or(u32::MAX);
            state.tokens = state.tokens.saturating_add(added).min(self.burst);
            state.refill_at = now + self.interval;
        }
        if state.tokens == 0 {
            state.held_back += 1;
            return None;
        }
        if state.tokens == self.burst {
            // Refilling starts from the first line taken.
            state.refill_at = now + self.interval;
        }
        state.tokens -= 1;
        Some(std::mem::take(&mut state.held_back))
    }

    /// Lines held back since the last one written.
    pub fn held_back(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .held_back
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_passes_again_after_the_interval_saying_how_many_were_held_back() {
        let budget = LogBudget::new(1, Duration::from_millis(50));
        assert_eq!(budget.admit(), Some(0));
        for _ in 0..5 {
            assert_eq!(budget.admit(), None);
        }
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(budget.admit(), Some(5));
        assert_eq!(budget.admit(), None);
    }

    #[test]
    fn a_quiet_budget_refills_to_its_burst_and_no_further() {
        let budget = LogBudget::new(3, Duration::from_millis(10));
        for _ in 0..3 {
            assert_eq!(budget.admit(), Some(0));
        }
        std::thread::sleep(Duration::from_millis(100));
        for _ in 0..3 {
            assert_eq!(budget.admit(), Some(0));
        }
        assert_eq!(budget.admit(), None);
    }
}
