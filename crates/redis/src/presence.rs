//! Presence in Redis: the names claimed in each room, across every server.
//!
//! A room's names are a sorted set scored with when each claim expires
//! (Unix ms, Redis's clock), and a hash of who holds each: the server that
//! claimed it ([`Shared::holder`]). A server renews the names it holds at
//! every check; a server that crashed or lost Redis stops renewing, and its
//! names expire ([`RedisConfig::presence_ttl`]). Every script first drops
//! the expired names, so a claim or a member list never sees them.
//!
//! A server cut off for longer than the time-to-live comes back to find
//! its names expired: each one still free is claimed again for it (its
//! holder is still connected there), and each one someone else took
//! meanwhile stays theirs. That server stops renewing it and never
//! releases it: a name is one holder's, whatever the partitions.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, PoisonError};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::Script;

use crate::config::{millis, RedisConfig};
use crate::keys::Names;
use crate::scripts::{within, Failure};
use crate::shared::Shared;

/// What every presence script starts with: `now` (Redis's clock, ms), and
/// the expired names of the room gone from both keys. KEYS: the room's
/// names, its holders.
const DROP_EXPIRED: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)) do
  redis.call('HDEL', KEYS[2], gone)
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
";

/// Claims a name. ARGV: the name, the claim's time-to-live (ms), the most
/// names a room holds, the holder. Returns 1 (claimed), 0 (held already)
/// or -1 (the room is full).
const CLAIM: &str = r"
local ttl = tonumber(ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return -1
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
";

/// The live names of a room. ARGV: the most names returned.
const MEMBERS: &str = r"
return redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
";

/// Gives a name back, if this holder holds it. ARGV: the name, the holder.
const RELEASE: &str = r"
if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
";

/// Renews the names this holder holds. ARGV: the claims' time-to-live
/// (ms), the holder, then the names. A name that expired (this server was
/// cut off) is claimed again if still free; one that someone else holds
/// now is not touched, and is returned: it is lost to this holder.
const RENEW: &str = r"
local ttl = tonumber(ARGV[1])
local lost = {}
for i = 3, #ARGV do
  local holder = redis.call('HGET', KEYS[2], ARGV[i])
  if holder == ARGV[2] or not holder then
    redis.call('ZADD', KEYS[1], now + ttl, ARGV[i])
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[2])
  else
    table.insert(lost, ARGV[i])
  end
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return lost
";

/// A presence script: [`DROP_EXPIRED`], then `body`.
fn script(body: &str) -> String {
    format!("{DROP_EXPIRED}{body}")
}

static CLAIM_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&script(CLAIM)));
static MEMBERS_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&script(MEMBERS)));
static RELEASE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(&script(RELEASE)));
static RENEW_TEXT: LazyLock<String> = LazyLock::new(|| script(RENEW));

/// Claims `name` in `room` for `holder`: whether it was free.
pub(crate) async fn claim(
    conn: &mut MultiplexedConnection,
    config: &RedisConfig,
    names: &Names,
    (room, name): (&str, &str),
    holder: &str,
) -> Result<bool, Failure> {
    let mut invocation = CLAIM_SCRIPT.key(names.members(room));
    invocation
        .key(names.holders(room))
        .arg(name)
        .arg(millis(config.presence_ttl))
        .arg(config.max_members)
        .arg(holder);
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
    invocation.key(names.holders(room)).arg(config.max_members);
    let mut members: Vec<String> = within(
        config.request_timeout,
        "listing a room",
        invocation.invoke_async(conn),
    )
    .await?;
    members.sort();
    Ok(members)
}

/// Gives `name` in `room` back, if `holder` holds it.
pub(crate) async fn release(
    conn: &mut MultiplexedConnection,
    limit: Duration,
    names: &Names,
    (room, name): (&str, &str),
    holder: &str,
) -> Result<(), Failure> {
    let mut invocation = RELEASE_SCRIPT.key(names.members(room));
    invocation.key(names.holders(room)).arg(name).arg(holder);
    within(
        limit,
        "releasing a name",
        invocation.invoke_async::<i64>(conn),
    )
    .await
    .map(drop)
}

/// Renews every name this server holds; forgets those someone else holds
/// now (see the module's notes).
pub(crate) async fn renew(
    conn: &mut MultiplexedConnection,
    shared: &Shared,
) -> Result<(), Failure> {
    let held: Vec<(String, Vec<String>)> = shared
        .claims
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(room, names)| (room.clone(), names.iter().cloned().collect()))
        .collect();
    if held.is_empty() {
        return Ok(());
    }
    let config = &shared.config;
    let mut pipe = redis::pipe();
    for (room, names) in &held {
        // EVAL, not EVALSHA, in a pipeline: a script the server lost
        // (a restart) cannot be loaded half-way through one.
        pipe.cmd("EVAL")
            .arg(&**RENEW_TEXT)
            .arg(2)
            .arg(shared.names.members(room))
            .arg(shared.names.holders(room))
            .arg(millis(config.presence_ttl))
            .arg(&shared.holder)
            .arg(names);
    }
    let lost: Vec<Vec<String>> = within(
        config.request_timeout,
        "renewing names",
        pipe.query_async(conn),
    )
    .await?;
    let mut claims = shared.claims.lock().unwrap_or_else(PoisonError::into_inner);
    for ((room, _), lost) in held.iter().zip(lost) {
        for name in lost {
            tracing::warn!(
                %room,
                %name,
                "a name this server held expired while it was cut off from Redis, \
                 and someone else holds it now"
            );
            forget(&mut claims, room, &name);
        }
    }
    Ok(())
}

/// Takes `name` in `room` off this server's claims: whether it was there.
pub(crate) fn forget(
    claims: &mut HashMap<String, HashSet<String>>,
    room: &str,
    name: &str,
) -> bool {
    let held = claims.get_mut(room).is_some_and(|names| names.remove(name));
    if claims.get(room).is_some_and(HashSet::is_empty) {
        claims.remove(room);
    }
    held
}
