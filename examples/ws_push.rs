//! Server push: a page that shows pushed messages live, and an HTTP endpoint
//! that pushes to every open page.
//!
//! ```text
//! cargo run --example ws_push -- 127.0.0.1:8080
//! # open http://127.0.0.1:8080/ in a browser or two, then:
//! curl -d 'hello' http://127.0.0.1:8080/push
//! ```
//!
//! `POST /push` publishes to the default topic, `POST /push/<topic>` to a
//! topic (open `/?topics=<topic>` to watch one); the reply says where the
//! message is in its topic and how many pages it was queued for:
//! `{"delivered":1,"epoch":"...","offset":42}`. A push with an
//! `Idempotency-Key` header is published once however often it is sent.
//! With `--token T`, pushes need `Authorization: Bearer T`. With
//! `--push-listen ADDR`, pushes are taken on that address instead (say one
//! that only the application's back end can reach), on a thread of their
//! own: a push is then never queued behind the writes of earlier pushes to
//! every page. It is not slowed by them either: a server pushed to faster
//! than it can write cuts pages off as slow consumers, where on the pages'
//! address it would answer pushes later. A page that
//! cannot keep up is disconnected with 1008 "slow consumer"; every other
//! page keeps receiving.
//!
//! Pages receive each message with its topic, offset and epoch
//! (`{"topic":"default","offset":42,"epoch":"...","data":"hello"}`), and the
//! last `--history` messages of each topic are kept for `--history-ttl`
//! seconds: a page that reconnects asks for what it missed
//! (`/ws?since=default:41:EPOCH`) and gets exactly that, or is told it
//! cannot (`{"subscribed":"default","recovered":false,...}`).
//!
//! Several instances share their topics through Redis with
//! `--redis redis://127.0.0.1:6379` (or `SWITCHYARD_REDIS`): a push to any
//! of them reaches the pages on all, and a page resumes on whichever it
//! reconnects to. Pushes are answered 503 while Redis is unreachable.

mod common;

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchyard::hub::{HistoryConfig, HubConfig};
use switchyard::push::{push_handler, subscriber_handler, PushConfig};
use switchyard::ws::deflate::DeflateConfig;
use switchyard::ws::http::{HttpServer, HttpServerConfig};
use switchyard::ws::{websocket, Router, WsServerConfig};

#[derive(Parser)]
#[command(about = "Pushes every POST /push body to every open page")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:8080")]
    addr: String,
    /// Require this bearer token on pushes.
    #[arg(long)]
    token: Option<String>,
    /// Messages a page may be behind in a topic before it counts as a slow
    /// consumer.
    #[arg(long, default_value_t = 256)]
    queue: usize,
    /// Largest push body, in bytes.
    #[arg(long, default_value_t = 64 << 10)]
    max_body: usize,
    /// Messages kept per topic for pages that reconnect (0: none).
    #[arg(long, default_value_t = 100)]
    history: usize,
    /// How long kept messages stay, in seconds.
    #[arg(long, default_value_t = 300)]
    history_ttl: u64,
    /// Take pushes on this address (port 0 picks a free port), on a thread
    /// of their own, instead of on the pages' address.
    #[arg(long)]
    push_listen: Option<String>,
    /// Most WebSockets open at once; one more is answered 503. Default:
    /// the library's (10,000).
    #[arg(long)]
    max_connections: Option<usize>,
    /// Agree permessage-deflate with subscribers that offer it (browsers
    /// do): messages of 256 bytes and more are compressed.
    #[arg(long)]
    deflate: bool,
    /// Have every subscriber's task write its pushes (which the hub's
    /// writer threads otherwise write to subscribers directly): for
    /// comparison.
    #[arg(long)]
    no_direct: bool,
    /// At most how often, in milliseconds, the writer threads write what
    /// was queued for a subscriber meanwhile, all of it in one write:
    /// longer costs the server less per message and adds latency.
    #[arg(long, default_value_t = 10)]
    drain_interval: u64,
    #[command(flatten)]
    sharing: common::Sharing,
}

fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    let history = HistoryConfig::default()
        .size(args.history)
        .ttl(Duration::from_secs(args.history_ttl));
    let hub = args.sharing.hub(
        HubConfig::default()
            .queue_messages(args.queue)
            .drain_interval(Duration::from_millis(args.drain_interval)),
        history,
    )?;
    let mut push = PushConfig::default().numbered(true).direct(!args.no_direct);
    if let Some(token) = args.token {
        push = push.token(token);
    }
    let publish = push_handler(hub.clone(), push.clone());
    let deflate = args.deflate.then(DeflateConfig::default);
    let websockets = WsServerConfig::default().deflate(deflate);
    let mut router = Router::new()
        .page(
            "/",
            "text/html; charset=utf-8",
            include_str!("pages/push.html"),
        )
        .upgrade("/ws", websocket(websockets, subscriber_handler(hub, push)));
    let mut config = HttpServerConfig::default().max_body(args.max_body);
    // One signal stops both servers (SIGINT or SIGTERM triggers it).
    let shutdown = switchyard::rt::Shutdown::new();
    let with_pushes = |router: Router| {
        router
            .post("/push", publish.clone())
            .post_prefix("/push/", publish)
    };
    match &args.push_listen {
        Some(addr) => {
            let pushes = with_pushes(Router::new());
            // The pages' limits on connections do not apply here: it opens
            // no WebSockets.
            let server =
                switchyard::rt::block_on(HttpServer::bind(addr.as_str(), config.clone(), pushes))
                    .with_context(|| format!("cannot listen on {addr}"))?
                    .with_shutdown(shutdown.clone());
            tracing::info!("pushes taken on {}", server.local_addr()?);
            switchyard::rt::spawn_thread("pushes", async move {
                server.serve().await;
                tracing::info!("pushes no longer taken");
            })?;
        }
        None => router = with_pushes(router),
    }
    if let Some(max) = args.max_connections {
        config = config.max_connections(max);
    }
    switchyard::rt::block_on(common::serve_ws_with(&args.addr, config, router, shutdown))
}
