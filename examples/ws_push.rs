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
//! topic (open `/?topics=<topic>` to watch one); the reply is
//! `{"delivered":N}`. With `--token T`, pushes need `Authorization: Bearer T`.
//! A page that cannot keep up is disconnected with 1008 "slow consumer";
//! every other page keeps receiving.

mod common;

use clap::Parser;
use switchyard::ws::{
    push_handler, subscriber_handler, Hub, HubConfig, PushConfig, Router, WsServerConfig,
};

#[derive(Parser)]
#[command(about = "Pushes every POST /push body to every open page")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:8080")]
    addr: String,
    /// Require this bearer token on pushes.
    #[arg(long)]
    token: Option<String>,
    /// Messages queued per page before it counts as a slow consumer.
    #[arg(long, default_value_t = 256)]
    queue: usize,
    /// Largest push body, in bytes.
    #[arg(long, default_value_t = 64 << 10)]
    max_body: usize,
}

fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    let hub = Hub::new(HubConfig::default().queue_messages(args.queue));
    let mut push = PushConfig::default();
    if let Some(token) = args.token {
        push = push.token(token);
    }
    let publish = push_handler(hub.clone(), push.clone());
    let router = Router::new()
        .page(
            "/",
            "text/html; charset=utf-8",
            include_str!("pages/push.html"),
        )
        .websocket("/ws", subscriber_handler(hub, push))
        .post("/push", publish.clone())
        .post_prefix("/push/", publish);
    let config = WsServerConfig::default().max_body(args.max_body);
    switchyard::rt::block_on(common::serve_ws(&args.addr, config, router))
}
