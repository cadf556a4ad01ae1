//! switchyard-relay: two message connections joined, whatever their
//! transports: backpressure both ways, both sides' heartbeats, idle and
//! send time-outs, a shutdown that delivers what was taken, and a report of
//! how each direction ended ([`relay`], [`relay_until`], [`relay_metered`]).
//!
//! It needs only the message interface ([`MessageConnection`] and
//! [`Keepalive`], switchyard-frame's) and the runtime's timers: a program
//! that relays TCP to UDP compiles no WebSocket. switchyard-endpoint dials
//! any transport by URL for it; the bridge is built on both.
//!
//! [`MessageConnection`]: switchyard_frame::MessageConnection
//! [`Keepalive`]: switchyard_frame::Keepalive

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations, rust_2018_idioms)]

mod relay;

pub use relay::{
    relay, relay_metered, relay_until, DirectionEnd, RelayConfig, RelayMeter, RelayReport,
};

/// The message interface the relay joins (switchyard-frame): framings to
/// make a byte stream a message connection.
pub use switchyard_frame as frame;
/// The runtime this crate runs on (switchyard-rt): `block_on`, `spawn`,
/// timers, the runtime choice.
pub use switchyard_rt as rt;
