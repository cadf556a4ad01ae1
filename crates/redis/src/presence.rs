//! Presence in Redis: the names claimed in each room, across every server.
//!
//! A room's names are a sorted set scored with when each claim expires
//! (Unix ms, Redis's clock). A server renews the names it holds at every
//! check; a server that crashed or lost Redis stops renewing, and its names
//! expire ([`RedisConfig::presence_ttl`]). Every script first drops the
//! expired names, so a claim or a member list never sees them.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Script;

use crate::config::{millis, RedisConfig};
use crate::keys::Names;
use crate::scripts::{within, Failure};
use crate::shared::Shared;

/// Claims a name. KEYS: the room's members. ARGV: the name, the claim's
/// time-to-live (ms), the most names a room holds.
/// Returns 1 (claimed), 0 (held already) or -1 (the room is full).
const CLAIM: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return -1
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// The live names of a room. KEYS: the room's members. ARGV: the most
/// names returned.
const MEMBERS: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
";

/// Renews names held here. KEYS: the room's members. ARGV: the claims'
/// time-to-live (ms), then the names. A name that expired while this server
/// was cut off from Redis is claimed again: its holder is still connected
/// here. (If someone took it on another server meanwhile, both now hold
/// it; only a partition longer than the time-to-live allows that.)
const RENEW: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
";

static CLAIM_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(CLAIM));
static MEMBERS_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(MEMBERS));

/// Claims `name` in `room`: whether it was free.
pub(crate) async fn claim(
    conn: &mut MultiplexedConnection,
    config: &RedisConfig,
    names: &Names,
    room: &str,
    name: &str,
) -> Result<bool, Failure> {
    let mut invocation = CLAIM_SCRIPT.key(names.members(room));
    invocation
        .arg(name)
        .arg(millis(config.presence_ttl))
        .arg(config.max_members);
    let claimed: i64 = within(
        config.request_timeout,
        "claiming a name",
        invocation.invoke_async(conn),
    )
    .await?;
    match claimed {
        1 => Ok(true),
        0 => Ok(false),
        _ => Err(Failure::Reply(format!(
            "room {room} is full ({} names)",
            config.max_members
        ))),
    }
}

/// The names in `room`, sorted.
pub(crate) async fn members(
    conn: &mut MultiplexedConnection,
    config: &RedisConfig,
    names: &Names,
    room: &str,
) -> Result<Vec<String>, Failure> {
    let mut invocation = MEMBERS_SCRIPT.key(names.members(room));
    invocation.arg(config.max_members);
    let mut members: Vec<String> = within(
        config.request_timeout,
        "listing a room",
        invocation.invoke_async(conn),
    )
    .await?;
    members.sort();
    Ok(members)
}

/// Gives `name` in `room` back.
pub(crate) async fn release(
    conn: &mut MultiplexedConnection,
    limit: Duration,
    names: &Names,
    room: &str,
    name: &str,
) -> Result<(), Failure> {
    let mut command = redis::cmd("ZREM");
    command.arg(names.members(room)).arg(name);
    within(limit, "releasing a name", command.query_async::<i64>(conn))
        .await
        .map(drop)
}

/// Renews every name this server holds.
pub(crate) async fn renew(
    conn: &mut MultiplexedConnection,
    shared: &Shared,
) -> Result<(), Failure> {
    let held: HashMap<String, HashSet<String>> = shared
        .claims
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    if held.is_empty() {
        return Ok(());
    }
    let config = &shared.config;
    let mut pipe = redis::pipe();
    for (room, names) in &held {
        // EVAL, not EVALSHA, in a pipeline: a script the server lost
        // (a restart) cannot be loaded half-way through one.
        pipe.cmd("EVAL")
            .arg(RENEW)
            .arg(1)
            .arg(shared.names.members(room))
            .arg(millis(config.presence_ttl))
            .arg(names.iter().collect::<Vec<_>>())
            .ignore();
    }
    within(
        config.request_timeout,
        "renewing names",
        pipe.query_async::<()>(conn),
    )
    .await
}
