//! The server side of the WebSocket opening handshake (RFC 6455 §4.2), as
//! checks on a parsed request head: no I/O, so each refusal is testable on
//! its own, and each gets the status and the short reason a client needs.

use http::header::{
    HeaderValue, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_PROTOCOL, SEC_WEBSOCKET_VERSION,
};
use http::StatusCode;

use crate::http::{RequestHead, Response};
use crate::OriginPolicy;

/// What the server needs to answer an acceptable upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedUpgrade {
    /// `Sec-WebSocket-Accept`, derived from the client's key.
    pub accept: String,
    /// The subprotocol chosen, if any.
    pub protocol: Option<String>,
}

/// Checks an upgrade request, in the order gorilla/websocket's Upgrader
/// does, answering:
/// - method not GET: 405 with `Allow: GET`;
/// - no `upgrade` token in `Connection`, or no `websocket` in `Upgrade`: 400;
/// - `Sec-WebSocket-Version` not 13: 426 with `Sec-WebSocket-Version: 13`;
/// - `Sec-WebSocket-Key` missing or not 16 bytes of base64: 400;
/// - `Origin` refused by `origins`: 403;
/// - subprotocols offered, none of them in `protocols`: 400, naming what
///   was offered and what is spoken. (Accepting without one would fail
///   anyway: a browser, or any RFC 6455 client, drops a connection whose
///   101 names none of the subprotocols it offered.)
///
/// The subprotocol is the first of `protocols` (the server's order of
/// preference) that the client offered; none if it offered none.
///
/// ```
/// use switchyard_ws::{handshake::check_upgrade, http::RequestHead, OriginPolicy};
///
/// let raw = b"GET /ws HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
///     Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
///     Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";
/// let (head, _) = RequestHead::parse(raw, 8192).unwrap().unwrap();
/// let upgrade = check_upgrade(&head, &OriginPolicy::SameHost, &["superchat".into()]).unwrap();
/// assert_eq!(upgrade.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="); // RFC 6455's own example
/// assert_eq!(upgrade.protocol.as_deref(), Some("superchat"));
/// ```
pub fn check_upgrade(
    req: &RequestHead,
    origins: &OriginPolicy,
    protocols: &[String],
) -> Result<AcceptedUpgrade, Response> {
    if req.method != "GET" {
        return Err(Response::text(
            StatusCode::METHOD_NOT_ALLOWED,
            "a WebSocket upgrade must be a GET request",
        )
        .typed_header(http::header::ALLOW, HeaderValue::from_static("GET")));
    }
    if !req.has_token("connection", "upgrade") {
        return Err(bad_request("missing 'Connection: upgrade' header"));
    }
    if !req.has_token("upgrade", "websocket") {
        return Err(bad_request("missing 'Upgrade: websocket' header"));
    }
    if req.header("sec-websocket-version") != Some("13") {
        return Err(Response::text(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported Sec-WebSocket-Version: only 13 is spoken",
        )
        .typed_header(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13")));
    }
    let key = match req.header("sec-websocket-key") {
        Some(key) if is_valid_key(key) => key,
        Some(_) => {
            return Err(bad_request(
                "malformed Sec-WebSocket-Key: not 16 bytes of base64",
            ))
        }
        None => return Err(bad_request("missing Sec-WebSocket-Key header")),
    };
    if !origins.allows(req.header("origin"), req.header("host")) {
        return Err(Response::text(StatusCode::FORBIDDEN, "origin not allowed"));
    }
    let offered: Vec<&str> = req.tokens("sec-websocket-protocol").collect();
    let protocol = protocols
        .iter()
        .find(|p| offered.iter().any(|o| o == p))
        .cloned();
    if protocol.is_none() && !offered.is_empty() {
        let spoken = if protocols.is_empty() {
            "none".to_string()
        } else {
            protocols.join(", ")
        };
        let offered = offered.join(", ");
        return Err(bad_request(&format!(
            "no subprotocol offered ({offered}) is spoken here (spoken: {spoken})"
        )));
    }
    Ok(AcceptedUpgrade {
        accept: async_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes()),
        protocol,
    })
}

/// The 101 response that completes an accepted upgrade, with the server's
/// extra headers (already validated).
pub fn switching_protocols(upgrade: &AcceptedUpgrade, extra: &http::HeaderMap) -> Response {
    let mut response = Response::new(StatusCode::SWITCHING_PROTOCOLS)
        .typed_header(http::header::UPGRADE, HeaderValue::from_static("websocket"))
        .typed_header(
            http::header::CONNECTION,
            HeaderValue::from_static("Upgrade"),
        );
    if let Ok(accept) = HeaderValue::from_str(&upgrade.accept) {
        response = response.typed_header(SEC_WEBSOCKET_ACCEPT, accept);
    }
    if let Some(protocol) = upgrade
        .protocol
        .as_deref()
        .and_then(|p| HeaderValue::from_str(p).ok())
    {
        response = response.typed_header(SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    for (name, value) in extra {
        response = response.typed_header(name.clone(), value.clone());
    }
    response
}

/// permessage-deflate as `config` agrees to `head`'s offers: what was
/// agreed, and the `Sec-WebSocket-Extensions` value that says so; `None`
/// when the server does not compress, the client did not offer, or no
/// offer could be accepted (the answer is then without compression). The
/// same for a route and for a connection handed over
/// ([`upgrade_response`](crate::upgrade_response)), so that
/// [`WsConnection::upgraded`](crate::WsConnection::upgraded) agrees with
/// the answer.
pub(crate) fn agree_deflate(
    config: &crate::WsServerConfig,
    head: &RequestHead,
) -> Option<(crate::deflate::DeflateParams, HeaderValue)> {
    let deflate = config.deflate.as_ref()?;
    let offers = head.header_values("sec-websocket-extensions");
    let params = crate::deflate::accept_offer(offers, deflate)?;
    let value = HeaderValue::from_str(&params.response()).ok()?;
    Some((params, value))
}

fn bad_request(reason: &str) -> Response {
    Response::text(StatusCode::BAD_REQUEST, reason)
}

/// A key is 16 bytes in base64: 22 characters, the last carrying only two
/// bits (so one of `A`, `Q`, `g`, `w`), then `==`.
fn is_valid_key(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 24
        && b.ends_with(b"==")
        && b[..22]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
        && matches!(b[21], b'A' | b'Q' | b'g' | b'w')
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "GET /ws HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

    fn check(raw: &str, extra: &str, protocols: &[&str]) -> Result<AcceptedUpgrade, Response> {
        let raw = format!("{raw}{extra}\r\n");
        let (head, _) = RequestHead::parse(raw.as_bytes(), 8192).unwrap().unwrap();
        let protocols: Vec<String> = protocols.iter().map(|p| p.to_string()).collect();
        check_upgrade(&head, &OriginPolicy::SameHost, &protocols)
    }

    fn status(raw: &str) -> StatusCode {
        check(raw, "", &[]).unwrap_err().status()
    }

    #[test]
    fn each_refusal_has_its_status() {
        assert_eq!(
            status(&GOOD.replace("GET", "POST")),
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            status(&GOOD.replace("Connection: Upgrade", "Connection: keep-alive")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(&GOOD.replace("Upgrade: websocket", "Upgrade: h2c")),
            StatusCode::BAD_REQUEST
        );
        let old = status(&GOOD.replace("Version: 13", "Version: 8"));
        assert_eq!(old, StatusCode::UPGRADE_REQUIRED);
        assert_eq!(
            status(&GOOD.replace("dGhlIHNhbXBsZSBub25jZQ==", "not-a-key")),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status(&GOOD.replace("Sec-WebSocket-Key", "X-Key")),
            StatusCode::BAD_REQUEST
        );
        let foreign = check(GOOD, "Origin: https://evil.example\r\n", &[]).unwrap_err();
        assert_eq!(foreign.status(), StatusCode::FORBIDDEN);
        assert!(check(GOOD, "Origin: http://h:1\r\n", &[]).is_ok());
    }

    #[test]
    fn the_426_names_the_version_spoken() {
        let r = check(&GOOD.replace("Version: 13", "Version: 8"), "", &[]).unwrap_err();
        assert_eq!(r.headers()[SEC_WEBSOCKET_VERSION], "13");
    }

    #[test]
    fn the_servers_preference_wins_among_offered_protocols() {
        let offer = "Sec-WebSocket-Protocol: v1.json, v2.bincode\r\n";
        let chosen = |prefs: &[&str]| check(GOOD, offer, prefs).unwrap().protocol;
        assert_eq!(
            chosen(&["v2.bincode", "v1.json"]).as_deref(),
            Some("v2.bincode")
        );
        assert_eq!(
            chosen(&["v1.json", "v2.bincode"]).as_deref(),
            Some("v1.json")
        );
        assert_eq!(check(GOOD, "", &["v1.json"]).unwrap().protocol, None);
    }

    #[test]
    fn an_offer_of_nothing_spoken_is_refused_saying_what_is() {
        let offer = "Sec-WebSocket-Protocol: binary, base64\r\n";
        for (spoken, says) in [(&["v3"][..], "spoken: v3"), (&[][..], "spoken: none")] {
            let refused = check(GOOD, offer, spoken).unwrap_err();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
            let body = String::from_utf8_lossy(refused.body_bytes()).into_owned();
            assert!(body.contains("(binary, base64)"), "{body}");
            assert!(body.contains(says), "{body}");
        }
    }

    #[test]
    fn keys_must_be_sixteen_bytes_of_base64() {
        assert!(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key("dGhlIHNhbXBsZSBub25jZR==")); // stray low bits
        assert!(!is_valid_key("dGhlIHNhbXBsZSBub25j")); // 15 bytes
        assert!(!is_valid_key("dGhlIHNhbXBsZSBub25jZ!=="));
    }
}
