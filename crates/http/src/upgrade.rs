//! [`Upgrade`]: a protocol a request may switch to (RFC 9110 §7.8), which
//! the server hands the connection to after its `101 Switching Protocols`.

use std::future::Future;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::FutureExt;
use switchyard_rt::Shutdown;

use crate::{Request, Response, ServerIo};

/// A protocol that requests may switch to at a [`Router::upgrade`](crate::Router::upgrade)
/// route (switchyard-ws's `websocket` is one). The server reads the request
/// head, runs the router's guards, then asks [`accept`](Self::accept): a
/// refusal is sent as the answer; an acceptance takes a place under
/// [`max_connections`](crate::HttpServerConfig::max_connections) (or is
/// answered 503), its response is sent, and its session runs on the
/// connection until it ends.
pub trait Upgrade: Send + Sync + 'static {
    /// The token a request names in its `Upgrade` header to ask for this
    /// protocol (compared without regard to case): `"websocket"`.
    fn protocol(&self) -> &'static str;

    /// Checks `request` (its head and the client's address; no body is
    /// read) and answers it: the `101` and the session that follows, or
    /// the refusal (a 4xx with its reason). Requests that do not ask for
    /// this protocol reach it too when no other route takes them, so that
    /// it can say what is wrong with them.
    fn accept(&self, request: Request) -> Result<Switch, Response>;
}

/// What runs on an upgraded connection for as long as it lasts.
pub type Session = BoxFuture<'static, ()>;

/// An accepted upgrade: the response that switches protocols, and what
/// runs on the connection after it is sent.
pub struct Switch {
    pub(crate) response: Response,
    pub(crate) start: Box<dyn FnOnce(Upgraded) -> BoxFuture<'static, Session> + Send>,
}

impl Switch {
    /// `response` (a `101`), then `session` on the connection.
    pub fn new<F, Fut>(response: Response, session: F) -> Self
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self::after_setup(response, move |upgraded| {
            std::future::ready(session(upgraded).boxed())
        })
    }

    /// `response` (a `101`), then `setup` on the connection, which resolves
    /// to its session. The setup runs with the request's own work, whose
    /// memory is freed when it is done: a session that an idle connection
    /// keeps for hours then holds only its own state, not also the space
    /// its setup took (a protocol's connection built in place, before it
    /// moved into the session).
    pub fn after_setup<F, Fut>(response: Response, setup: F) -> Self
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = Session> + Send + 'static,
    {
        Self {
            response,
            start: Box::new(move |upgraded| setup(upgraded).boxed()),
        }
    }
}

impl std::fmt::Debug for Switch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Switch")
            .field("status", &self.response.status())
            .finish_non_exhaustive()
    }
}

/// A connection whose protocol switched, as its session gets it.
#[derive(Debug)]
#[non_exhaustive]
pub struct Upgraded {
    /// The byte stream, the `101` already written to it.
    pub io: ServerIo,
    /// What the client sent after its request head (the new protocol's
    /// first bytes), to be read before `io`.
    pub rest: Bytes,
    /// The server's shutdown signal: on it, the session is to close the
    /// connection as its protocol says (a WebSocket's 1001); the server
    /// cuts it after its shutdown grace.
    pub shutdown: Shutdown,
    /// The server's [`read_buffer`](crate::HttpServerConfig::read_buffer):
    /// what a protocol that keeps a read buffer of its own asks for at a
    /// time when `io` is not read ahead already ([`ServerIo::is_read_ahead`]).
    pub read_buffer: usize,
}
