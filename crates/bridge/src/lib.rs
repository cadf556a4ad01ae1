//! switchyard-bridge: relays messages between WebSocket, TCP and UDP
//! endpoints, so that a browser can reach a TCP or UDP service, or any
//! transport can reach any other.
//!
//! - [`Endpoint`]: `ws://`, `wss://`, `tcp://`, `udp://` URLs.
//! - [`BridgeConfig`] of [`ListenerConfig`]s, each with [`RouteConfig`]s;
//!   from the command line or a TOML file ([`BridgeConfig::from_toml`]).
//! - [`Bridge`]: binds and serves them; one session per client, its target
//!   dialed for it, relayed by [`relay`] with backpressure both ways.
//!
//! The `switchyard-bridge` binary is the command line around this library.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod bridge;
mod config;
mod config_file;
mod dial;
mod endpoint;
mod metrics;
mod relay;
mod serve_tcp;
mod serve_udp;
mod serve_ws;
mod session;
mod tokens;
mod web;

pub use bridge::{Bridge, BridgeError};
pub use config::{
    BridgeConfig, ConfigError, ListenerConfig, RouteConfig, StreamFraming, TargetSpec,
};
pub use config_file::ConfigFileError;
pub use dial::{dial, frame_stream, BoxConnection, DialOptions, RelaySide};
pub use endpoint::{Endpoint, EndpointError, Scheme};
pub use metrics::{ErrorKind, Metrics};
pub use relay::{relay, relay_until, DirectionEnd, RelayConfig, RelayReport};
pub use serve_udp::DEFAULT_UDP_IDLE;
pub use switchyard_ws::{Auth, AuthParseError};
pub use tokens::{TokenFileError, TokenMap};
pub use web::{resolve_web_path, MAX_FILE};
