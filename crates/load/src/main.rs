//! `switchyard-load`: drives a server with echo, stream, fan-out, held
//! connections or connection churn, over ws, wss, tcp and udp, and reports
//! messages/s, MB/s, latency percentiles (hdrhistogram) and errors, as text
//! or `--json`. Every run is bounded in connections and time and stops by
//! itself.

mod connect;
mod echo;
mod fanout;
mod hold;
mod probe;
mod publish;
mod report;
mod stamp;
mod stream;
mod subscriber;
mod wire;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use switchyard_endpoint::{BoxConnection, DialOptions, Endpoint, StreamFraming};

const EXAMPLES: &str = "\
Examples:
  switchyard-load echo ws://127.0.0.1:8080/ws --connections 100 --size 32 --duration 10
  switchyard-load echo tcp://127.0.0.1:7001 --framing length-prefixed --rate 20000
  switchyard-load echo ws://127.0.0.1:8080/ws --connections 100 --window 16 --pid $(pidof ws_echo_server)
  switchyard-load stream ws://127.0.0.1:8080/bulk --size 65536 --connections 1
  switchyard-load fanout --subscribe ws://127.0.0.1:8080/ws --publish http://127.0.0.1:8080/push \\
      --subscribers 1000 --rate 100 --size 256
  switchyard-load fanout --subscribe ws://127.0.0.1:8080/ws --publish http://127.0.0.1:8080/push \\
      --subscribers 1000 --rate 20 --size 16384 --duration 20 --slow-fraction 0.1
  switchyard-load hold ws://127.0.0.1:8080/ws --connections 10000 --pid $(pidof ws_push)
  switchyard-load connect ws://127.0.0.1:8080/ws --connections 8 --duration 5";

/// Load generator for switchyard and its peers.
#[derive(Debug, Parser)]
#[command(name = "switchyard-load", version, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
    /// One line of JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// What fills each message after its time stamp: dots, or JSON
    /// records or English text cut from a run of them (to measure
    /// compression on realistic data).
    #[arg(long, global = true, value_enum, default_value_t = stamp::Content::Dots)]
    content: stamp::Content,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// N connections send messages and time each echo (closed loop, or --rate).
    Echo(Common),
    /// N connections send as fast as they can, one way; MB/s.
    Stream(Common),
    /// Subscribers on a WebSocket, a publisher at a fixed rate; delivery latency and deliveries/s.
    Fanout(Fanout),
    /// Open N idle connections and keep them; the server's memory per connection with --pid.
    Hold(Hold),
    /// Connections per second: connect (and handshake), close, again.
    Connect(Common),
}

#[derive(Debug, Clone, Args)]
struct Common {
    /// ws://, wss://, tcp:// or udp:// URL of the server.
    target: Endpoint,
    /// Connections (for connect: how many connect at once).
    #[arg(long, default_value_t = 10)]
    connections: usize,
    /// Message size in bytes.
    #[arg(long, default_value_t = 32)]
    size: usize,
    /// Seconds to run (at most 3600).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Messages per second over all connections (echo); 0 for closed loop.
    #[arg(long, default_value_t = 0.0)]
    rate: f64,
    /// Closed-loop echo: messages in flight on each connection (1 to 1024).
    /// Above 1 the load generator sends and reads in batches, so that it
    /// can keep a server busier than itself.
    #[arg(long, default_value_t = 1)]
    window: usize,
    /// The server's process id: its CPU use over the run is reported.
    #[arg(long)]
    pid: Option<u32>,
    /// How TCP is cut into messages: raw, lines or length-prefixed.
    #[arg(long, default_value = "length-prefixed")]
    framing: StreamFraming,
    /// WebSocket text messages instead of binary.
    #[arg(long)]
    text: bool,
    /// Extra CA certificate (PEM) to trust for wss://.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Offer permessage-deflate on WebSockets (as browsers do).
    #[arg(long)]
    deflate: bool,
}

