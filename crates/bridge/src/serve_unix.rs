//! Unix-domain stream listeners (`unix:///run/app.sock`): like TCP
//! listeners, each connection cut into messages by its route's framing and
//! relayed to its own target connection.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::{select, Either};
use switchyard_rt::net::{UnixListener, UnixStream};
use switchyard_rt::Shutdown;

use crate::route_table::RouteTable;
use crate::{frame_stream, session, BridgeError, ListenerConfig};

/// A bound Unix listener; its socket file is removed when it stops.
pub(crate) struct UnixBound {
    listener: UnixListener,
    path: PathBuf,
    max_connections: usize,
    max_message: usize,
}

/// Binds a Unix listener. A socket file that nothing answers on (left by a
/// process that did not exit cleanly) is removed first; one that something
/// answers on is in use, and binding fails.
pub(crate) async fn bind(listener: &ListenerConfig) -> Result<UnixBound, BridgeError> {
    let path = PathBuf::from(&listener.listen.path);
    let error = |error| BridgeError::Bind {
        listen: listener.listen.to_string(),
        error,
    };
    if is_stale(&path).await {
        std::fs::remove_file(&path).map_err(error)?;
    }
    let bound = UnixListener::bind(&path).map_err(error)?;
    Ok(UnixBound {
        listener: bound,
        path,
        max_connections: listener.max_connections,
        max_message: listener.max_message,
    })
}

/// A session's place under `max_connections`, given back when dropped
/// (however its task ends).
struct OpenPlace(Arc<AtomicUsize>);

impl OpenPlace {
    fn take(open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::AcqRel);
        Self(open.clone())
    }
}

impl Drop for OpenPlace {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether `path` is a socket file nothing listens on.
async fn is_stale(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    is_socket
        && UnixStream::connect(path)
            .await
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
}

/// Serves a bound Unix listener until `shutdown`; then waits up to `grace`
/// for its sessions (which deliver what they have taken and end) and
/// removes the socket file.
pub(crate) async fn serve(
    bound: UnixBound,
    table: Arc<RouteTable>,
    shutdown: Shutdown,
    grace: Duration,
) {
    let open = Arc::new(AtomicUsize::new(0));
    let numbers = AtomicU64::new(0);
    loop {
        let accepting = std::pin::pin!(bound.listener.accept());
        let stopping = std::pin::pin!(shutdown.wait());
        let stream = match select(accepting, stopping).await {
            Either::Right(_) => break,
            Either::Left((Ok((stream, _)), _)) => stream,
            Either::Left((Err(e), _)) => {
                tracing::warn!(error = %e, path = %bound.path.display(), "Unix listener failed");
                switchyard_rt::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if open.load(Ordering::Acquire) >= bound.max_connections {
            tracing::warn!(
                path = %bound.path.display(),
                limit = bound.max_connections,
                "refused a connection: too many connections"
            );
            continue;
        }
        // The route now: a reload may have changed it.
        let Some(route) = table.only() else {
            continue;
        };
        let Some(target) = route.target_for(None) else {
            continue;
        };
        let place = OpenPlace::take(&open);
        // Unix peers have no address of their own: the socket and a number.
        let peer = format!(
            "unix:{}#{}",
            bound.path.display(),
            numbers.fetch_add(1, Ordering::Relaxed)
        );
        let max_message = bound.max_message;
        // As on a TCP listener: a client with no byte either way for this
        // long is closed, unless the route sets its own idle timeout.
        let idle = route
            .config
            .idle_timeout
            .unwrap_or(crate::serve_tcp::DEFAULT_IDLE);
        switchyard_rt::spawn(async move {
            let _place = place;
            let stream = switchyard_rt::IdleTimeout::new(stream, idle);
            let mut client = frame_stream(stream, route.config.dial.framing, max_message);
            session::run(&mut client, peer, &route, &target).await;
        });
    }
    let started = Instant::now();
    while open.load(Ordering::Acquire) > 0 && started.elapsed() < grace {
        switchyard_rt::sleep(Duration::from_millis(20)).await;
    }
    let _ = std::fs::remove_file(&bound.path);
}
