//! Token files: `?token=NAME` picks a target from a list the operator wrote
//! (websockify's token plugin idea). Clients name a target; they never say
//! where it is.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

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
/// assert!(TokenMap::parse("me: stdio://").is_err()); // not the bridge's own terminal
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
        let read = |error| TokenFileError::Read {
            path: path.display().to_string(),
            error,
        };
        let size = std::fs::metadata(path).map_err(read)?.len();
        if size > MAX_TOKEN_FILE {
            return Err(read(std::io::Error::other(format!(
                "{size} bytes, over the {MAX_TOKEN_FILE}-byte limit"
            ))));
        }
        // At most one byte over the limit, however much it grew since.
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MAX_TOKEN_FILE + 1).read_to_string(&mut text))
            .map_err(read)?;
        if text.len() as u64 > MAX_TOKEN_FILE {
            return Err(read(std::io::Error::other(format!(
                "over the {MAX_TOKEN_FILE}-byte limit"
            ))));
        }
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
            if endpoint.scheme == crate::Scheme::Stdio {
                // A client must not pick the bridge's own terminal.
                return Err(error("stdio cannot be a token's target".into()));
            }
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

/// The largest token file read: 16 MiB, some 200,000 tokens.
pub const MAX_TOKEN_FILE: u64 = 16 << 20;

/// A token file, read again when it changes (its modification time, size
/// or inode differs from the last read; checked at every upgrade to a
/// token route, one `stat`), as websockify reads its token files for every
/// connection: a target added or removed takes effect for the next
/// session without a reload. A file that changes into something that
/// cannot be used (a mistake, half written) is reported once and its last
/// good tokens are kept.
///
/// ```
/// use switchyard_bridge::TokenFile;
///
/// let path = std::env::temp_dir().join(format!("tokens-doc-{}.txt", std::process::id()));
/// std::fs::write(&path, "vnc1: tcp://10.0.0.5:5900\n")?;
/// let file = TokenFile::load(&path)?;
/// assert!(file.current().get("vnc1").is_some());
///
/// std::fs::write(&path, "vnc1: tcp://10.0.0.5:5900\nvnc2: tcp://10.0.0.6:5900\n")?;
/// assert!(file.current().get("vnc2").is_some());
///
/// std::fs::write(&path, "vnc1 tcp://10.0.0.5:5900\n")?; // a mistake: the last good tokens stay
/// assert!(file.current().get("vnc2").is_some());
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct TokenFile {
    path: PathBuf,
    loaded: Mutex<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    /// What the file looked like when last read (good or not).
    stamp: Option<(SystemTime, u64, u64)>,
    tokens: Arc<TokenMap>,
}

impl TokenFile {
    /// Reads a token file, which must be usable now.
    pub fn load(path: &Path) -> Result<Self, TokenFileError> {
        let stamp = stamp(path);
        let tokens = Arc::new(TokenMap::load(path)?);
        Ok(Self {
            path: path.to_path_buf(),
            loaded: Mutex::new(Loaded { stamp, tokens }),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The tokens as the file says now: read again if it changed since the
    /// last read; the last good ones if it cannot be read or parsed.
    pub fn current(&self) -> Arc<TokenMap> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let now = stamp(&self.path);
        if now != loaded.stamp {
            loaded.stamp = now;
            match TokenMap::load(&self.path) {
                Ok(tokens) => {
                    tracing::info!(file = %self.path.display(), tokens = tokens.len(), "token file read again");
                    loaded.tokens = Arc::new(tokens);
                }
                Err(e) => tracing::warn!(
                    file = %self.path.display(),
                    error = %e,
                    "token file changed but cannot be used; keeping its last good tokens"
                ),
            }
        }
        loaded.tokens.clone()
    }
}

/// A file's modification time, size and (on Unix) inode, `None` if it
/// cannot be seen: an editor that writes a new file and renames it over
/// the old one changes the inode even within one tick of the clock.
fn stamp(path: &Path) -> Option<(SystemTime, u64, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some((meta.modified().ok()?, meta.len(), inode))
}
