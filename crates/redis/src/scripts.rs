//! The requests a [`RedisBackplane`](crate::RedisBackplane) makes: the
//! publish and resume scripts (Lua, run atomically in Redis), the periodic
//! read of topics' positions, and how their replies are read.
//!
//! Offsets are only ever given by the publish script, inside Redis: every
//! server publishing to a topic shares one counter, and every message is
//! numbered, kept and published in one step, so the history and the
//! pub/sub stream never disagree on what offset a message has.
//!
//! A topic's history is a Redis stream whose entry IDs are `<offset>-1`:
//! `XADD ... MAXLEN size` trims it exactly to the history's size, and
//! `XRANGE (<offset>-1 +` finds the messages after a position without
//! scanning (a list would need the position turned into an index, and
//! would trust that offsets and indexes never drift apart).

use std::sync::LazyLock;
use std::time::Duration;

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use redis::{RedisError, Script, Value};
use switchyard_hub::{BackplaneError, Epoch, HistoryConfig, Position, Recovery};

use crate::config::{millis, RedisConfig};
use crate::keys::Names;
use crate::payload::{is_valid_epoch, parse_offset};
use crate::recovery::{decide, Kept, Snapshot};

/// Numbers, keeps and publishes one message.
///
/// KEYS: meta, history, and the publish key if there is one.
/// ARGV: a new epoch (used if the topic has none), the data, the history
/// size, the history's time-to-live (ms), the meta's time-to-live (ms),
/// the publish key's time-to-live (ms), the channel.
/// Returns `{offset, epoch, duplicate (0/1)}`.
const PUBLISH: &str = r"
local meta, history, seen_key = KEYS[1], KEYS[2], KEYS[3]
if seen_key then
  local seen = redis.call('GET', seen_key)
  if seen then
    local space = string.find(seen, ' ', 1, true)
    if space then
      return {string.sub(seen, 1, space - 1), string.sub(seen, space + 1), 1}
    end
  end
end
if redis.call('HSETNX', meta, 'epoch', ARGV[1]) == 1 then
  -- A new run of offsets: whatever was kept belongs to an old one.
  redis.call('DEL', history)
end
redis.call('HINCRBY', meta, 'offset', 1)
local offset = redis.call('HGET', meta, 'offset')
local epoch = redis.call('HGET', meta, 'epoch')
redis.call('PEXPIRE', meta, ARGV[5])
if tonumber(ARGV[3]) > 0 then
  local now = redis.call('TIME')
  local ms = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
  local id = offset .. '-1'
  local added = redis.pcall('XADD', history, 'MAXLEN', ARGV[3], id, 't', ms, 'd', ARGV[2])
  if type(added) == 'table' and added.err then
    -- Entries at or after this offset: left from a counter that was lost.
    redis.call('DEL', history)
    redis.call('XADD', history, 'MAXLEN', ARGV[3], id, 't', ms, 'd', ARGV[2])
  end
  redis.call('PEXPIRE', history, ARGV[4])
end
redis.call('PUBLISH', ARGV[7], offset .. ' ' .. epoch .. ' ' .. ARGV[2])
if seen_key then
  redis.call('SET', seen_key, offset .. ' ' .. epoch, 'PX', ARGV[6])
end
return {offset, epoch, 0}
";

/// Reads a topic's position, Redis's clock, and the kept messages after
/// a position (only when they could make a resume: same epoch, at most
/// the resume limit). Gives a topic that has none its epoch, so that it
/// is the same for every server asking.
///
/// KEYS: meta, history.
/// ARGV: a new epoch (used if the topic has none), the meta's
/// time-to-live (ms), the caller's epoch (empty: none), the caller's
/// offset, the most messages to read.
/// Returns `{offset, epoch, now (ms), [id, published (ms), data]...}`.
const SINCE: &str = r"
local meta, history = KEYS[1], KEYS[2]
if redis.call('HSETNX', meta, 'epoch', ARGV[1]) == 1 then
  redis.call('DEL', history)
