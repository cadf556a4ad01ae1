//! The HTTP that a WebSocket server needs: parsing request heads within
//! limits, and writing responses that cannot be injected into. Sans-IO.

mod request;
mod response;

pub use request::{RequestHead, MAX_HEADERS};
pub use response::{InvalidHeader, Response};
