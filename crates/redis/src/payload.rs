//! The pub/sub payload: `<offset> <epoch> <data>`, made by the publish
//! script in Redis and parsed here. Sans-IO.
//!
//! The offset is decimal, the epoch is `[A-Za-z0-9._-]`, and the data is
//! every byte after the second space, as published (binary-safe: it may
//! hold spaces, newlines, anything). A payload that does not parse is not a
//! message of ours (or not one we can trust): it is logged and skipped.

use bytes::Bytes;
use switchyard_hub::{Epoch, Numbered};

/// The longest epoch taken from a payload, in bytes ([`Epoch::fresh`]
/// makes about 25).
pub(crate) const MAX_EPOCH_LEN: usize = 128;

/// The most digits of a `u64`.
const MAX_OFFSET_DIGITS: usize = 20;

/// The largest offset (or number) taken: Redis counts in signed 64-bit
/// integers, so no offset it gives is larger, and anything that claims
/// one is not from it. It also leaves room to add one.
pub(crate) const MAX_OFFSET: u64 = i64::MAX as u64;

/// Why a payload was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PayloadError {
    /// No space after the offset, or none after the epoch.
    #[error("payload is not `<offset> <epoch> <data>`")]
    Shape,
    /// The offset is not a decimal number from 1 to [`MAX_OFFSET`].
    #[error("payload offset is not a number from 1")]
    Offset,
    /// The epoch is empty, too long, or has characters epochs never have.
    #[error("payload epoch is not valid")]
    Epoch,
}

/// The payload of message `offset` in `epoch`, as the publish script makes
/// it.
#[cfg(test)]
pub(crate) fn encode(offset: u64, epoch: &Epoch, data: &[u8]) -> Vec<u8> {
    let mut out = format!("{offset} {epoch} ").into_bytes();
    out.extend_from_slice(data);
    out
}

/// Whether `epoch` is one a Redis backplane makes or takes: 1 to
/// [`MAX_EPOCH_LEN`] of `A-Z a-z 0-9 . _ -`.
pub(crate) fn is_valid_epoch(epoch: &[u8]) -> bool {
    (1..=MAX_EPOCH_LEN).contains(&epoch.len())
        && epoch
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A decimal number, digits only, at most [`MAX_OFFSET`].
pub(crate) fn parse_offset(digits: &[u8]) -> Option<u64> {
    if digits.is_empty()
        || digits.len() > MAX_OFFSET_DIGITS
        || !digits.iter().all(u8::is_ascii_digit)
    {
        return None;
    }
    let number: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (number <= MAX_OFFSET).then_some(number)
}

/// The message a payload carries.
pub(crate) fn parse(payload: &[u8]) -> Result<Numbered, PayloadError> {
    let mut parts = payload.splitn(3, |b| *b == b' ');
    let (Some(offset), Some(epoch), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(PayloadError::Shape);
    };
    let offset = parse_offset(offset)
        .filter(|o| *o > 0)
        .ok_or(PayloadError::Offset)?;
    if !is_valid_epoch(epoch) {
        return Err(PayloadError::Epoch);
    }
    // Checked above: ASCII only.
    let epoch = String::from_utf8_lossy(epoch);
    Ok(Numbered {
        offset,
        epoch: Epoch::new(epoch.as_ref()),
        data: Bytes::copy_from_slice(data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payload_round_trips_with_any_bytes() {
        let epoch = Epoch::fresh();
        for data in [
            &b""[..],
            b"hello",
            b"with spaces  and\r\nlines",
            &[0, 255, b' ', 7],
        ] {
            let msg = parse(&encode(42, &epoch, data)).unwrap();
            assert_eq!((msg.offset, &msg.epoch, &msg.data[..]), (42, &epoch, data));
        }
        let max = parse(&encode(MAX_OFFSET, &Epoch::new("e"), b"x")).unwrap();
        assert_eq!(max.offset, MAX_OFFSET);
    }

    #[test]
    fn malformed_payloads_are_refused() {
        let cases: &[(&[u8], PayloadError)] = &[
            (b"", PayloadError::Shape),
            (b"12", PayloadError::Shape),
            (b"12 epoch", PayloadError::Shape),
            (b" e data", PayloadError::Offset),
            (b"0 e data", PayloadError::Offset),
            (b"-1 e data", PayloadError::Offset),
            (b"+1 e data", PayloadError::Offset),
            (b"1.5 e data", PayloadError::Offset),
            (b"9223372036854775808 e d", PayloadError::Offset),
            (b"18446744073709551616 e d", PayloadError::Offset),
            (b"000000000000000000001 e d", PayloadError::Offset),
            (b"\xff e d", PayloadError::Offset),
            (b"1  data", PayloadError::Epoch),
            (b"1 ep:och data", PayloadError::Epoch),
            (b"1 \xc3\xa9 data", PayloadError::Epoch),
        ];
        for (payload, expected) in cases {
            assert_eq!(parse(payload).as_ref().err(), Some(expected), "{payload:?}");
        }
        let long = format!("1 {} d", "e".repeat(MAX_EPOCH_LEN + 1));
        assert_eq!(parse(long.as_bytes()), Err(PayloadError::Epoch));
        let longest = format!("1 {} d", "e".repeat(MAX_EPOCH_LEN));
        assert!(parse(longest.as_bytes()).is_ok());
    }

    #[test]
    fn leading_zeros_within_the_digit_limit_are_the_same_number() {
        assert_eq!(parse(b"007 e x").map(|m| m.offset), Ok(7));
        assert_eq!(parse_offset(b""), None);
    }
}
