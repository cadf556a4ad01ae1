//! Property: any sequence of messages, encoded and cut into arbitrary chunks,
//! decodes to the same messages, through `Framed` over a reader that hands
//! out one chunk per read.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::io::AsyncRead;
use futures::{executor::block_on, StreamExt};
use proptest::prelude::*;
use switchyard_frame::{Framed, FramedConfig, Framing, LengthPrefixed, Lines};

/// Yields `wire` in pieces of the given sizes (the last piece takes the rest).
struct Chunked {
    wire: Vec<u8>,
    cuts: Vec<usize>,
    pos: usize,
}

impl AsyncRead for Chunked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let want = self.cuts.pop().unwrap_or(usize::MAX).max(1);
        let n = want.min(buf.len()).min(self.wire.len() - self.pos);
        buf[..n].copy_from_slice(&self.wire[self.pos..self.pos + n]);
        self.pos += n;
        Poll::Ready(Ok(n))
    }
}

fn decode_chunked<F: Framing + Unpin>(framing: F, wire: Vec<u8>, cuts: Vec<usize>) -> Vec<Bytes> {
    let reader = Chunked { wire, cuts, pos: 0 };
    // A small read chunk, so that large messages span many reads too.
    let config = FramedConfig::default().read_chunk(7);
    let framed = Framed::with_config(reader, framing, config);
    block_on(framed.map(|m| m.expect("valid input decodes")).collect())
}

proptest! {
    #[test]
    fn length_prefixed_messages_survive_any_chunking(
        msgs in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20),
        cuts in prop::collection::vec(1usize..64, 0..200),
    ) {
        let mut framing = LengthPrefixed::new(300);
        let mut wire = BytesMut::new();
        for m in &msgs {
            framing.encode(m, &mut wire).unwrap();
        }
        let got = decode_chunked(framing, wire.to_vec(), cuts);
        prop_assert_eq!(got, msgs);
    }

    #[test]
    fn lines_survive_any_chunking_and_either_ending(
        msgs in prop::collection::vec("[^\r\n]{0,80}", 0..20),
        crlf in any::<bool>(),
        cuts in prop::collection::vec(1usize..32, 0..200),
    ) {
        let ending = if crlf { "\r\n" } else { "\n" };
        let wire: String = msgs.iter().map(|m| format!("{m}{ending}")).collect();
        let got = decode_chunked(Lines::new(80 * 4), wire.into_bytes(), cuts);
        let want: Vec<Bytes> = msgs.into_iter().map(Bytes::from).collect();
        prop_assert_eq!(got, want);
    }
}
