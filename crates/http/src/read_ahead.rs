//! Large reads from the socket for a reader that asks for small ones, so
//! that an idle connection keeps no read buffer of its own.
//!
//! The reader this is for is a WebSocket upgraded by the [`HttpServer`](crate::HttpServer)
//! (switchyard-ws). tungstenite reads into its own buffer, at most its configured read size
//! at a time, and allocates that buffer when the connection opens: every
//! idle WebSocket kept 4 KiB for a message that might come. Under
//! [`ReadAhead`] tungstenite is given a small read size (256 bytes) and
//! each read from the socket lands in a scratch chunk shared by all the
//! connections of a thread; what tungstenite did not take is kept in a
//! spare buffer that exists only until it has been taken. The system calls
//! are the ones a large read size would make; the bytes are copied once
//! more.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures::io::{AsyncRead, AsyncWrite, IoSlice};

/// A byte stream whose reads take up to `chunk` bytes from `inner` at once,
/// whatever the reader asks for, and keep the rest until it is asked for.
///
/// Writes go straight through. Nothing is held while no read is under way
/// but bytes already read and not yet taken.
///
/// ```
/// # switchyard_http::rt::block_on(async {
/// use futures::io::{AsyncReadExt, Cursor};
/// use switchyard_http::ReadAhead;
///
/// let mut stream = ReadAhead::new(Cursor::new(b"hello, world".to_vec()), 4096);
/// let mut first = [0u8; 5];
/// stream.read_exact(&mut first).await?;
/// assert_eq!(&first, b"hello");
/// // The rest was read with the first read and is waiting.
/// assert_eq!(stream.spare(), 7);
/// let mut rest = String::new();
/// stream.read_to_string(&mut rest).await?;
/// assert_eq!(rest, ", world");
/// assert_eq!(stream.spare(), 0);
/// # Ok::<_, std::io::Error>(())
/// # }).unwrap();
/// ```
pub struct ReadAhead<S> {
    inner: S,
    /// Bytes read from `inner` and not yet taken: `spare[taken..]`. Empty,
    /// with no allocation, once they have all been taken.
    spare: Vec<u8>,
    taken: usize,
    /// The most bytes one read takes from `inner`.
    chunk: usize,
}

// Not derived: the spare bytes are a peer's data, not for logs.
impl<S: std::fmt::Debug> std::fmt::Debug for ReadAhead<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadAhead")
            .field("inner", &self.inner)
            .field("spare", &self.spare())
            .field("chunk", &self.chunk)
            .finish()
    }
}

impl<S> ReadAhead<S> {
    /// Reads `inner` up to `chunk` bytes at a time (at least 1).
    pub fn new(inner: S, chunk: usize) -> Self {
        Self {
            inner,
            spare: Vec::new(),
            taken: 0,
            chunk: chunk.max(1),
        }
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The stream underneath. Reading from it directly skips the bytes
    /// already read ahead.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Bytes read from the stream and not yet taken by the reader.
    pub fn spare(&self) -> usize {
        self.spare.len() - self.taken
    }

    /// Hands out up to `buf.len()` of the spare bytes, freeing the spare
    /// buffer once it has all been taken.
    fn take_spare(&mut self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(self.spare());
        buf[..n].copy_from_slice(&self.spare[self.taken..self.taken + n]);
        self.taken += n;
        if self.taken == self.spare.len() {
            self.spare = Vec::new();
            self.taken = 0;
        }
        n
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.spare() > 0 || buf.is_empty() {
            return Poll::Ready(Ok(this.take_spare(buf)));
        }
        if buf.len() >= this.chunk {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let (inner, chunk) = (&mut this.inner, this.chunk);
        let (spare, taken) = (&mut this.spare, &mut this.taken);
        switchyard_frame::with_read_scratch(chunk, |scratch| {
            let got = ready!(Pin::new(inner).poll_read(cx, scratch))?;
            let n = got.min(buf.len());
            buf[..n].copy_from_slice(&scratch[..n]);
            if got > n {
                *spare = scratch[n..got].to_vec();
                *taken = 0;
            }
            Poll::Ready(Ok(n))
        })
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use futures::io::{AsyncReadExt, Cursor};
    use proptest::prelude::*;

    use super::*;

    /// A stream that hands out its bytes in the given pieces, one per read
    /// (cut shorter if the reader asks for less), and counts its reads.
    struct Pieces {
        pieces: Vec<Vec<u8>>,
        reads: usize,
    }

    impl AsyncRead for Pieces {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            let this = self.get_mut();
            this.reads += 1;
            let Some(piece) = this.pieces.first_mut() else {
                return Poll::Ready(Ok(0));
            };
            let n = piece.len().min(buf.len());
            buf[..n].copy_from_slice(&piece[..n]);
            piece.drain(..n);
            if piece.is_empty() {
                this.pieces.remove(0);
            }
            Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn small_reads_of_a_large_piece_make_one_read_underneath() {
        let piece: Vec<u8> = (0..=255).cycle().take(4000).collect();
        let mut stream = ReadAhead::new(
            Pieces {
                pieces: vec![piece.clone()],
                reads: 0,
            },
            4096,
        );
        let mut got = Vec::new();
        let mut buf = [0u8; 256];
        switchyard_rt::block_on(async {
            while got.len() < piece.len() {
                let n = stream.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
            }
        });
        assert_eq!(got, piece);
        assert_eq!(stream.get_ref().reads, 1);
        // Everything taken: the spare buffer is gone.
        assert_eq!(stream.spare.capacity(), 0);
    }

    #[test]
    fn a_read_as_large_as_the_chunk_goes_straight_through() {
        let mut stream = ReadAhead::new(Cursor::new(vec![7u8; 100]), 64);
        let mut buf = [0u8; 64];
        let n = switchyard_rt::block_on(stream.read(&mut buf)).unwrap();
        assert_eq!((n, stream.spare()), (64, 0));
    }

    proptest! {
        /// Whatever the pieces underneath, the chunk and the reads asked
        /// for, the reader gets the bytes in order, whole, then the end.
        #[test]
        fn bytes_arrive_whole_and_in_order(
            pieces in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 0..20),
            chunk in 1usize..600,
            asks in proptest::collection::vec(1usize..400, 1..20),
        ) {
            let sent: Vec<u8> = pieces.concat();
            let mut stream = ReadAhead::new(Pieces { pieces, reads: 0 }, chunk);
            let mut got = Vec::new();
            switchyard_rt::block_on(async {
                for ask in asks.iter().cycle() {
                    let mut buf = vec![0u8; *ask];
                    let n = stream.read(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
            });
            prop_assert_eq!(got, sent);
            prop_assert_eq!(stream.spare(), 0);
        }
    }
}
