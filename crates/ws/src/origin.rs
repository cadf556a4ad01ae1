//! Which web pages may open a WebSocket to this server.

/// The `Origin` check of the upgrade. Browsers send `Origin` with every
/// WebSocket request, and a page from any site can open a WebSocket to any
/// server, carrying the user's cookies: without this check, any site the
/// user visits can talk to this server as the user (cross-site WebSocket
/// hijacking). The documents' Go code let every origin in; the default here
/// does not.
///
/// A request without `Origin` (not from a browser: curl, a Rust client) is
/// allowed by every policy.
///
/// ```
/// use switchyard_ws::OriginPolicy;
///
/// let same = OriginPolicy::SameHost;
/// assert!(same.allows(Some("http://127.0.0.1:8080"), Some("127.0.0.1:8080")));
/// assert!(!same.allows(Some("https://evil.example"), Some("127.0.0.1:8080")));
/// assert!(same.allows(None, Some("127.0.0.1:8080")));
///
/// let list = OriginPolicy::allow(["https://app.example.com"]);
/// assert!(list.allows(Some("https://APP.example.com"), Some("api.example.com")));
/// assert!(!list.allows(Some("http://app.example.com"), Some("api.example.com")));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OriginPolicy {
    /// The default: the origin's host and port must equal the request's
    /// `Host` header (gorilla/websocket's default check).
    #[default]
    SameHost,
    /// Exactly these origins (`scheme://host[:port]`, compared without
    /// regard to case), plus same-host.
    Allow(Vec<String>),
    /// Every origin: only for servers that carry no user credentials.
    AllowAny,
}

impl OriginPolicy {
    /// An allowlist policy.
    pub fn allow<S: Into<String>>(origins: impl IntoIterator<Item = S>) -> Self {
        Self::Allow(origins.into_iter().map(Into::into).collect())
    }

    /// Whether a request with this `Origin` and `Host` may upgrade.
    pub fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let same_host = || match (origin_host(origin), host) {
            (Some(o), Some(h)) => o.eq_ignore_ascii_case(h),
            _ => false,
        };
        match self {
            OriginPolicy::AllowAny => true,
            OriginPolicy::SameHost => same_host(),
            OriginPolicy::Allow(list) => {
                same_host()
                    || list
                        .iter()
                        .any(|allowed| allowed.eq_ignore_ascii_case(origin))
            }
        }
    }
}

/// The `host[:port]` of an origin `scheme://host[:port]`.
fn origin_host(origin: &str) -> Option<&str> {
    let (_, rest) = origin.split_once("://")?;
    Some(rest.split('/').next().unwrap_or(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_null_origin_and_lookalikes_are_refused() {
        let p = OriginPolicy::SameHost;
        assert!(!p.allows(Some("null"), Some("localhost:8080")));
        assert!(!p.allows(
            Some("http://localhost:8080.evil.example"),
            Some("localhost:8080")
        ));
        assert!(!p.allows(Some("http://localhost:8081"), Some("localhost:8080")));
        assert!(!p.allows(Some("http://localhost:8080"), None));
        assert!(OriginPolicy::AllowAny.allows(Some("null"), None));
    }
}
