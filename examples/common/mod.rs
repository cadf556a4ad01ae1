//! What every example does the same way: log to stderr, and exit with a
//! clear message (the whole chain of causes) and a non-zero code on error.

#![allow(dead_code)] // each example uses its part

use std::process::ExitCode;

/// Logs to stderr at `info` (or as `RUST_LOG` says), keeping stdout for
/// the program's own output (`listening on ADDR`, replies).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
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
