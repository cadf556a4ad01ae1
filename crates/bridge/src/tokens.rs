//! Token files: `?token=NAME` picks a target from a list the operator wrote
//! (websockify's token plugin idea). Clients name a target; they never say
//! where it is.

use std::collections::HashMap;
use std::path::Path;

use crate::Endpoint;

/// Targets by token name, read from a file of `NAME: URL` lines, or
/// websockify's `NAME: HOST:PORT` (a TCP target), so its token files work
/// as they are. Blank lines and lines starting with `#` are skipped.
///
/// ```
/// use switchyard_bridge::TokenMap;
///
/// let tokens = TokenMap::parse("# name: target\nvnc1: tcp://10.0.0.5:5900\ndns: udp://127.0.0.1:53\n")?;
/// assert_eq!(tokens.get("vnc1").map(|e| e.to_string()).as_deref(), Some("tcp://10.0.0.5:5900"));
/// assert!(tokens.get("other").is_none());
/// // websockify's format: a TCP target.
/// let tokens = TokenMap::parse("desk: 192.168.1.7:5901\n")?;
/// assert_eq!(tokens.get("desk").map(|e| e.to_string()).as_deref(), Some("tcp://192.168.1.7:5901"));
/// assert!(TokenMap::parse("vnc1 tcp://10.0.0.5:5900").is_err()); // no colon after the name
/// # Ok::<(), switchyard_bridge::TokenFileError>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct TokenMap {
    targets: HashMap<String, Endpoint>,
}

/// A token file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenFileError {
    /// The file could not be read.
    #[error("cannot read token file {path}: {error}")]
    Read {
        /// The file.
        path: String,
        /// Why. Its message is in this error's own, so it is not also
        /// given as the error's source (which would print it twice).
        error: std::io::Error,
    },
    /// A line is not `NAME: URL`, or names a token twice.
    #[error("token file line {line}: {reason}")]
    Line {
        /// The line number, from 1.
        line: usize,
        /// What is wrong.
        reason: String,
    },
}

impl TokenMap {
    /// Reads and parses a token file.
    pub fn load(path: &Path) -> Result<Self, TokenFileError> {
        let text = std::fs::read_to_string(path).map_err(|error| TokenFileError::Read {
            path: path.display().to_string(),
            error,
        })?;
        Self::parse(&text)
    }

    /// Parses the text of a token file.
    pub fn parse(text: &str) -> Result<Self, TokenFileError> {
        let mut targets = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let error = |reason: String| TokenFileError::Line {
                line: i + 1,
                reason,
            };
            let (name, url) = line
                .split_once(':')
                .filter(|(name, _)| !name.contains('/'))
                .ok_or_else(|| error("expected NAME: URL".into()))?;
            let (name, url) = (name.trim(), url.trim());
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(error(format!(
                    "token name {name:?}: letters, digits, - _ . only"
                )));
            }
            let endpoint: Endpoint = if url.contains("://") {
                url.parse()
            } else {
                format!("tcp://{url}").parse()
            }
            .map_err(|e| error(format!("{e}")))?;
            if targets.insert(name.to_string(), endpoint).is_some() {
                return Err(error(format!("token {name:?} given twice")));
            }
        }
        Ok(Self { targets })
    }

    /// The target of a token.
    pub fn get(&self, name: &str) -> Option<&Endpoint> {
        self.targets.get(name)
    }

    /// Every token and its target.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Endpoint)> {
        self.targets.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// How many tokens there are.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }
}
