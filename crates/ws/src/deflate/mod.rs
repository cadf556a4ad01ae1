//! permessage-deflate (RFC 7692), sans-IO: negotiating it from the
//! `Sec-WebSocket-Extensions` headers, compressing and inflating a
//! message's payload within the largest message's bound, and rewriting the
//! frames on the byte stream beneath tungstenite ([`Inbound`],
//! [`Outbound`]).
//!
//! A server turns it on with
//! [`WsServerConfig::deflate`](crate::WsServerConfig::deflate), a client
//! with [`ClientConfig::deflate`](crate::ClientConfig::deflate); the layer
//! then sits beneath tungstenite (which refuses frames with RSV1 set)
//! inside the [`WsConnection`](crate::WsConnection).

mod codec;
mod frames;
mod negotiation;

pub(crate) use frames::push_frame_head;

pub use codec::{Compressor, Decompressor, InflateError};
pub use frames::{FrameError, Inbound, Outbound};
pub use negotiation::{
    accept_offer, check_response, client_offer, parse_extensions, DeflateConfig, DeflateParams,
    Extension, NegotiationError, MAX_WINDOW_BITS, MIN_WINDOW_BITS, PERMESSAGE_DEFLATE,
};
