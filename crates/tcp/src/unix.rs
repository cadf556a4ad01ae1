//! [`UnixServer`]: Unix-domain stream sockets served as TCP connections
//! are, by the same accept loop: a connection limit, idle time-outs,
//! back-off on accept errors, and graceful shutdown.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use switchyard_frame::{Framed, Framing};
use switchyard_rt::net::{UnixListener, UnixStream};
use switchyard_rt::{IdleTimeout, Shutdown};

use crate::accept_loop::{accept_loop, Listen};
use crate::{ServeReport, ServerConfig};

/// The byte stream of an accepted Unix connection: the socket under the
/// server's idle time-out.
pub type UnixServerStream = IdleTimeout<UnixStream>;

/// A connection a [`UnixServer`] accepted. Unix peers have no address of
/// their own: each connection has a number, counted from 0.
#[derive(Debug)]
pub struct UnixAccepted {
    stream: UnixServerStream,
    number: u64,
}

impl UnixAccepted {
    /// This connection's number among the server's, counted from 0.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The connection as a stream and sink of messages cut by `framing`.
    pub fn framed<F: Framing>(self, framing: F) -> Framed<UnixServerStream, F> {
        Framed::new(self.stream, framing)
    }

    /// The plain byte stream, for protocols that do their own framing.
    pub fn into_stream(self) -> UnixServerStream {
        self.stream
    }
}

/// A server on a Unix-domain socket file: accepts connections and runs a
/// handler task for each, within the limits of its [`ServerConfig`]
/// (`nodelay` and `keepalive` are TCP's and do not apply). Its socket file
/// is removed when it stops.
///
/// ```
/// # switchyard_tcp::rt::block_on(async {
/// use futures::{SinkExt, StreamExt};
/// use switchyard_tcp::rt::net::UnixStream;
/// use switchyard_tcp::{Framed, Lines, ServerConfig, UnixServer};
///
/// let path = std::env::temp_dir().join(format!("echo-{}.sock", std::process::id()));
/// let server = UnixServer::bind(&path, ServerConfig::default()).await?;
/// let shutdown = server.shutdown();
/// let serving = switchyard_tcp::rt::spawn(server.serve(|conn| async move {
///     // An echo service, a line a message.
///     let (sink, stream) = conn.framed(Lines::new(1024)).split();
///     let _ = stream.forward(sink).await;
/// }));
///
/// let mut client = Framed::new(UnixStream::connect(&path).await?, Lines::new(1024));
/// client.send("ping".into()).await?;
/// assert_eq!(client.next().await.transpose()?.as_deref(), Some(&b"ping"[..]));
///
/// drop(client);
/// shutdown.trigger();
/// assert_eq!(serving.await.accepted, 1);
/// assert!(!path.exists(), "the socket file is removed");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Debug)]
pub struct UnixServer {
    listener: UnixListener,
    file: SocketFile,
    config: ServerConfig,
    shutdown: Shutdown,
}

/// The socket file a server bound, removed when the listener is dropped
/// (at the start of the grace period, when it stops accepting), and only
/// if it is still the one bound: a successor that bound the path since
/// keeps its own.
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    /// Its device and inode when bound.
    id: Option<(u64, u64)>,
}

impl SocketFile {
    fn id(path: &Path) -> Option<(u64, u64)> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::symlink_metadata(path).ok()?;
        Some((meta.dev(), meta.ino()))
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        if self.id.is_some() && Self::id(&self.path) == self.id {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

impl UnixServer {
    /// Binds a socket file at `path`. A socket file that nothing answers on
    /// (left by a process that did not exit cleanly) is removed first; one
    /// that something answers on is in use, and binding fails.
    pub async fn bind(path: impl AsRef<Path>, config: ServerConfig) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        if is_stale(&path).await {
            std::fs::remove_file(&path)?;
        }
        let listener = UnixListener::bind(&path)?;
        let id = SocketFile::id(&path);
        Ok(Self {
            listener,
            file: SocketFile { path, id },
            config,
            shutdown: Shutdown::new(),
        })
    }

    /// The socket file it listens on.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// Stops the server on `shutdown` instead of a signal of its own (see
    /// [`Server::with_shutdown`](crate::Server::with_shutdown)).
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// The server's shutdown signal (see
    /// [`Server::shutdown`](crate::Server::shutdown)).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// Accepts connections and runs `handler` on each in a task of its own,
    /// until shut down. The socket file is removed as it stops accepting.
    pub async fn serve<H, Fut>(self, handler: H) -> ServeReport
    where
        H: Fn(UnixAccepted) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let UnixServer {
            listener,
            file,
            config,
            shutdown,
        } = self;
        let idle = config.idle_timeout;
        let numbered = Numbered {
            listener,
            next: AtomicU64::new(0),
            _file: file,
        };
        accept_loop(numbered, &config, &shutdown, move |stream, number| {
            handler(UnixAccepted {
                stream: IdleTimeout::new(stream, idle),
                number,
            })
        })
        .await
    }
}

/// A Unix listener numbering its connections; its socket file goes with
/// it.
struct Numbered {
    listener: UnixListener,
    next: AtomicU64,
    _file: SocketFile,
}

impl Listen for Numbered {
    type Stream = UnixStream;
    type Peer = u64;

    async fn accept(&self) -> io::Result<(UnixStream, u64)> {
        let (stream, _) = self.listener.accept().await?;
        Ok((stream, self.next.fetch_add(1, Ordering::Relaxed)))
    }

    fn force_close(stream: &UnixStream) {
        let _ = stream.shutdown(std::net::Shutdown::Both);
    }
}

/// Whether `path` is a socket file nothing listens on.
async fn is_stale(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    is_socket
        && UnixStream::connect(path)
            .await
            .is_err_and(|e| e.kind() == io::ErrorKind::ConnectionRefused)
}
