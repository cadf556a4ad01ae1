//! switchyard's push inside an axum application on tokio: axum serves the
//! application's own routes (the page, `/health`, and `POST /push`, which
//! publishes with the application's own code), and hands each WebSocket
//! upgrade at `/ws` to switchyard, which checks it as its own server would
//! and runs the push subscriber on the upgraded connection. Everything runs
//! on the application's tokio runtime: no other runtime is started.
//!
//! ```text
//! cargo run --features tokio --example axum_push -- 127.0.0.1:8090
//! # open http://127.0.0.1:8090/ in a browser or two, then:
//! curl -d 'hello' http://127.0.0.1:8090/push
//! ```
//!
//! `POST /push/<topic>` publishes to one topic (watch it at
//! `/?topics=<topic>`); the answer says how many pages it was queued for
//! and its offset in the topic: `{"delivered":1,"offset":42}`. The page is `ws_push`'s: each message comes in a
//! JSON envelope with its topic, offset and epoch.

mod common;

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use clap::Parser;
use hyper_util::rt::TokioIo;
use switchyard::hub::{Hub, HubConfig};
use switchyard::push::{serve_subscriber, PushConfig};
use switchyard::ws::http::RequestHead;
use switchyard::ws::{upgrade_response, WsConnection, WsServerConfig};
use tokio_util::compat::TokioAsyncReadCompatExt;

#[derive(Parser)]
#[command(about = "An axum application with switchyard's push hub behind /ws")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(default_value = "127.0.0.1:8090")]
    addr: String,
}

/// What the handlers share.
struct App {
    hub: Hub,
    /// The checks and limits of the WebSockets switchyard takes over.
    websockets: WsServerConfig,
    push: PushConfig,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    common::init_logging();
    let args = Args::parse();
    let app = Arc::new(App {
        hub: Hub::new(HubConfig::default()),
        websockets: WsServerConfig::default(),
        push: PushConfig::default().numbered(true),
    });
    let routes = axum::Router::new()
        .route("/", get(|| async { Html(include_str!("pages/push.html")) }))
        .route("/health", get(|| async { "ok" }))
        .route("/push", post(push_default))
        .route("/push/{topic}", post(push))
        .route("/ws", get(websocket))
        .with_state(app);
    let listener = tokio::net::TcpListener::bind(&args.addr).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, routes).await?;
    Ok(())
}

/// The application's own publishing route: whatever it checks first, then
/// one call to the hub.
async fn push(State(app): State<Arc<App>>, Path(topic): Path<String>, body: Bytes) -> Response {
    match app.hub.publish(&topic, body).await {
        // What ws_push answers too: where the message is in its topic.
        Ok(receipt) => axum::Json(serde_json::json!({
            "delivered": receipt.delivered.count(),
            "offset": receipt.position.offset,
        }))
        .into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
    }
}

async fn push_default(state: State<Arc<App>>, body: Bytes) -> Response {
    let topic = state.push.default_topic.clone();
    push(state, Path(topic), body).await
}

/// `GET /ws`: switchyard checks the upgrade (origin, version, key) and
/// gives the answer; after a 101, the upgraded connection is a push
/// subscriber of the hub, with the topics the URL names.
async fn websocket(State(app): State<Arc<App>>, mut request: Request) -> Response {
    let answer = upgrade_response(&request, &app.websockets);
    if answer.status() == StatusCode::SWITCHING_PROTOCOLS {
        let head = RequestHead::from_http(&request);
        let upgrading = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let upgraded = match upgrading.await {
                Ok(upgraded) => upgraded,
                Err(e) => return tracing::debug!(error = %e, "upgrade failed"),
            };
            // hyper's stream, as tokio's, as the `futures` traits'.
            let io = TokioIo::new(upgraded).compat();
            let conn = WsConnection::upgraded(io, &app.websockets, &head).await;
            let report = serve_subscriber(conn, &app.hub, &head, &app.push).await;
            tracing::debug!(?report, "subscriber ended");
        });
    }
    answer.map(Body::from)
}
