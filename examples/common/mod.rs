//! What every example does the same way: log to stderr, and exit with a
//! clear message (the whole chain of causes) and a non-zero code on error.

#![allow(dead_code)] // each example uses its part

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use futures::{SinkExt, StreamExt};
use switchyard::frame::MessageConnection;
use switchyard::hub::{HistoryConfig, Hub, HubConfig, MemoryBackplane, MemoryPresence, Presence};
use switchyard::ws::http::{HttpServer, HttpServerConfig};
use switchyard::ws::Router;

/// Logs to stderr at `info` (or as `RUST_LOG` says), keeping stdout for
/// the program's own output (`listening on ADDR`, replies).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal, not in log files.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Exit code 0 on success; otherwise prints `program: error: cause: ...`
/// to stderr and exits 1.
pub fn exit(program: &str, result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{program}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where a server's topics live: in this process, or shared through Redis
/// with every other instance given the same URL (the push and chat
/// examples).
#[derive(clap::Args, Debug)]
pub struct Sharing {
    /// Share topics (and chat rooms' members) with other instances through
    /// the Redis at this URL, e.g. redis://127.0.0.1:6379.
    #[arg(long, env = "SWITCHYARD_REDIS")]
    pub redis: Option<String>,
}

impl Sharing {
    /// A hub whose topics live where asked, keeping `history`; with Redis,
    /// connected (or given up waiting, after 3 s) when it returns.
    pub fn hub(&self, config: HubConfig, history: HistoryConfig) -> anyhow::Result<Hub> {
        Ok(self.hub_and_presence(config, history)?.0)
    }

    /// [`hub`](Self::hub), and where chat rooms' members live: in this
    /// process, or in the same Redis.
    pub fn hub_and_presence(
        &self,
        config: HubConfig,
        history: HistoryConfig,
    ) -> anyhow::Result<(Hub, Arc<dyn Presence>)> {
        let Some(url) = &self.redis else {
            let backplane = Arc::new(MemoryBackplane::new(history));
            let hub = Hub::with_backplane(config, backplane)?;
            return Ok((hub, Arc::new(MemoryPresence::default())));
        };
        let redis = switchyard_redis::RedisConfig::new(url.as_str()).history(history);
        let backplane = switchyard_redis::RedisBackplane::new(redis)
            .with_context(|| format!("cannot use Redis at {url}"))?;
        let hub = Hub::with_backplane(config, backplane.clone())?;
        // Connected before serving, so that the first pages are not
        // refused; a Redis that is down does not stop the server (pushes
        // get 503 until it is back).
        let wait = switchyard::rt::timeout(
            Duration::from_secs(3),
            "connecting to Redis",
            backplane.connected(),
        );
        match switchyard::rt::block_on(wait) {
            Ok(()) => tracing::info!(%url, "topics shared through Redis"),
            Err(e) => tracing::warn!(%url, error = %e, "serving without Redis for now"),
        }
        Ok((hub, backplane))
    }
}

/// Serves `router` on `addr` until the process ends, after printing
/// `listening on ADDR` on stdout (the address a port 0 was given, which
/// users and the tests read).
pub async fn serve_ws(addr: &str, config: HttpServerConfig, router: Router) -> anyhow::Result<()> {
    serve_ws_with(addr, config, router, switchyard::rt::Shutdown::new()).await
}

/// [`serve_ws`], stopping on `shutdown`, which SIGINT and SIGTERM
/// trigger: other servers given it stop too.
#[allow(dead_code)] // Not every example that includes this module uses it.
pub async fn serve_ws_with(
    addr: &str,
    config: HttpServerConfig,
    router: Router,
    shutdown: switchyard::rt::Shutdown,
) -> anyhow::Result<()> {
    let grace = config.shutdown_grace;
    let server = HttpServer::bind(addr, config, router)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?
        .with_shutdown(shutdown);
    println!("listening on {}", server.local_addr()?);
    // SIGINT or SIGTERM: stop accepting and close every WebSocket with
    // 1001 "going away", so that pages know to come back (rather than see
    // 1006); whatever is still open after the grace period does not hold
    // the process.
    let shutdown = server.shutdown();
    ctrlc::set_handler(move || {
        shutdown.trigger();
        std::thread::spawn(move || {
            std::thread::sleep(grace + Duration::from_secs(1));
            std::process::exit(0);
        });
    })
    .context("cannot install the SIGINT/SIGTERM handler")?;
    server.serve().await;
    Ok(())
}

/// The echo clients' check, the same over TCP, UDP and WebSocket because
/// it only needs the shared message interface: sends each message, waits
/// at most `timeout` for its reply, prints the reply on its own line, and
/// fails on the first reply that differs.
pub async fn check_echoes<C>(
    conn: &mut C,
    messages: &[String],
    timeout: Duration,
) -> anyhow::Result<()>
where
    C: MessageConnection + Unpin,
{
    for message in messages {
        conn.send(message.clone().into()).await?;
        let reply = switchyard::rt::timeout(timeout, "waiting for the reply", conn.next())
            .await?
            .context("the connection closed")??;
        println!("{}", String::from_utf8_lossy(&reply));
        if reply != message.as_bytes() {
            bail!("reply {reply:?} does not match {message:?}");
        }
    }
    Ok(())
}
