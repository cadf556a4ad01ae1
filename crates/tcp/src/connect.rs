//! Dialing a TCP server.

use std::io;
use std::time::Duration;

use switchyard_frame::{Framed, Framing};
use switchyard_rt::net::{Address, TcpStream as RuntimeTcpStream};

use crate::{TcpKeepalive, TcpStream};

/// The default connect time-out, 10 s: long enough for a slow network, short
/// enough that a client gives up on a server that is not there.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects to `addr`, trying each address it resolves to in turn, each for
/// at most `timeout`. The stream has `TCP_NODELAY` set (switchyard writes
/// whole messages, and Nagle's delay only adds latency to them) and TCP
/// keepalive with the [default timings](TcpKeepalive) (a server whose host
/// is gone is found); [`TcpStream::set_keepalive`] changes them.
///
/// The error names the address that failed:
///
/// ```
/// # switchyard_tcp::rt::block_on(async {
/// use std::time::Duration;
///
/// // Port 9 on loopback (discard) is almost never listening.
/// let err = switchyard_tcp::connect("127.0.0.1:9", Duration::from_secs(1)).await.unwrap_err();
/// assert!(err.to_string().starts_with("connect to 127.0.0.1:9: "), "{err}");
/// # });
/// ```
pub async fn connect(addr: impl Into<Address>, timeout: Duration) -> io::Result<TcpStream> {
    let mut last_error = None;
    for addr in addr.into().resolve().await? {
        let attempt =
            switchyard_rt::timeout(timeout, "connect", RuntimeTcpStream::connect(addr)).await;
        match attempt.and_then(|connected| connected) {
            Ok(stream) => {
                stream.set_nodelay(true)?;
                TcpKeepalive::apply(Some(&TcpKeepalive::default()), &stream)?;
                return Ok(TcpStream::new(stream));
            }
            Err(e) => {
                last_error = Some(io::Error::new(e.kind(), format!("connect to {addr}: {e}")))
            }
        }
    }
    Err(last_error.unwrap_or_else(|| {
        io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
    }))
}

/// Connects to `addr` (see [`connect`]) and frames the stream.
///
/// ```no_run
/// # switchyard_tcp::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_tcp::{connect_framed, LengthPrefixed, DEFAULT_CONNECT_TIMEOUT};
///
/// let mut conn = connect_framed("127.0.0.1:7001", LengthPrefixed::default(), DEFAULT_CONNECT_TIMEOUT).await?;
/// conn.send("hello".into()).await?;
/// let reply = conn.next().await.transpose()?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # });
/// ```
pub async fn connect_framed<F: Framing>(
    addr: impl Into<Address>,
    framing: F,
    timeout: Duration,
) -> io::Result<Framed<TcpStream, F>> {
    Ok(Framed::new(connect(addr, timeout).await?, framing))
}
