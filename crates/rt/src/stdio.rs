//! The process's standard input and output as one byte stream, for a
//! session whose peer is the terminal (or a pipe).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{AsyncRead, AsyncWrite};

/// Standard input (read) and standard output (write) as one stream. The
/// runtime reads standard input on a thread of its own; closing the stream
/// flushes standard output (standard input stays open: the process has
/// only one).
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
    stdin: async_std::io::Stdin,
    stdout: async_std::io::Stdout,
}

/// The process's standard input and output, as one [`Stdio`] stream.
pub fn stdio() -> Stdio {
    Stdio {
        stdin: async_std::io::stdin(),
        stdout: async_std::io::stdout(),
    }
}

impl AsyncRead for Stdio {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stdin).poll_read(cx, buf)
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
