//! A group chat room, as in the documents: pick a name, send with the button
//! or Enter, see everyone's messages with time and sender, and notices when
//! people join and leave. Rooms by URL.
//!
//! ```text
//! cargo run --example ws_chat -- 127.0.0.1:8080
//! # open http://127.0.0.1:8080/?room=rust in two browser windows
//! ```
//!
//! Wire format (JSON text messages). The page connects to
//! `/ws?room=<room>&name=<name>` and sends `{"text":"hi"}`; everyone in the
//! room, the sender included, receives
//! `{"kind":"message","from":"alice","text":"hi","time":1700000000000}`,
//! and `{"kind":"join"|"leave","from":"alice","time":...}` notices (time in
//! Unix milliseconds). Errors come back as `{"error":"..."}`. Names are 1-32
//! characters, messages at most 1000, rooms 1-128 of `A-Z a-z 0-9 . _ -`.
//!
//! A joining page is first sent who is there,
//! `{"kind":"members","names":["alice","bob"],"time":...}`, and is sent it
//! again whenever it asks with `{"who":true}` (the page asks every 20 s: a
//! member whose server crashed never says goodbye, and drops out of the list
//! once its name expires). A name is one person's per room, on every server
//! sharing the room (`--redis`): a taken one is refused with 1008 "name
//! taken". The page joins again by itself when its server goes away.
//!
//! A joining page is also sent the room's recent messages, after the
//! members message and before its own join, when there are any:
//! `{"kind":"history","messages":[{"kind":"message",...},...]}`, oldest
//! first, at most the last 50 among the room's last 100 events (messages,
//! joins and leaves), kept for an hour. They come from the hub's numbered
//! history (the backplane's: with `--redis`, shared by every instance), up
//! to the position the join was answered at; everything after it comes
//! live, so nothing is shown twice.

mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Parser;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use switchyard::hub::Recovery;
use switchyard::hub::{
    is_valid_topic, Backplane, Delivery, HistoryConfig, Hub, HubConfig, Position, Presence,
    Subscription,
};
use switchyard::push::{run_subscriber, PushConfig};
use switchyard::ws::deflate::DeflateConfig;
use switchyard::ws::http::HttpServerConfig;
use switchyard::ws::{
    websocket, Request, Router, ServerIo, WsConnection, WsMessage, WsServerConfig,
};

const MAX_NAME: usize = 32;
const MAX_TEXT: usize = 1000;
/// Events (messages, joins, leaves) each room keeps for late joiners.
const HISTORY_KEPT: usize = 100;
/// Messages a joiner is sent, at most: a screenful, not the archive.
const HISTORY_SHOWN: usize = 50;
/// How long an event is kept: a room quiet for longer starts afresh.
const HISTORY_TTL: Duration = Duration::from_secs(60 * 60);
/// Rooms with history, at most (room names come from clients; the one
/// published to longest ago is forgotten first). With events of at most
/// about 6 KiB (1000 characters, escaped), history holds at most
/// 256 x 100 x 6 KiB, about 150 MiB, and a few KiB per room in practice.
const HISTORY_ROOMS: usize = 256;

/// What a page sends: something to say, or a question for who is here.
#[derive(Deserialize)]
#[serde(untagged)]
enum Said {
    Text { text: String },
    Who { who: bool },
}

/// What every page in the room receives.
#[derive(Serialize)]
struct Event<'a> {
    kind: &'a str,
    from: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    time: u128,
}

#[derive(Parser)]
#[command(about = "A group chat room in the browser")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:8080")]
    addr: String,
    /// Agree permessage-deflate with pages that offer it (browsers do):
    /// messages of 256 bytes and more are compressed.
    #[arg(long)]
    deflate: bool,
    #[command(flatten)]
    sharing: common::Sharing,
}

fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    let history = HistoryConfig::default()
        .size(HISTORY_KEPT)
        .max_resume(HISTORY_KEPT)
        .ttl(HISTORY_TTL)
        .max_topics(HISTORY_ROOMS);
    let (hub, presence) = args
        .sharing
        .hub_and_presence(HubConfig::default(), history)?;
    let websockets = WsServerConfig::default()
        .max_message(4 * MAX_TEXT + 256)
        .deflate(args.deflate.then(DeflateConfig::default));
    let router = Router::new()
        .page(
            "/",
            "text/html; charset=utf-8",
            include_str!("pages/chat.html"),
        )
        .upgrade(
            "/ws",
            websocket(websockets, move |conn, req| {
                chat(hub.clone(), presence.clone(), conn, req)
            }),
        );
    let config = HttpServerConfig::default();
    switchyard::rt::block_on(common::serve_ws(&args.addr, config, router))
}

