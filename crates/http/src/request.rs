//! Parsing an HTTP/1.1 request head, with limits, and nothing else.

use bytes::Bytes;
use http::StatusCode;

use crate::Response;

/// Headers accepted in one request. More is 431: real browsers send about 20.
pub const MAX_HEADERS: usize = 64;

/// A parsed request head: method, target and headers. The body, if any, is
/// read separately, within its own limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method, e.g. `GET`.
    pub method: String,
    /// The path part of the target, e.g. `/ws`.
    pub path: String,
    /// The query string after `?`, if any, e.g. `room=rust`.
    pub query: Option<String>,
    headers: Vec<(String, Bytes)>,
}

impl RequestHead {
    /// Parses the request head at the start of `buf`.
    ///
    /// `Ok(None)` when the head is not complete yet (and `buf` is still
    /// within `max_len`); `Ok(Some((head, len)))` with the head's length in
    /// bytes (what follows is the body, or early WebSocket frames); `Err`
    /// with the response to send: 431 for a head over `max_len` bytes or over
    /// [`MAX_HEADERS`] headers, 400 for anything malformed.
    ///
    /// ```
    /// use switchyard_http::RequestHead;
    ///
    /// let raw = b"GET /chat?room=rust HTTP/1.1\r\nHost: example.com\r\n\r\n";
    /// let (head, len) = RequestHead::parse(raw, 8192).unwrap().unwrap();
    /// assert_eq!((head.method.as_str(), head.path.as_str()), ("GET", "/chat"));
    /// assert_eq!(head.query.as_deref(), Some("room=rust"));
    /// assert_eq!(head.header("host"), Some("example.com"));
    /// assert_eq!(len, raw.len());
    /// assert!(RequestHead::parse(b"GET / HTTP/1.1\r\n", 8192).unwrap().is_none());
    /// ```
    pub fn parse(buf: &[u8], max_len: usize) -> Result<Option<(Self, usize)>, Response> {
        let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut slots);
        let len = match req.parse(buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if buf.len() >= max_len => {
                return Err(too_large(max_len))
            }
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(httparse::Error::TooManyHeaders) => {
                return Err(Response::text(
                    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                    format!("more than {MAX_HEADERS} headers"),
                ))
            }
            Err(e) => {
                return Err(Response::text(
                    StatusCode::BAD_REQUEST,
                    format!("malformed request: {e}"),
                ))
            }
        };
        if len > max_len {
            return Err(too_large(max_len));
        }
        let (Some(method), Some(target)) = (req.method, req.path) else {
            return Err(Response::text(
                StatusCode::BAD_REQUEST,
                "malformed request line",
            ));
        };
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path.to_string(), Some(query.to_string())),
            None => (target.to_string(), None),
        };
        let headers = req
            .headers
            .iter()
            .map(|h| (h.name.to_ascii_lowercase(), Bytes::copy_from_slice(h.value)))
            .collect();
        Ok(Some((
            Self {
                method: method.to_string(),
                path,
                query,
                headers,
            },
            len,
        )))
    }

    /// The head of a request another HTTP server parsed (axum's, hyper's),
    /// its body left out: what a WebSocket upgrade's checks (switchyard-ws)
    /// and the push layer read. A request whose host is only in its URI
    /// (HTTP/2) is given it as `host`.
    ///
    /// ```
    /// use switchyard_http::RequestHead;
    ///
    /// let request = http::Request::get("http://example.com/chat?room=rust").body(()).unwrap();
    /// let head = RequestHead::from_http(&request);
    /// assert_eq!((head.method.as_str(), head.path.as_str()), ("GET", "/chat"));
    /// assert_eq!(head.query_param("room").as_deref(), Some("rust"));
    /// assert_eq!(head.header("host"), Some("example.com"));
    /// ```
    pub fn from_http<B>(request: &http::Request<B>) -> Self {
        let mut headers: Vec<(String, Bytes)> = request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    Bytes::copy_from_slice(value.as_bytes()),
                )
            })
            .collect();
        if !request.headers().contains_key(http::header::HOST) {
            if let Some(authority) = request.uri().authority() {
                headers.push((
                    "host".to_owned(),
                    Bytes::copy_from_slice(authority.as_str().as_bytes()),
                ));
            }
        }
        Self {
            method: request.method().as_str().to_owned(),
            path: request.uri().path().to_owned(),
            query: request.uri().query().map(str::to_owned),
            headers,
        }
    }

    /// The value of header `name` (case-insensitive), if present and text.
    /// With the header repeated, the first.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.raw_header(name)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(str::trim)
    }

    /// The bytes of header `name` (case-insensitive), if present, text or
    /// not: to tell a header that is missing from one that is not text.
    /// With the header repeated, the first.
    pub fn raw_header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &v[..])
    }

    /// Whether the comma-separated header `name` (in any of its repeats)
    /// holds `token`, case-insensitively (`Connection: keep-alive, Upgrade`
    /// holds `upgrade`).
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Every value of header `name` that is text, in order (a header given
    /// on several lines, as `Sec-WebSocket-Extensions` may be), whole.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
    }

    /// The comma-separated values of header `name`, in order, trimmed.
    pub fn tokens<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    }

    /// The value of query parameter `name`, percent-decoded (`+` as a
    /// space, as forms encode it). With the parameter repeated, the first.
    pub fn query_param(&self, name: &str) -> Option<String> {
        form_urlencoded::parse(self.query.as_deref()?.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

fn too_large(max_len: usize) -> Response {
    Response::text(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        format!("request head over {max_len} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_over_the_limit_is_431_complete_or_not() {
        let mut raw = b"GET / HTTP/1.1\r\nX-Pad: ".to_vec();
        raw.extend(std::iter::repeat_n(b'a', 100));
        let partial = RequestHead::parse(&raw, 64).unwrap_err();
        assert_eq!(
            partial.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
        raw.extend_from_slice(b"\r\n\r\n");
        let complete = RequestHead::parse(&raw, 64).unwrap_err();
        assert_eq!(
            complete.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }

    #[test]
    fn too_many_headers_is_431_and_garbage_is_400() {
        let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        let err = RequestHead::parse(&raw, 1 << 20).unwrap_err();
        assert_eq!(err.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let err = RequestHead::parse(b"\x16\x03\x01 hello\r\n\r\n", 1024).unwrap_err();
        assert_eq!(err.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn tokens_across_repeated_headers() {
        let raw = b"GET / HTTP/1.1\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n\r\n";
        let (head, _) = RequestHead::parse(raw, 1024).unwrap().unwrap();
        assert!(head.has_token("connection", "upgrade"));
        assert!(!head.has_token("connection", "close"));
    }

    #[test]
    fn query_parameters() {
        let raw = b"GET /?room=rust&name=J%C3%BCrgen+K&flag HTTP/1.1\r\n\r\n";
        let (head, _) = RequestHead::parse(raw, 1024).unwrap().unwrap();
        assert_eq!(head.query_param("room").as_deref(), Some("rust"));
        assert_eq!(head.query_param("name").as_deref(), Some("J\u{fc}rgen K"));
        assert_eq!(head.query_param("flag").as_deref(), Some(""));
        assert_eq!(head.query_param("other"), None);
    }
}
