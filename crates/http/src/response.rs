//! HTTP responses: a status, headers that cannot carry CR/LF, and a body.

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE};
use http::StatusCode;

/// An HTTP/1.1 response. Header names and values are `http` crate types,
/// which refuse CR, LF and NUL, so nothing a caller puts in a header can
/// inject another header or end the head early.
///
/// ```
/// use switchyard_http::{Response, StatusCode};
///
/// let r = Response::text(StatusCode::NOT_FOUND, "no such page");
/// assert!(r.to_bytes().starts_with(b"HTTP/1.1 404 Not Found\r\n"));
/// assert!(Response::new(StatusCode::OK).header("X-Evil", "a\r\nSet-Cookie: x=1").is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    status: StatusCode,
    /// Boxed: responses travel in `Err` variants, which should stay small.
    headers: Box<HeaderMap>,
    body: Bytes,
}

/// A header name or value that is not valid HTTP (e.g. one holding CR/LF).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid HTTP header {name:?}: names must be tokens, values may not hold control characters"
)]
pub struct InvalidHeader {
    /// The header's name, as given.
    pub name: String,
}

impl Response {
    /// An empty response with `status`.
    pub fn new(status: StatusCode) -> Self {
        Self {
            status,
            headers: Box::default(),
            body: Bytes::new(),
        }
    }

    /// A `text/plain` response: the short reason for an error, or any text.
    pub fn text(status: StatusCode, body: impl Into<String>) -> Self {
        let mut body = body.into();
        if !body.ends_with('\n') {
            body.push('\n');
        }
        Self::new(status).body("text/plain; charset=utf-8", body)
    }

    /// A JSON response (the body must already be JSON).
    pub fn json(status: StatusCode, body: impl Into<Bytes>) -> Self {
        Self::new(status).body("application/json", body)
    }

    /// Sets the body and its content type.
    pub fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Self {
        self.headers
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        self.body = body.into();
        self
    }

    /// Adds a header, refusing names and values that are not valid HTTP.
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, InvalidHeader> {
        let invalid = || InvalidHeader {
            name: name.to_string(),
        };
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid())?;
        let value = HeaderValue::from_str(value).map_err(|_| invalid())?;
        self.headers.append(name, value);
        Ok(self)
    }

    /// Adds an already valid header.
    pub fn typed_header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The body.
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }

    /// The response as it goes on the wire. Responses other than 101 carry
    /// `Content-Length` and `Connection: close`: one request per connection.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = self.encode_head(self.body.len());
        out.put_slice(&self.body);
        out.freeze()
    }

    /// What [`to_bytes`](Self::to_bytes) sends without the body: the answer
    /// to a `HEAD` (its `Content-Length` is the body's).
    pub fn head_bytes(&self) -> Bytes {
        self.encode_head(0).freeze()
    }

    fn encode_head(&self, room_for_body: usize) -> BytesMut {
        let mut out = BytesMut::with_capacity(128 + room_for_body);
        let reason = self.status.canonical_reason().unwrap_or("");
        out.put_slice(format!("HTTP/1.1 {} {reason}\r\n", self.status.as_u16()).as_bytes());
        for (name, value) in self.headers.iter() {
            out.put_slice(name.as_str().as_bytes());
            out.put_slice(b": ");
            out.put_slice(value.as_bytes());
            out.put_slice(b"\r\n");
        }
        if self.status != StatusCode::SWITCHING_PROTOCOLS {
            if !self.headers.contains_key(CONTENT_LENGTH) {
                out.put_slice(format!("content-length: {}\r\n", self.body.len()).as_bytes());
            }
            out.put_slice(b"connection: close\r\n");
        }
        out.put_slice(b"\r\n");
        out
    }
}

/// The same response as the `http` crate's type, for a server built on it
/// (hyper, axum).
impl From<Response> for http::Response<Bytes> {
    fn from(response: Response) -> Self {
        let mut converted = http::Response::new(response.body_bytes().clone());
        *converted.status_mut() = response.status();
        *converted.headers_mut() = response.headers().clone();
        converted
    }
}