fn now() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn event(kind: &str, from: &str, text: Option<&str>) -> Bytes {
    let event = Event {
        kind,
        from,
        text,
        time: now(),
    };
    serde_json::to_vec(&event)
        .map(Bytes::from)
        .unwrap_or_default()
}

fn error(reason: &str) -> Bytes {
    Bytes::from(error_json(reason))
}

fn error_json(reason: &str) -> String {
    serde_json::json!({ "error": reason }).to_string()
}

async fn chat(
    hub: Hub,
    presence: Arc<dyn Presence>,
    mut conn: WsConnection<ServerIo>,
    req: Request,
) {
    use futures::SinkExt;
    let room = req
        .head
        .query_param("room")
        .unwrap_or_else(|| "lobby".into());
    let name = req
        .head
        .query_param("name")
        .unwrap_or_default()
        .trim()
        .to_string();
    let (claim, sub, joined) = match admit(&hub, &presence, &room, &name).await {
        Ok(admitted) => admitted,
        Err(refusal) => {
            let _ = conn
                .send(WsMessage::text(error_json(&refusal.reason)))
                .await;
            let _ = conn.close(refusal.code, refusal.close).await;
            return;
        }
    };
    // Who is here, then everything that happens from now on.
    // (Only the joiner, if the presence cannot say: the page asks again.)
    let here = members(&*presence, &room)
        .await
        .unwrap_or_else(|_| members_message(&[name.as_str()]));
    if conn.send(WsMessage::text(here)).await.is_err() {
        return;
    }
    // What was said before, up to where the join was answered: what
    // follows comes live.
    if let Some(earlier) = history(&**hub.backplane(), &room, &joined).await {
        if conn.send(WsMessage::text(earlier)).await.is_err() {
            return;
        }
    }
    announce(&hub, &room, event("join", &name, None)).await;
    let (room_hub, room_presence) = (hub.clone(), presence.clone());
    let said = |_: &mut Subscription, msg: Bytes| {
        let reply = match serde_json::from_slice::<Said>(&msg) {
            Ok(Said::Text { text }) if text.chars().count() > MAX_TEXT => {
                Reply::Now(error("message too long (1000 characters at most)"))
            }
            Ok(Said::Text { text }) if text.trim().is_empty() => Reply::Nothing,
            Ok(Said::Text { text }) => Reply::Announce(event("message", &name, Some(&text))),
            Ok(Said::Who { who: true }) => Reply::Members,
            Ok(Said::Who { who: false }) => Reply::Nothing,
            Err(_) => Reply::Now(error("expected {\"text\": \"...\"} or {\"who\": true}")),
        };
        let (hub, presence, room) = (room_hub.clone(), room_presence.clone(), room.clone());
        async move {
            match reply {
                Reply::Announce(event) => announce(&hub, &room, event).await.map(error),
                Reply::Members => Some(
                    members(&*presence, &room)
                        .await
                        .map_or_else(|e| e, Bytes::from),
                ),
                Reply::Nothing => None,
                Reply::Now(reply) => Some(reply),
            }
        }
    };
    let report = run_subscriber(conn, sub, &PushConfig::default(), said).await;
    // Free before anyone hears of the leave: a page that rejoins at once
    // finds its name free.
    drop(claim);
    let _ = announce(&hub, &room, event("leave", &name, None)).await;
    tracing::debug!(peer = %req.peer, ?report, "left the chat");
}

/// What a page's message calls for.
enum Reply {
    /// Published to the room.
    Announce(Bytes),
    /// Who is here, to this page.
    Members,
    /// This, to this page.
    Now(Bytes),
    Nothing,
}

/// `{"kind":"members","names":[...],"time":...}`.
fn members_message(names: &[impl Serialize]) -> String {
    serde_json::json!({ "kind": "members", "names": names, "time": now() as u64 }).to_string()
}

/// The members message for `room`; an error for the page if the presence
/// cannot say.
async fn members(presence: &dyn Presence, room: &str) -> Result<String, Bytes> {
    match presence.members(room).await {
        Ok(names) => Ok(members_message(&names)),
        Err(e) => {
            tracing::warn!(%room, error = %e, "members unavailable");
            Err(error("who is here is unknown for now, try again"))
        }
    }
}

/// `text` in quotes for an error message, cut to 40 characters: it came
/// from the client, which is told what it sent, not sent all of it back.
fn quoted(text: &str) -> String {
    const SHOWN: usize = 40;
    if text.chars().count() > SHOWN {
        let cut: String = text.chars().take(SHOWN).collect();
        format!("{:?}", cut + "…")
    } else {
        format!("{text:?}")
    }
}

