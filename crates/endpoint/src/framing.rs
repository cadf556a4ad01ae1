//! [`StreamFraming`]: how a byte stream becomes messages, chosen at run
//! time, and [`frame_stream`], which applies it.

use futures::io::{AsyncRead, AsyncWrite};
use switchyard_frame::{Framed, FramedConfig, LengthPrefixed, Lines, Raw};

use crate::BoxConnection;

/// Which framing cuts a byte stream (a TCP or Unix connection, standard
/// input and output) into messages, and writes messages back: a choice
/// among switchyard-frame's framings, made from a URL's or a command line's
/// words. It applies to stream sides only: WebSocket and UDP carry whole
/// messages already.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StreamFraming {
    /// The default: what one read returns is one message, and messages are
    /// written as they are (switchyard-frame's `Raw`). For byte protocols
    /// (VNC, SSH, databases).
    #[default]
    Raw,
    /// Each line (LF or CRLF, the ending removed) is one message; messages
    /// are written with `\n` after them (switchyard-frame's `Lines`). For
    /// line protocols and text frames.
    Lines,
    /// Each 4-byte big-endian length and its payload is one message
    /// (switchyard-frame's `LengthPrefixed`).
    LengthPrefixed,
}

impl StreamFraming {
    /// Its name: `raw`, `lines` or `length-prefixed`.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamFraming::Raw => "raw",
            StreamFraming::Lines => "lines",
            StreamFraming::LengthPrefixed => "length-prefixed",
        }
    }
}

/// A framing name that is not `raw`, `lines` or `length-prefixed`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown framing {0:?}: raw, lines or length-prefixed")]
pub struct UnknownFraming(pub String);

impl std::str::FromStr for StreamFraming {
    type Err = UnknownFraming;

    /// `raw`, `lines` or `length-prefixed`.
    fn from_str(s: &str) -> Result<Self, UnknownFraming> {
        match s {
            "raw" => Ok(StreamFraming::Raw),
            "lines" => Ok(StreamFraming::Lines),
            "length-prefixed" => Ok(StreamFraming::LengthPrefixed),
            other => Err(UnknownFraming(other.to_string())),
        }
    }
}

/// The most one raw read carries as a message. Large enough that bulk
/// streams move in few messages, small enough to fit any message limit
/// worth setting.
const RAW_READ_CHUNK: usize = 64 << 10;

/// A TCP byte stream cut into messages by `framing`, no message over `max`.
pub fn frame_stream<IO>(io: IO, framing: StreamFraming, max: usize) -> BoxConnection
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match framing {
        StreamFraming::Raw => {
            let config = FramedConfig::default().read_chunk(RAW_READ_CHUNK.min(max.max(1)));
            Box::pin(Framed::with_config(io, Raw, config))
        }
        StreamFraming::Lines => Box::pin(Framed::new(io, Lines::new(max))),
        StreamFraming::LengthPrefixed => Box::pin(Framed::new(io, LengthPrefixed::new(max))),
    }
}