end
redis.call('PEXPIRE', meta, ARGV[2])
local found = redis.call('HMGET', meta, 'offset', 'epoch')
local offset = found[1] or '0'
local epoch = found[2]
local now = redis.call('TIME')
local ms = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
local out = {offset, epoch, ms}
local missed = tonumber(offset) - tonumber(ARGV[4])
if epoch == ARGV[3] and missed > 0 and missed <= tonumber(ARGV[5]) then
  local entries = redis.call('XRANGE', history, '(' .. ARGV[4] .. '-1', '+', 'COUNT', missed)
  for _, entry in ipairs(entries) do
    local fields = entry[2]
    local at, data = '0', ''
    for i = 1, #fields, 2 do
      if fields[i] == 't' then
        at = fields[i + 1]
      elseif fields[i] == 'd' then
        data = fields[i + 1]
      end
    end
    out[#out + 1] = entry[1]
    out[#out + 1] = at
    out[#out + 1] = data
  end
end
return out
";

static PUBLISH_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(PUBLISH));
static SINCE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(SINCE));

/// Topics whose positions one pipeline reads.
const CHECK_BATCH: usize = 512;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The connection failed, or Redis did not answer in time: it must be
    /// replaced.
    Connection(String),
    /// Redis answered with an error, or with something unexpected.
    Reply(String),
}

impl Failure {
    /// Whether the connection must be replaced.
    pub(crate) fn is_connection(&self) -> bool {
        matches!(self, Self::Connection(_))
    }

    /// What the hub is told.
    pub(crate) fn into_error(self) -> BackplaneError {
        match self {
            Self::Connection(reason) => BackplaneError::Down { reason },
            Self::Reply(reason) => BackplaneError::Failed { reason },
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Connection(reason) | Self::Reply(reason) => f.write_str(reason),
        }
    }
}

impl From<RedisError> for Failure {
    fn from(e: RedisError) -> Self {
        if e.is_io_error() || e.is_unrecoverable_error() {
            Self::Connection(e.to_string())
        } else {
            Self::Reply(e.to_string())
        }
    }
}

fn unexpected(what: &str) -> Failure {
    Failure::Reply(format!("unexpected reply from Redis to {what}"))
}

/// Runs `request` for at most `limit`.
pub(crate) async fn within<T>(
    limit: Duration,
    what: &str,
    request: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T, Failure> {
    match switchyard_rt::timeout(limit, what, request).await {
        Ok(result) => result.map_err(Failure::from),
        Err(timed_out) => Err(Failure::Connection(timed_out.to_string())),
    }
}

/// Loads both scripts, so that the first publish after connecting is one
/// round trip (EVALSHA loads a missing script by itself, too).
pub(crate) async fn load(conn: &mut MultiplexedConnection, limit: Duration) -> Result<(), Failure> {
    within(limit, "loading the scripts", async {
        PUBLISH_SCRIPT.load_async(conn).await?;
        SINCE_SCRIPT.load_async(conn).await
    })
    .await
    .map(drop)
}

/// What a publish did: where the message is, and whether it was a
/// duplicate of an earlier one with the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Published {
    pub(crate) position: Position,
    pub(crate) duplicate: bool,
}

/// Publishes `data` to `topic` (at most once per `key`).
pub(crate) async fn publish(
    conn: &mut MultiplexedConnection,
    config: &RedisConfig,
    names: &Names,
    topic: &str,
    data: &[u8],
    key: Option<&str>,
    limit: Duration,
) -> Result<Published, Failure> {
    let mut invocation = PUBLISH_SCRIPT.prepare_invoke();
    invocation.key(names.meta(topic)).key(names.history(topic));
    if let Some(key) = key {
        invocation.key(names.publish_key(topic, key));
    }
    invocation
        .arg(Epoch::fresh().as_str())
        .arg(data)
        .arg(history_size(&config.history))
        .arg(millis(config.history.ttl))
        .arg(millis(config.key_ttl))
        .arg(millis(config.idempotency_ttl))
        .arg(names.channel(topic));
    let reply: Value = within(limit, "publish", invocation.invoke_async(conn)).await?;
    parse_published(&reply).ok_or_else(|| unexpected("a publish"))
}

