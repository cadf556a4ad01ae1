//! The `switchyard-bridge` command line.

use std::time::Duration;

use clap::Parser;
use switchyard_bridge::cli::Cli;
use switchyard_bridge::{Bridge, Scheme};

fn main() {
    let cli = Cli::parse();
    // An interactive client (`switchyard-bridge stdio URL`) shows the
    // conversation and, at the end, the close: its log says only what went
    // wrong. A server logs what it serves.
    let client = cli.is_stdio_client();
    let level = if client { "warn" } else { "info" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| level.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = run(cli) {
        eprintln!("switchyard-bridge: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.clone().into_config()?;
    let grace = config.shutdown_grace;
    // Standard output is a session's when stdio is an endpoint.
    let stdio = config.listeners.iter().any(|l| {
        l.listen.scheme == Scheme::Stdio
            || l.routes.iter().any(|r| {
                matches!(&r.target, switchyard_bridge::TargetSpec::Fixed(e) if e.scheme == Scheme::Stdio)
            })
    });
    let routes: Vec<Vec<String>> = config
        .listeners
        .iter()
        .map(|l| {
            let websocket = l.listen.scheme.is_websocket();
            l.routes
                .iter()
                .map(|r| describe_route(websocket, r))
                .collect()
        })
        .collect();
    let bridge = switchyard_rt::block_on(Bridge::bind(config))?;
    let shutdown = bridge.shutdown();
    let stop = move || {
        shutdown.trigger();
        // Whatever is still open after the grace period does not hold the
        // process: exit regardless a moment later.
        std::thread::spawn(move || {
            std::thread::sleep(grace + Duration::from_secs(2));
            eprintln!("switchyard-bridge: sessions still open after the grace period; exiting");
            std::process::exit(0);
        });
    };
    // Before "listening on": a signal sent as soon as that is read must
    // find its handler.
    signals::handle(stop, bridge.reloader(), cli)?;
    for (bound, routes) in bridge.local_endpoints().iter().zip(&routes) {
        let listening = match bound.scheme {
            Scheme::Ws | Scheme::Wss => {
                format!("{}://{}", bound.scheme.as_str(), bound.authority())
            }
            _ => bound.to_string(),
        };
        if bound.scheme == Scheme::Stdio {
            // A client: it listens to nobody.
            continue;
        } else if stdio {
            eprintln!("listening on {listening}");
        } else {
            println!("listening on {listening}");
        }
        // Every route and where it goes, as the operator meant it.
        for route in routes {
            match bound.scheme {
                Scheme::Ws | Scheme::Wss => tracing::info!("{listening}{route}"),
                _ => tracing::info!("{listening} {route}"),
            }
        }
    }
    if switchyard_rt::block_on(bridge.serve()).stdio_failed {
        std::process::exit(1);
    }
    Ok(())
}

/// What the bridge does on signals.
#[cfg(unix)]
mod signals {
    use anyhow::Context;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use switchyard_bridge::cli::Cli;
    use switchyard_bridge::Reloader;

    /// SIGINT and SIGTERM call `stop`, once; SIGHUP reads the configuration
    /// again (the `--config` file, or the command line's `--tokens` file)
    /// and applies its routes, or says why not and keeps the running ones.
    pub fn handle(
        stop: impl FnOnce() + Send + 'static,
        reloader: Reloader,
        cli: Cli,
    ) -> anyhow::Result<()> {
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
            .context("cannot install the signal handlers")?;
        std::thread::spawn(move || {
            let mut stop = Some(stop);
            for signal in signals.forever() {
                if signal != SIGHUP {
                    if let Some(stop) = stop.take() {
                        stop();
                    }
                    continue;
                }
                let applied = cli
                    .clone()
                    .into_config()
                    .map_err(anyhow::Error::from)
                    .and_then(|config| Ok(reloader.reload(config)?));
                match applied {
                    Ok(()) => tracing::info!(
                        "SIGHUP: configuration read again; new sessions use its routes"
                    ),
                    Err(e) => tracing::error!(
                        "SIGHUP: configuration not applied, the running one kept: {e:#}"
                    ),
                }
            }
        });
        Ok(())
    }
}

/// What the bridge does on signals.
#[cfg(not(unix))]
mod signals {
    use anyhow::Context;
    use switchyard_bridge::cli::Cli;
    use switchyard_bridge::Reloader;

    /// Ctrl-C calls `stop`; there is no reload signal here.
    pub fn handle(stop: impl FnOnce() + Send + 'static, _: Reloader, _: Cli) -> anyhow::Result<()> {
        let stop = std::sync::Mutex::new(Some(stop));
        ctrlc::set_handler(move || {
            if let Some(stop) = stop.lock().ok().and_then(|mut s| s.take()) {
                stop();
            }
        })
        .context("cannot install the Ctrl-C handler")
    }
}

/// `PATH -> TARGET` for a WebSocket listener's route (`/` takes every path
/// no other route takes), `-> TARGET` for another listener's.
fn describe_route(websocket: bool, route: &switchyard_bridge::RouteConfig) -> String {
    let target = match (&route.target, route.target.tokens()) {
        (switchyard_bridge::TargetSpec::Fixed(endpoint), _) => endpoint.to_string(),
        (spec, tokens) => {
            let mut names: Vec<String> = tokens
                .iter()
                .flat_map(|t| {
                    t.iter()
                        .map(|(name, endpoint)| format!("{name}={endpoint}"))
                        .collect::<Vec<_>>()
                })
                .collect();
            names.sort();
            match spec {
                switchyard_bridge::TargetSpec::TokenFile(file) => format!(
                    "by ?token= from {} (read again when it changes; now {})",
                    file.path().display(),
                    names.join(", ")
                ),
                _ => format!("by ?token= ({})", names.join(", ")),
            }
        }
    };
    match (websocket, route.path.as_str()) {
        (false, _) => format!("-> {target}"),
        (true, "/") => format!("/ (every path) -> {target}"),
        (true, path) => format!("{path} -> {target}"),
    }
}
