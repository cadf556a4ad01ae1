//! The process's standard input and output as one byte stream, for a
//! session whose peer is the terminal (or a pipe).

use std::io::{self, BufRead};
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite, Stream};

/// Standard input (read) and standard output (write) as one stream.
///
/// Standard input is read by one thread for the whole process, a line (or
/// 64 KiB) at a time, into a queue of one: every `Stdio` reads from it,
/// so what one session did not read is there for the next (one made per
/// session would lose the line its abandoned read had taken). Closing the
/// stream flushes standard output; standard input stays open.
///
/// ```no_run
/// # switchyard_rt::block_on(async {
/// use futures::{AsyncReadExt, AsyncWriteExt};
///
/// let mut io = switchyard_rt::stdio();
/// let mut line = [0u8; 64];
/// let n = io.read(&mut line).await?;
/// io.write_all(&line[..n]).await?; // an echo of what was typed
/// io.flush().await?;
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct Stdio {
    input: Pin<Box<async_channel::Receiver<io::Result<Vec<u8>>>>>,
    /// What was taken from the queue and not yet read, and how far.
    chunk: Vec<u8>,
    at: usize,
    /// Written from a blocking thread, so that a slow terminal or pipe
    /// holds no task's thread.
    stdout: blocking::Unblock<io::Stdout>,
}

/// The largest piece of standard input read at once (a longer line comes
/// in pieces).
const CHUNK: usize = 64 << 10;

/// The process's standard input and output, as one [`Stdio`] stream.
pub fn stdio() -> Stdio {
    Stdio {
        input: Box::pin(input().clone()),
        chunk: Vec::new(),
        at: 0,
        stdout: blocking::Unblock::new(io::stdout()),
    }
}

/// The queue the standard input thread fills, started on first use. It
/// ends (the channel closes) at the end of input or on an error, which is
/// passed on first.
fn input() -> &'static async_channel::Receiver<io::Result<Vec<u8>>> {
    static INPUT: OnceLock<async_channel::Receiver<io::Result<Vec<u8>>>> = OnceLock::new();
    INPUT.get_or_init(|| {
        let (sender, receiver) = async_channel::bounded(1);
        let spawned = std::thread::Builder::new()
            .name("switchyard-stdin".into())
            .spawn(move || {
                let stdin = io::stdin();
                let mut lines = io::BufReader::with_capacity(CHUNK, stdin.lock());
                loop {
                    let piece = match lines.fill_buf() {
                        // The end of input: the queue closes with the thread.
                        Ok([]) => return,
                        Ok(available) => {
                            let end = available
                                .iter()
                                .position(|&b| b == b'\n')
                                .map_or(available.len(), |i| i + 1);
                            let piece = available[..end].to_vec();
                            lines.consume(end);
                            Ok(piece)
                        }
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => Err(e),
                    };
                    let failed = piece.is_err();
                    if sender.send_blocking(piece).is_err() || failed {
                        return;
                    }
                }
            });
        if let Err(e) = spawned {
            // No thread: the stream says so at its first read.
            let (sender, receiver) = async_channel::bounded(1);
            let _ = sender.try_send(Err(e));
            return receiver;
        }
        receiver
    })
}

impl AsyncRead for Stdio {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.at == this.chunk.len() {
            match this.input.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(Ok(0)),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(e)),
                Poll::Ready(Some(Ok(chunk))) => {
                    this.chunk = chunk;
                    this.at = 0;
                }
            }
        }
        let n = buf.len().min(this.chunk.len() - this.at);
        buf[..n].copy_from_slice(&this.chunk[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Stdio {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdout).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stdout).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Standard output is flushed, not closed: the process may print more.
        Pin::new(&mut self.stdout).poll_flush(cx)
    }
}