/// The history size as Redis takes it (MAXLEN is a signed 64-bit number).
fn history_size(history: &HistoryConfig) -> u64 {
    u64::try_from(history.size)
        .unwrap_or(u64::MAX)
        .min(i64::MAX as u64)
}

fn parse_published(reply: &Value) -> Option<Published> {
    let Value::Array(items) = reply else {
        return None;
    };
    let [offset, epoch, duplicate] = items.as_slice() else {
        return None;
    };
    Some(Published {
        position: Position {
            offset: number(offset)?,
            epoch: epoch_of(epoch)?,
        },
        duplicate: number(duplicate)? == 1,
    })
}

/// What followed `position` in `topic` (or its current position).
pub(crate) async fn since(
    conn: &mut MultiplexedConnection,
    config: &RedisConfig,
    names: &Names,
    topic: &str,
    position: Option<&Position>,
) -> Result<Recovery, Failure> {
    let snapshot = read_since(conn, config, names, topic, position).await?;
    Ok(decide(position, snapshot, &config.history))
}

async fn read_since(
    conn: &mut MultiplexedConnection,
    config: &RedisConfig,
    names: &Names,
    topic: &str,
    position: Option<&Position>,
) -> Result<Snapshot, Failure> {
    let most = if config.history.is_on() {
        config.history.max_resume.min(config.history.size)
    } else {
        0
    };
    let mut invocation = SINCE_SCRIPT.prepare_invoke();
    invocation
        .key(names.meta(topic))
        .key(names.history(topic))
        .arg(Epoch::fresh().as_str())
        .arg(millis(config.key_ttl))
        .arg(position.map_or("", |p| p.epoch.as_str()))
        .arg(position.map_or(0, |p| p.offset))
        .arg(most);
    let limit = config.request_timeout;
    let reply: Value = within(limit, "resume", invocation.invoke_async(conn)).await?;
    parse_snapshot(reply).ok_or_else(|| unexpected("a resume"))
}

fn parse_snapshot(reply: Value) -> Option<Snapshot> {
    let Value::Array(items) = reply else {
        return None;
    };
    let mut items = items.into_iter();
    let offset = number(&items.next()?)?;
    let epoch = epoch_of(&items.next()?)?;
    let now_ms = number(&items.next()?)?;
    let mut kept = Vec::with_capacity(items.len() / 3);
    while let Some(id) = items.next() {
        let (at, data) = (items.next()?, items.next()?);
        // Entry IDs are `<offset>-1`.
        let id = text(&id)?;
        let offset = parse_offset(id.split('-').next()?.as_bytes())?;
        let data = match data {
            Value::BulkString(bytes) => Bytes::from(bytes),
            _ => return None,
        };
        kept.push(Kept {
            offset,
            at_ms: number(&at)?,
            data,
        });
    }
    Some(Snapshot {
        current: Position { offset, epoch },
        now_ms,
        kept,
    })
}

/// Each topic's position in Redis (none: Redis has no such topic), read
/// in pipelines; each topic's meta is kept alive for `key_ttl` more.
pub(crate) async fn positions(
    conn: &mut MultiplexedConnection,
    config: &RedisConfig,
    names: &Names,
    topics: &[&str],
) -> Result<Vec<Option<Position>>, Failure> {
    let (ttl, limit) = (millis(config.key_ttl), config.request_timeout);
    let mut out = Vec::with_capacity(topics.len());
    for batch in topics.chunks(CHECK_BATCH) {
        let mut pipe = redis::pipe();
        for topic in batch {
            let meta = names.meta(topic);
            pipe.cmd("HMGET").arg(&meta).arg("offset").arg("epoch");
            pipe.cmd("PEXPIRE").arg(&meta).arg(ttl).ignore();
        }
        let replies: Vec<Value> =
            within(limit, "reading positions", pipe.query_async(conn)).await?;
        if replies.len() != batch.len() {
            return Err(unexpected("reading positions"));
        }
        for reply in replies {
            out.push(parse_position(&reply).ok_or_else(|| unexpected("reading positions"))?);
        }
    }
    Ok(out)
}