/// The room's recent messages, up to `joined` (the position the join was
/// answered at), as `{"kind":"history","messages":[...]}`; none when there
/// are none, or when the backplane cannot say (logged: the page goes on
/// without them).
///
/// The hub numbers every event of the room and its backplane keeps the
/// last [`HISTORY_KEPT`]: asking for what followed the position that many
/// events back gives them. When the history does not reach that far back
/// (events expired, or more published since the join), a window half as
/// long is tried, down to one event.
async fn history(backplane: &dyn Backplane, room: &str, joined: &Position) -> Option<String> {
    let mut window = HISTORY_KEPT as u64;
    let events = loop {
        let from = Position {
            offset: joined.offset.saturating_sub(window),
            epoch: joined.epoch.clone(),
        };
        match backplane.since(room, Some(&from)).await {
            Ok(Recovery::Recovered(events)) => break events,
            Ok(Recovery::NotRecovered { .. }) if window > 1 => window /= 2,
            Ok(Recovery::NotRecovered { .. }) => return None,
            Err(e) => {
                tracing::warn!(%room, error = %e, "history unavailable");
                return None;
            }
        }
    };
    // Only what was said (joins and leaves are news of the moment), and
    // only up to the join's position.
    let mut said: Vec<serde_json::Value> = events
        .iter()
        .filter(|event| event.offset <= joined.offset)
        .filter_map(|event| serde_json::from_slice::<serde_json::Value>(&event.data).ok())
        .filter(|event| event["kind"] == "message")
        .collect();
    if said.is_empty() {
        return None;
    }
    let skip = said.len().saturating_sub(HISTORY_SHOWN);
    said.drain(..skip);
    Some(serde_json::json!({ "kind": "history", "messages": said }).to_string())
}

/// Why a page is not let into a room: what it is told, and its close.
struct Refusal {
    reason: String,
    code: u16,
    close: &'static str,
}

impl Refusal {
    /// A request the page got wrong: 1008.
    fn policy(reason: String, close: &'static str) -> Self {
        Self {
            reason,
            code: 1008,
            close,
        }
    }

    /// The room cannot be joined now: 1013, try again.
    fn unavailable() -> Self {
        Self {
            reason: "the room is unavailable, try again shortly".into(),
            code: 1013,
            close: "try again later",
        }
    }
}

/// Lets `name` into `room`: its name checked and claimed (one per room,
/// across every server sharing the presence), and a subscription whose
/// join is answered (with Redis, once this server receives the room's
/// messages), with where in the room it starts.
async fn admit(
    hub: &Hub,
    presence: &Arc<dyn Presence>,
    room: &str,
    name: &str,
) -> Result<(Claim, Subscription, Position), Refusal> {
    if !is_valid_topic(room) {
        let reason = format!(
            "bad room {}: rooms are 1-128 of A-Z a-z 0-9 . _ -",
            quoted(room)
        );
        return Err(Refusal::policy(reason, "bad room"));
    }
    if name.is_empty() {
        let reason = "no name: pick one of 1-32 characters".to_string();
        return Err(Refusal::policy(reason, "bad name"));
    }
    let length = name.chars().count();
    if length > MAX_NAME {
        let reason = format!(
            "bad name {}: it has {length} characters, names are 1-32",
            quoted(name)
        );
        return Err(Refusal::policy(reason, "bad name"));
    }
    match presence.claim(room, name).await {
        Ok(true) => {}
        Ok(false) => {
            let reason = format!("{name} is already in room {room}: pick another name");
            return Err(Refusal::policy(reason, "name taken"));
        }
        Err(e) => {
            tracing::warn!(%room, error = %e, "presence unavailable");
            return Err(Refusal::unavailable());
        }
    }
    let claim = Claim {
        presence: presence.clone(),
        room: room.to_string(),
        name: name.to_string(),
    };
    let mut sub = hub.subscribe();
    if sub.join(room).is_err() {
        return Err(Refusal::unavailable());
    }
    // Only once the join is answered is it announced, so that the page
    // hears of its own.
    match sub.next().await {
        Some(Delivery::Subscribed { position, .. }) => Ok((claim, sub, position)),
        refused => {
            tracing::warn!(%room, ?refused, "cannot join the room");
            Err(Refusal::unavailable())
        }
    }
}

/// A name held in a room; given back when the session ends, however it
/// ends.
struct Claim {
    presence: Arc<dyn Presence>,
    room: String,
    name: String,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.presence.release(&self.room, &self.name);
    }
}

/// Publishes an event to the room; why not, if it was not. Events are
/// built here, as JSON text of bounded size, so the hub takes them; if it
/// ever did not, that is logged.
async fn announce(hub: &Hub, room: &str, event: Bytes) -> Option<&'static str> {
    match hub.publish(room, event).await {
        Ok(_) => None,
        Err(e) => {
            tracing::warn!(%room, error = %e, "event not published");
            Some("not sent: the room is unavailable, try again")
        }
    }
}