#[derive(Debug, Args)]
struct Fanout {
    /// WebSocket URL the subscribers connect to; repeated, subscribers are
    /// spread over the URLs in turn (servers sharing topics).
    #[arg(long, required = true)]
    subscribe: Vec<Endpoint>,
    /// Where to publish: http://HOST:PORT/PATH (one POST per message) or a ws:// URL.
    #[arg(long)]
    publish: String,
    /// HTTP publishes under way at once (1-1024): a server that answers a
    /// POST only once its backplane has (Redis) needs more to keep the rate.
    #[arg(long, default_value_t = 32)]
    posts_in_flight: usize,
    /// Subscribers.
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Messages per second published.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Message size in bytes.
    #[arg(long, default_value_t = 256)]
    size: usize,
    /// Seconds to publish (at most 3600).
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// The server's process id: its CPU use and peak resident memory over
    /// the run are reported, and its resident memory before the
    /// subscribers connect.
    #[arg(long)]
    pid: Option<u32>,
    /// Share of the subscribers that read slowly, 0 to 1 (rounded to a
    /// whole number of subscribers, spread evenly over them). Their
    /// deliveries, latency and ends are reported apart (`slow_*`): the
    /// main figures are the other subscribers'. A server is expected to
    /// cut slow subscribers off, and must not let them hold the others back.
    #[arg(long, default_value_t = 0.0)]
    slow_fraction: f64,
    /// How long a slow subscriber rests after each message it reads while
    /// messages are published, in milliseconds (1 to 60,000): the default
    /// reads one a second. Once publishing is over it reads at full speed,
    /// to learn whether the server cut it off.
    #[arg(long, default_value_t = 1000)]
    slow_read_delay_ms: u64,
    /// Subscribers offer permessage-deflate (as browsers do).
    #[arg(long)]
    deflate: bool,
}

#[derive(Debug, Args)]
struct Hold {
    /// ws://, wss:// or tcp:// URL of the server.
    target: Endpoint,
    /// Connections to open and keep (at most 100,000).
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Seconds to keep them once open.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// The server's process id: its resident memory is read before and after.
    #[arg(long)]
    pid: Option<u32>,
    /// Extra CA certificate (PEM) to trust for wss://.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Adds NAME=cN to each WebSocket's query, N the connection's number
    /// (repeatable): for servers that want each connection named, e.g.
    /// ws_chat with `--numbered-param name --numbered-param room`.
    #[arg(long = "numbered-param", value_name = "NAME")]
    numbered_params: Vec<String>,
    /// Offer permessage-deflate (as browsers do).
    #[arg(long)]
    deflate: bool,
}

/// The longest run, and the most connections, a run may ask for.
const MAX_SECONDS: f64 = 3600.0;
const MAX_CONNECTIONS: usize = 100_000;

fn seconds(s: f64) -> anyhow::Result<Duration> {
    anyhow::ensure!(
        s > 0.0 && s <= MAX_SECONDS,
        "a duration is 0 to {MAX_SECONDS} seconds"
    );
    Ok(Duration::from_secs_f64(s))
}

fn dial_options(
    framing: StreamFraming,
    text: bool,
    size: usize,
    ca: Option<&std::path::Path>,
    deflate: bool,
) -> anyhow::Result<DialOptions> {
    let mut options = DialOptions::default()
        .framing(framing)
        .text(text)
        .max_message(size.max(1 << 20) * 2)
        .deflate(deflate.then(switchyard_ws::deflate::DeflateConfig::default));
    if let Some(ca) = ca {
        options = options.tls(switchyard_ws::client_tls(Some(ca))?);
    }
    Ok(options)
}

/// Dials `target`, with the endpoint named in the error.
async fn dial(target: &Endpoint, options: &DialOptions) -> anyhow::Result<BoxConnection> {
    switchyard_endpoint::dial(target, options)
        .await
        .with_context(|| format!("cannot reach {target}"))
}

fn main() {
    let cli = Cli::parse();
    let json = cli.json;
    stamp::set_content(cli.content);
    match switchyard_rt::block_on(run(cli.mode)) {
        Ok(report) => report.print(json),
        Err(e) => {
            eprintln!("switchyard-load: {e:#}");
            std::process::exit(1);
        }
    }
}

async fn run(mode: Mode) -> anyhow::Result<report::Report> {
    match mode {
        Mode::Echo(c) | Mode::Stream(c) | Mode::Connect(c)
            if c.connections > MAX_CONNECTIONS || c.connections == 0 =>
        {
            anyhow::bail!("--connections is 1 to {MAX_CONNECTIONS}")
        }
        Mode::Echo(c) => echo::run(&c).await,
        Mode::Stream(c) => stream::run(&c).await,
        Mode::Connect(c) => connect::run(&c).await,
        Mode::Fanout(f) => fanout::run(&f).await,
        Mode::Hold(h) => hold::run(&h).await,
    }
}
