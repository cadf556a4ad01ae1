//! The HTTP/1 server under the WebSocket one: request heads parsed within
//! limits and responses that cannot be injected into (both sans-IO), the
//! [`Router`], and the server loop ([`WsServer`]) that reads a request,
//! routes it, and answers it or upgrades it.

mod auth;
mod files;
mod forwarded;
mod pending;
mod read;
mod request;
mod response;
mod router;
mod server;

/// The `http` crate's types that this module's signatures use, so that a
/// program needs no `http` dependency of its own to answer a request.
pub use ::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};

pub use auth::{Auth, AuthParseError};
pub use files::{resolve_file_path, MAX_FILE};
pub use forwarded::client_address;
pub use request::{RequestHead, MAX_HEADERS};
pub use response::{InvalidHeader, Response};
pub use router::{Request, Router};
pub use server::{ServerIo, WsServer};
