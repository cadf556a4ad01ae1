//! The `switchyard-bridge` command line.

use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use switchyard_bridge::cli::Cli;
use switchyard_bridge::{Bridge, Endpoint};

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    if let Err(e) = run(Cli::parse()) {
        eprintln!("switchyard-bridge: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let config = cli.into_config()?;
    let grace = config.shutdown_grace;
    let listeners: Vec<Endpoint> = config.listeners.iter().map(|l| l.listen.clone()).collect();
    let routes: Vec<Vec<String>> = config
        .listeners
        .iter()
        .map(|l| l.routes.iter().map(describe_route).collect())
        .collect();
    let bridge = switchyard_rt::block_on(Bridge::bind(config))?;
    for ((listen, addr), routes) in listeners.iter().zip(bridge.local_addrs()).zip(&routes) {
        println!("listening on {}://{addr}", listen.scheme.as_str());
        // Every route and where it goes, as the operator meant it.
        for route in routes {
            tracing::info!("{}://{addr}{route}", listen.scheme.as_str());
        }
    }
    let shutdown = bridge.shutdown();
    ctrlc::set_handler(move || {
        shutdown.trigger();
        // Whatever is still open after the grace period does not hold the
        // process: exit regardless a moment later.
        std::thread::spawn(move || {
            std::thread::sleep(grace + Duration::from_secs(2));
            eprintln!("switchyard-bridge: sessions still open after the grace period; exiting");
            std::process::exit(0);
        });
    })
    .context("cannot install the SIGINT/SIGTERM handler")?;
    switchyard_rt::block_on(bridge.serve());
    Ok(())
}

/// `PATH -> TARGET` for a WebSocket listener's route (`/` takes every path
/// no other route takes), `-> TARGET` for a TCP or UDP listener's.
fn describe_route(route: &switchyard_bridge::RouteConfig) -> String {
    let target = match &route.target {
        switchyard_bridge::TargetSpec::Fixed(endpoint) => endpoint.to_string(),
        switchyard_bridge::TargetSpec::Tokens(tokens) => {
            let mut names: Vec<String> = tokens
                .iter()
                .map(|(name, endpoint)| format!("{name}={endpoint}"))
                .collect();
            names.sort();
            format!("by ?token= ({})", names.join(", "))
        }
    };
    let path = if route.path == "/" {
        "/ (every path)"
    } else {
        &route.path
    };
    format!("{path} -> {target}")
}
