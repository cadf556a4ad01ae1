//! [`Auth`]: a bearer token or HTTP Basic credentials, checked in
//! constant time.

use std::net::SocketAddr;

use base64::Engine;
use http::StatusCode;
use subtle::ConstantTimeEq;

use crate::{RequestHead, Response};

/// What a client must present in its `Authorization` header: a bearer
/// token or HTTP Basic credentials. The secret is compared in constant time
/// (the `subtle` crate) and never printed by `Debug`; a missing or wrong
/// credential is answered 401 with a `WWW-Authenticate` challenge.
///
/// Browsers cannot set headers on a WebSocket, but they do send Basic
/// credentials they were asked for on the same origin: serve the page from
/// the same server and the browser asks once.
///
/// Use it as a [`Router::guard`](super::Router::guard) to require it on
/// every path, or call [`refusal`](Self::refusal) from a guard of your own
/// (the bridge leaves `/healthz` open; the push endpoint requires it on
/// `POST` only).
///
/// ```
/// use switchyard_http::{Auth, Response, Router};
///
/// let auth: Auth = "basic:alice:s3cret".parse()?;
/// assert!(matches!(auth, Auth::Basic { .. }));
/// let auth: Auth = "bearer:0123456789abcdef".parse()?;
/// assert!(matches!(auth, Auth::Bearer(_)));
/// assert!("basic:nopassword".parse::<Auth>().is_err());
///
/// let router = Router::new().guard(auth.guard()).page("/", "text/plain", "private");
/// # drop(router);
/// # Ok::<(), switchyard_http::AuthParseError>(())
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

/// Why a string is not an [`Auth`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthParseError {
    /// `basic:` without both a user and a password.
    #[error("basic authentication is basic:USER:PASSWORD")]
    Basic,
    /// Neither `bearer:` nor `basic:`, or an empty token.
    #[error("expected bearer:TOKEN or basic:USER:PASSWORD")]
    Unknown,
}

impl std::str::FromStr for Auth {
    type Err = AuthParseError;

    /// `bearer:TOKEN` or `basic:USER:PASSWORD` (the password may hold `:`).
    fn from_str(s: &str) -> Result<Self, AuthParseError> {
        match s.split_once(':') {
            Some(("bearer", token)) if !token.is_empty() => Ok(Auth::Bearer(token.to_string())),
            Some(("basic", credentials)) => match credentials.split_once(':') {
                Some((user, password)) if !user.is_empty() && !password.is_empty() => {
                    Ok(Auth::Basic {
                        user: user.to_string(),
                        password: password.to_string(),
                    })
                }
                _ => Err(AuthParseError::Basic),
            },
            _ => Err(AuthParseError::Unknown),
        }
    }
}

impl Auth {
    /// Whether the request carries the credential.
    pub fn accepts(&self, head: &RequestHead) -> bool {
        let presented = head.header("authorization").unwrap_or("");
        match self {
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
        }
    }

    /// `None` when the request carries the credential; otherwise the 401 to
    /// answer with, with its challenge.
    pub fn refusal(&self, head: &RequestHead) -> Option<Response> {
        if self.accepts(head) {
            return None;
        }
        let challenge = match self {
            Auth::Bearer(_) => "Bearer realm=\"switchyard\"",
            Auth::Basic { .. } => "Basic realm=\"switchyard\", charset=\"UTF-8\"",
        };
        let response = Response::text(StatusCode::UNAUTHORIZED, "authentication required")
            .typed_header(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static(challenge),
            );
        Some(response)
    }

    /// A [`Router::guard`](super::Router::guard) that requires this
    /// credential on every request.
    pub fn guard(
        self,
    ) -> impl Fn(&RequestHead, SocketAddr) -> Option<Response> + Send + Sync + 'static {
        move |head, _peer| self.refusal(head)
    }
}

/// Compares two secrets in time that depends on their lengths only, not on
/// where they first differ.
fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.ct_eq(expected).into()
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