/// A topic's `HMGET offset epoch`: `Some(None)` when it has no epoch.
fn parse_position(reply: &Value) -> Option<Option<Position>> {
    let Value::Array(items) = reply else {
        return None;
    };
    let [offset, epoch] = items.as_slice() else {
        return None;
    };
    if matches!(epoch, Value::Nil) {
        return Some(None);
    }
    let offset = match offset {
        Value::Nil => 0,
        other => number(other)?,
    };
    Some(Some(Position {
        offset,
        epoch: epoch_of(epoch)?,
    }))
}

fn text(value: &Value) -> Option<&str> {
    match value {
        Value::BulkString(bytes) => std::str::from_utf8(bytes).ok(),
        Value::SimpleString(s) => Some(s),
        _ => None,
    }
}

fn number(value: &Value) -> Option<u64> {
    match value {
        // Non-negative: at most MAX_OFFSET.
        Value::Int(n) => u64::try_from(*n).ok(),
        other => parse_offset(text(other)?.as_bytes()),
    }
}

fn epoch_of(value: &Value) -> Option<Epoch> {
    let epoch = text(value)?;
    is_valid_epoch(epoch.as_bytes()).then(|| Epoch::new(epoch))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bulk(s: impl AsRef<[u8]>) -> Value {
        Value::BulkString(s.as_ref().to_vec())
    }

    #[test]
    fn replies_are_read_and_anything_else_is_refused() {
        let published = parse_published(&Value::Array(vec![bulk("7"), bulk("e-1"), Value::Int(1)]));
        assert_eq!(
            published,
            Some(Published {
                position: Position {
                    offset: 7,
                    epoch: Epoch::new("e-1")
                },
                duplicate: true
            })
        );
        assert_eq!(
            parse_published(&Value::Array(vec![bulk("7"), bulk("e 1"), Value::Int(0)])),
            None
        );
        assert_eq!(parse_published(&Value::Int(3)), None);

        let snapshot = parse_snapshot(Value::Array(vec![
            bulk("12"),
            bulk("e"),
            bulk("1700000000123"),
            bulk("11-1"),
            bulk("1700000000000"),
            bulk("a b"),
            bulk("12-1"),
            bulk("1700000000100"),
            bulk(""),
        ]))
        .unwrap();
        assert_eq!(snapshot.current.offset, 12);
        assert_eq!(snapshot.now_ms, 1_700_000_000_123);
        let offsets: Vec<_> = snapshot
            .kept
            .iter()
            .map(|k| (k.offset, &k.data[..]))
            .collect();
        assert_eq!(offsets, [(11, &b"a b"[..]), (12, &b""[..])]);
        // A truncated entry, or a bad ID.
        assert_eq!(
            parse_snapshot(Value::Array(vec![
                bulk("1"),
                bulk("e"),
                bulk("5"),
                bulk("1-1")
            ])),
            None
        );
        let bad_id = vec![
            bulk("1"),
            bulk("e"),
            bulk("5"),
            bulk("x-1"),
            bulk("0"),
            bulk("d"),
        ];
        assert_eq!(parse_snapshot(Value::Array(bad_id)), None);

        assert_eq!(
            parse_position(&Value::Array(vec![Value::Nil, Value::Nil])),
            Some(None)
        );
        assert_eq!(
            parse_position(&Value::Array(vec![Value::Nil, bulk("e")])),
            Some(Some(Position {
                offset: 0,
                epoch: Epoch::new("e")
            }))
        );
        assert_eq!(
            parse_position(&Value::Array(vec![bulk("-3"), bulk("e")])),
            None
        );
    }

    #[test]
    fn history_size_fits_redis() {
        assert_eq!(
            history_size(&HistoryConfig::default().size(usize::MAX)),
            i64::MAX as u64
        );
        assert_eq!(history_size(&HistoryConfig::off()), 0);
    }
}
