//! switchyard-bridge: relays messages between WebSocket, TCP and UDP
//! endpoints, so that a browser can reach a TCP or UDP service, or any
//! transport can reach any other.
//!
//! - [`BridgeConfig`] of [`ListenerConfig`]s, each with [`RouteConfig`]s;
//!   from the command line or a TOML file ([`BridgeConfig::from_toml`]).
//! - [`Bridge`]: binds and serves them; one session per client, its target
//!   dialed for it, relayed by [`relay`] with backpressure both ways.
//! - [`BridgeRoute`]: one route on WebSockets another HTTP server accepted
//!   (axum, hyper, or switchyard's own `Router` beside other routes).
//!
//! Endpoints and dialing are switchyard-endpoint's and the relay is
//! switchyard-relay's, re-exported here; this crate adds listeners, sessions, authentication, tokens,
//! static files and metrics.
//!
//! The `switchyard-bridge` binary is the command line around this library.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod bridge;
mod bridge_route;
#[cfg(feature = "cli")]
pub mod cli;
mod config;
mod config_file;
mod listener;
mod metrics;
mod route_table;
mod serve_stdio;
mod serve_tcp;
mod serve_udp;
#[cfg(unix)]
mod serve_unix;
mod serve_ws;
mod session;
mod settings;
mod tokens;

pub use bridge::{Bridge, BridgeError, ReloadError, Reloader, Served};
pub use bridge_route::BridgeRoute;
pub use config::{BridgeConfig, ConfigError, RouteConfig, TargetSpec};
pub use config_file::ConfigFileError;
pub use listener::{ListenerConfig, ListenerOptions, SocketOptions, WebSocketOptions};
pub use metrics::{ErrorKind, Metrics};
pub use serve_udp::DEFAULT_UDP_IDLE;
pub use switchyard_ws::http::{Auth, AuthParseError};
pub use tokens::{TokenFile, TokenFileError, TokenMap, MAX_TOKEN_FILE};

/// The runtime this crate runs on (switchyard-rt): `block_on`, `spawn`, timers, the runtime choice.
pub use switchyard_rt as rt;
/// The WebSocket layer (switchyard-ws) whose types [`BridgeRoute`] takes
/// (`WsServerConfig`, `WsConnection`, `RequestHead`), with the HTTP server
/// (`ws::http`) an application can hand it connections from.
pub use switchyard_ws as ws;

/// The endpoints the bridge listens on and dials (switchyard-endpoint):
/// URLs, dialing, framing.
pub use switchyard_endpoint::{
    dial, dial_websocket, frame_stream, BoxConnection, DialOptions, Endpoint, EndpointError,
    RelaySide, Scheme, StreamFraming,
};
/// The relay that joins a session's two sides (switchyard-relay).
pub use switchyard_relay::{
    relay, relay_metered, relay_until, DirectionEnd, RelayConfig, RelayMeter, RelayReport,
};
