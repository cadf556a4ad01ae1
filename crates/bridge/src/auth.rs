//! Authentication of WebSocket listeners: a bearer token or HTTP Basic.

use base64::Engine;
use http::StatusCode;
use switchyard_ws::http::{RequestHead, Response};

/// What a client must present in its `Authorization` header. Checked on
/// every request to the listener (upgrades, static files, metrics) except
/// `GET /healthz`; a missing or wrong credential is answered 401 before
/// anything else happens.
///
/// Browsers cannot set headers on a WebSocket, but they do send Basic
/// credentials they were asked for on the same origin: serve the page with
/// `--web` from the same listener and the browser asks once.
///
/// ```
/// use switchyard_bridge::Auth;
///
/// let auth: Auth = "basic:alice:s3cret".parse().unwrap();
/// assert!(matches!(auth, Auth::Basic { .. }));
/// let auth: Auth = "bearer:0123456789abcdef".parse().unwrap();
/// assert!(matches!(auth, Auth::Bearer(_)));
/// assert!("basic:nopassword".parse::<Auth>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// `Authorization: Bearer TOKEN`.
    Bearer(String),
    /// `Authorization: Basic base64(USER:PASSWORD)`.
    Basic {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        match self {
            Auth::Bearer(_) => f.write_str("Auth::Bearer(..)"),
            Auth::Basic { user, .. } => write!(f, "Auth::Basic {{ user: {user:?}, .. }}"),
        }
    }
}

impl std::str::FromStr for Auth {
    type Err = String;

    /// `bearer:TOKEN` or `basic:USER:PASSWORD`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once(':') {
            Some(("bearer", token)) if !token.is_empty() => Ok(Auth::Bearer(token.to_string())),
            Some(("basic", credentials)) => match credentials.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    Ok(Auth::Basic {
                        user: user.to_string(),
                        password: password.to_string(),
                    })
                }
                _ => Err("basic authentication is basic:USER:PASSWORD".into()),
            },
            _ => Err("expected bearer:TOKEN or basic:USER:PASSWORD".into()),
        }
    }
}

impl Auth {
    /// `None` when the request carries the credential; otherwise the 401 to
    /// answer with.
    pub fn refusal(&self, head: &RequestHead) -> Option<Response> {
        let presented = head.header("authorization").unwrap_or("");
        let ok = match self {
            Auth::Bearer(token) => presented
                .strip_prefix("Bearer ")
                .is_some_and(|given| same_secret(given.trim().as_bytes(), token.as_bytes())),
            Auth::Basic { user, password } => presented
                .strip_prefix("Basic ")
                .and_then(|b64| {
                    base64::engine::general_purpose::STANDARD
                        .decode(b64.trim())
                        .ok()
                })
                .is_some_and(|given| same_secret(&given, format!("{user}:{password}").as_bytes())),
        };
        if ok {
            return None;
        }
        let challenge = match self {
            Auth::Bearer(_) => "Bearer realm=\"switchyard-bridge\"",
            Auth::Basic { .. } => "Basic realm=\"switchyard-bridge\", charset=\"UTF-8\"",
        };
        let response = Response::text(StatusCode::UNAUTHORIZED, "authentication required")
            .typed_header(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static(challenge),
            );
        Some(response)
    }
}

/// Compares two secrets in time that depends on their lengths only, not on
/// where they first differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(authorization: Option<&str>) -> RequestHead {
        let mut raw = String::from("GET /x HTTP/1.1\r\nHost: h\r\n");
        if let Some(value) = authorization {
            raw.push_str(&format!("Authorization: {value}\r\n"));
        }
        raw.push_str("\r\n");
        RequestHead::parse(raw.as_bytes(), 4096).unwrap().unwrap().0
    }

    #[test]
    fn bearer_tokens_must_match_exactly() {
        let auth = Auth::Bearer("s3cret".into());
        assert!(auth.refusal(&head(Some("Bearer s3cret"))).is_none());
        for wrong in [
            None,
            Some("Bearer s3cre"),
            Some("Bearer s3cret2"),
            Some("Basic s3cret"),
        ] {
            let refusal = auth.refusal(&head(wrong)).expect("refused");
            assert_eq!(refusal.status(), StatusCode::UNAUTHORIZED);
            assert!(refusal.headers().contains_key("www-authenticate"));
        }
    }

    #[test]
    fn basic_credentials_are_decoded_and_compared() {
        let auth: Auth = "basic:alice:pa:ss".parse().unwrap();
        let good = base64::engine::general_purpose::STANDARD.encode("alice:pa:ss");
        let bad = base64::engine::general_purpose::STANDARD.encode("alice:pass");
        assert!(auth
            .refusal(&head(Some(&format!("Basic {good}"))))
            .is_none());
        assert!(auth.refusal(&head(Some(&format!("Basic {bad}")))).is_some());
        assert!(auth.refusal(&head(Some("Basic !!!notbase64"))).is_some());
        assert!(!format!("{auth:?}").contains("pa:ss"));
    }
}
