//! switchyard-bridge: relays messages between WebSocket, TCP and UDP
//! endpoints, so that a browser can reach a TCP or UDP service.
//!
//! Work in progress: the endpoint URLs and the relay core are here; the
//! listeners, the command line and the `switchyard-bridge` binary come next.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod endpoint;
mod relay;

pub use endpoint::{Endpoint, EndpointError, Scheme};
pub use relay::{relay, DirectionEnd, RelayConfig, RelayReport};
