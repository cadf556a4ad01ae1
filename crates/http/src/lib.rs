//! switchyard's HTTP/1 server: plain routes and upgrades to other
//! protocols (WebSocket, through switchyard-ws) on one port, strict about
//! everything a client controls.
//!
//! - [`HttpServer`] with a [`Router`]: pages at `GET` paths, static
//!   [`files`](Router::files), `POST` endpoints, [`Upgrade`]s, guards such
//!   as [`Auth`]; every limit in [`HttpServerConfig`] (head and body sizes,
//!   the time to send them, connections in their handshake per address,
//!   upgraded connections), TLS ([`server_tls`]) and the PROXY protocol.
//! - Sans-IO underneath: [`RequestHead::parse`] within limits,
//!   [`Response`]s that cannot be injected into, [`client_address`] behind
//!   trusted proxies, [`resolve_file_path`].

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod auth;
mod config;
mod files;
mod forwarded;
mod pending;
mod read;
mod read_ahead;
mod request;
mod response;
mod router;
mod server;
mod upgrade;

/// The `http` crate's types that this crate's signatures use, so that a
/// program needs no `http` dependency of its own to answer a request.
pub use ::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};

pub use auth::{Auth, AuthParseError};
pub use config::HttpServerConfig;
pub use files::{resolve_file_path, MAX_FILE};
pub use forwarded::client_address;
pub use read_ahead::ReadAhead;
pub use request::{RequestHead, MAX_HEADERS};
pub use response::{InvalidHeader, Response};
pub use router::{Request, Router};
pub use server::{HttpServer, ServerIo};
pub use upgrade::{Session, Switch, Upgrade, Upgraded};

/// An IP network (`10.0.0.0/8`, `2001:db8::/32`, or one address), as
/// [`HttpServerConfig::trusted_proxies`] takes them.
pub use ipnet::IpNet;
/// The runtime this crate runs on (switchyard-rt): `block_on`, `spawn`, timers, the runtime choice.
pub use switchyard_rt as rt;
pub use switchyard_rt::net::Address;
pub use switchyard_rt::{Shutdown, ShutdownWait};
pub use switchyard_tcp::{ServeReport, TcpKeepalive};
pub use switchyard_tls::{server_tls, server_tls_verifying_clients, ServerTls, TlsError};
