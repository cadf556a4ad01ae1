//! [`Framed`]: a byte stream plus a [`Framing`] as a stream and sink of messages.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use futures::io::{AsyncRead, AsyncWrite};
use futures::{Sink, Stream};

use crate::{Error, Framing, Keepalive};

/// Buffer sizes of a [`Framed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct FramedConfig {
    /// Bytes asked of the socket per read. Default 8 KiB: a whole small
    /// message per system call. Reads land in a buffer shared by the
    /// thread's connections, so an idle connection holds none of it.
    /// With [`Raw`](crate::Raw) framing it is also the largest message.
    pub read_chunk: usize,
    /// Encoded bytes buffered before the sink writes them out on its own.
    /// Default 64 KiB: many small messages leave in one write, and a slow
    /// peer holds at most this much (plus one message) per connection.
    pub write_high_water: usize,
}

impl Default for FramedConfig {
    fn default() -> Self {
        Self {
            read_chunk: 8 << 10,
            write_high_water: 64 << 10,
        }
    }
}

impl FramedConfig {
    /// Sets [`read_chunk`](Self::read_chunk) (at least 1).
    pub fn read_chunk(mut self, bytes: usize) -> Self {
        self.read_chunk = bytes.max(1);
        self
    }

    /// Sets [`write_high_water`](Self::write_high_water).
    pub fn write_high_water(mut self, bytes: usize) -> Self {
        self.write_high_water = bytes;
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    /// The byte stream is open.
    Reading,
    /// The byte stream ended; what is buffered is still to be decoded.
    Eof,
    /// Nothing more will come: ended, or a fatal error was returned.
    Done,
}

/// Any `AsyncRead + AsyncWrite` cut into messages by a [`Framing`]: a
/// [`Stream`] of received messages and a [`Sink`] of messages to send.
///
/// The stream yields `Err` for one bad message and goes on when the message
/// was [dropped](crate::ErrorClass::Dropped) (an over-long line); after an
/// error that [breaks](Error::is_broken) the connection, or the end of the
/// byte stream, it yields `None`. A peer that closes in the
/// middle of a frame gives [`Error::UnexpectedEof`], never a hang and never
/// a silently cut message.
///
/// ```
/// # futures::executor::block_on(async {
/// use futures::{io::Cursor, SinkExt, StreamExt};
/// use switchyard_frame::{Bytes, Framed, LengthPrefixed};
///
/// let mut out = Framed::new(Cursor::new(Vec::new()), LengthPrefixed::default());
/// out.send(Bytes::from_static(b"one")).await?;
/// out.send(Bytes::from_static(b"two")).await?;
/// let wire = out.into_inner().into_inner();
///
/// let mut input = Framed::new(Cursor::new(wire), LengthPrefixed::default());
/// assert_eq!(input.next().await.transpose()?, Some(Bytes::from_static(b"one")));
/// assert_eq!(input.next().await.transpose()?, Some(Bytes::from_static(b"two")));
/// assert!(input.next().await.is_none());
/// # Ok::<(), switchyard_frame::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Framed<IO, F> {
    io: IO,
    framing: F,
    config: FramedConfig,
    /// What has been read and not yet cut into messages. Reads land in the
    /// thread's scratch buffer ([`with_read_scratch`](crate::with_read_scratch))
    /// and only the bytes read are copied here: zeroing this buffer's spare
    /// room before each read instead cost a memset of a whole chunk per
    /// read, and a chunk of its own per connection kept 8 KiB for every
    /// idle one. (This buffer keeps at most what the last read brought.)
    read_buf: BytesMut,
    write_buf: BytesMut,
    state: ReadState,
}

impl<IO, F> Framed<IO, F> {
    /// Frames `io` with `framing` and the default buffer sizes.
    pub fn new(io: IO, framing: F) -> Self {
        Self::with_config(io, framing, FramedConfig::default())
    }

    /// Frames `io` with `framing` and the given buffer sizes.
    pub fn with_config(io: IO, framing: F, config: FramedConfig) -> Self {
        Self {
            io,
            framing,
            config,
            read_buf: BytesMut::new(),
            write_buf: BytesMut::new(),
            state: ReadState::Reading,
        }
    }

    /// The underlying byte stream.
    pub fn get_ref(&self) -> &IO {
        &self.io
    }

    /// The underlying byte stream, mutably. Reading from or writing to it
    /// directly corrupts the framing.
    pub fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// The framing.
    pub fn framing(&self) -> &F {
        &self.framing
    }

    /// Bytes received but not yet returned as messages.
    pub fn read_buffered(&self) -> usize {
        self.read_buf.len()
    }

    /// The byte stream back; buffered bytes in either direction are lost.
    pub fn into_inner(self) -> IO {
        self.io
    }
}

impl<IO: AsyncRead + Unpin, F: Framing + Unpin> Stream for Framed<IO, F> {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            let decoded = match this.state {
                ReadState::Done => return Poll::Ready(None),
                ReadState::Eof => this.framing.decode_eof(&mut this.read_buf),
                ReadState::Reading => this.framing.decode(&mut this.read_buf),
            };
            match decoded {
                Ok(Some(msg)) => return Poll::Ready(Some(Ok(msg))),
                Ok(None) if this.state == ReadState::Eof => {
                    this.state = ReadState::Done;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
                Err(e) => {
                    if e.is_broken() || this.state == ReadState::Eof {
                        this.state = ReadState::Done;
                    }
                    return Poll::Ready(Some(Err(e)));
                }
            }
            match ready!(this.poll_fill(cx)) {
                Ok(0) => this.state = ReadState::Eof,
                Ok(_) => {}
                Err(e) => {
                    this.state = ReadState::Done;
                    return Poll::Ready(Some(Err(e.into())));
                }
            }
        }
    }
}

impl<IO: AsyncRead + Unpin, F> Framed<IO, F> {
    /// Reads once from the byte stream into the read buffer, through the
    /// thread's scratch buffer: an idle connection holds none of its own.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let (io, read_buf) = (&mut self.io, &mut self.read_buf);
        crate::with_read_scratch(self.config.read_chunk, |scratch| {
            let polled = loop {
                match Pin::new(&mut *io).poll_read(cx, scratch) {
                    Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
                    other => break other,
                }
            };
            if let Poll::Ready(Ok(n)) = &polled {
                read_buf.extend_from_slice(&scratch[..*n]);
            }
            polled
        })
    }
}

impl<IO: AsyncWrite + Unpin, F> Framed<IO, F> {
    /// Writes out everything buffered for sending.
    fn poll_write_buffered(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while !self.write_buf.is_empty() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.write_buf))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()));
            }
            self.write_buf.advance(n);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncWrite + Unpin, F: Framing + Unpin> Sink<Bytes> for Framed<IO, F> {
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.write_buf.len() >= this.config.write_high_water {
            ready!(this.poll_write_buffered(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, msg: Bytes) -> Result<(), Error> {
        let this = self.get_mut();
        this.framing.encode(&msg, &mut this.write_buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        ready!(this.poll_write_buffered(cx))?;
        Poll::Ready(ready!(Pin::new(&mut this.io).poll_flush(cx)).map_err(Error::from))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        ready!(this.poll_write_buffered(cx))?;
        Poll::Ready(ready!(Pin::new(&mut this.io).poll_close(cx)).map_err(Error::from))
    }
}

/// A byte stream has no heartbeat of its own: its time-outs run as it is
/// read and written (see `switchyard_rt::IdleTimeout`).
impl<IO, F> Keepalive for Framed<IO, F> {
    fn poll_keepalive(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Error> {
        Poll::Pending
    }
}
