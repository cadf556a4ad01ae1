//! One buffer per thread for socket reads to land in before their bytes
//! are copied where they belong, so that a connection keeps no read buffer
//! of its own while it waits.

use std::cell::RefCell;

thread_local! {
    /// Zeroed once (futures' `AsyncRead` wants initialised memory), as
    /// large as the largest read asked for on this thread.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `read` with this thread's scratch buffer cut to `len` bytes; the
/// caller copies out what it keeps before returning.
///
/// A read that lands in the scratch and keeps only the bytes it got costs
/// one copy of those bytes, and no memory while nothing arrives: thousands
/// of idle connections share one buffer per thread instead of holding one
/// each. Were the buffer in use (a read inside another read on the same
/// thread), `read` gets a buffer of its own.
///
/// ```
/// use switchyard_frame::with_read_scratch;
///
/// let kept = with_read_scratch(4096, |buf| {
///     assert_eq!(buf.len(), 4096);
///     buf[..5].copy_from_slice(b"bytes");
///     buf[..5].to_vec()
/// });
/// assert_eq!(kept, b"bytes");
/// ```
pub fn with_read_scratch<R>(len: usize, read: impl FnOnce(&mut [u8]) -> R) -> R {
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut scratch) => {
            if scratch.len() < len {
                scratch.resize(len, 0);
            }
            read(&mut scratch[..len])
        }
        Err(_) => read(&mut vec![0; len]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_inside_a_read_gets_its_own_buffer() {
        with_read_scratch(16, |outer| {
            outer.fill(1);
            with_read_scratch(8, |inner| {
                assert_eq!(inner, [0; 8]);
                inner.fill(2);
            });
            assert_eq!(outer, [1; 16]);
        });
    }
}
