//! Send times carried inside messages, so that latency can be measured
//! from the copy that comes back (or is delivered elsewhere).

use std::time::Instant;

/// The marker around a timestamp: `#<nanoseconds since the run began>#`,
/// findable anywhere in a message (a push server may wrap it in JSON).
const MARK: u8 = b'#';

/// A message of `size` bytes (at least the stamp's) carrying `now`.
pub fn stamped(start: Instant, size: usize) -> bytes::Bytes {
    let nanos = start.elapsed().as_nanos() as u64;
    let mut msg = format!("#{nanos:020}#").into_bytes();
    msg.resize(size.max(msg.len()), b'.');
    msg.into()
}

/// The smallest stamped message.
pub const STAMP_LEN: usize = 22;

/// Nanoseconds from the stamp in `msg` to now, if `msg` has one.
pub fn latency_nanos(start: Instant, msg: &[u8]) -> Option<u64> {
    // Only where a mark is: a push server's envelope puts the stamp some
    // way in, and trying every window there cost a tenth of a busy
    // load generator's time.
    let at = memchr::memchr_iter(MARK, msg).find(|&at| {
        msg.get(at..at + STAMP_LEN).is_some_and(|w| {
            w[STAMP_LEN - 1] == MARK && w[1..STAMP_LEN - 1].iter().all(u8::is_ascii_digit)
        })
    })?;
    let digits = std::str::from_utf8(&msg[at + 1..at + STAMP_LEN - 1]).ok()?;
    let sent: u64 = digits.parse().ok()?;
    Some((start.elapsed().as_nanos() as u64).saturating_sub(sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_found_where_it_is() {
        let start = Instant::now();
        let msg = stamped(start, 64);
        assert_eq!(msg.len(), 64);
        assert!(latency_nanos(start, &msg).is_some());
        let wrapped = format!("{{\"message\":\"{}\"}}", String::from_utf8_lossy(&msg));
        assert!(latency_nanos(start, wrapped.as_bytes()).is_some());
        // A mark that starts no stamp is passed over.
        let after_marks = format!("#1# ## {}", String::from_utf8_lossy(&msg));
        assert!(latency_nanos(start, after_marks.as_bytes()).is_some());
        assert!(latency_nanos(start, &msg[..STAMP_LEN - 1]).is_none());
        assert_eq!(stamped(start, 4).len(), STAMP_LEN);
        assert!(latency_nanos(start, b"#123#").is_none());
    }
}
