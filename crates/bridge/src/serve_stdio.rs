//! The `stdio` listener: one session whose client is the process's
//! standard input and output (an interactive client: lines typed go to the
//! target, what it sends is printed), and how it ended printed at the end.

use std::sync::Arc;

use switchyard_ws::CloseReason;

use crate::route_table::RouteTable;
use crate::session::{self, Outcome};
use crate::{dial_websocket, frame_stream, Endpoint};

/// Runs the one session, then prints on standard error how it ended: a
/// WebSocket target's close code and reason, or why the session ended.
/// Whether it ended well: the target closed normally (a WebSocket with
/// 1000 or 1001), or the terminal ended its input.
pub(crate) async fn serve(table: Arc<RouteTable>, max_message: usize) -> bool {
    let Some(route) = table.only() else {
        return false;
    };
    let Some(target) = route.target_for(None) else {
        return false;
    };
    let mut client = frame_stream(
        switchyard_rt::stdio(),
        route.config.dial.framing,
        max_message,
    );
    if target.scheme.is_websocket() {
        // Dialed unboxed, so that its close can be read afterwards.
        let mut dialed = None;
        let dialing = async {
            let conn = dial_websocket(&target, &route.dial).await?;
            Ok(&mut *dialed.insert(conn))
        };
        let outcome =
            session::run_dialed(&mut client, "stdio", &route, &target, dialing, None).await;
        let close = dialed
            .as_ref()
            .and_then(|c| c.get_ref().peer_close().cloned());
        eprintln!("{}", ending(&target, &outcome, close.as_ref()));
        let normal = close.as_ref().is_none_or(|c| matches!(c.code, 1000 | 1001));
        ended_well(&outcome) && normal
    } else {
        let outcome = session::run(&mut client, "stdio", &route, &target).await;
        eprintln!("{}", ending(&target, &outcome, None));
        ended_well(&outcome)
    }
}

/// Whether neither side failed, and the target was reached.
fn ended_well(outcome: &Outcome) -> bool {
    match outcome {
        Outcome::Unreachable(_) => false,
        Outcome::Relayed(report) => !report.a_to_b.is_failure() && !report.b_to_a.is_failure(),
    }
}

/// One line on how a stdio session ended.
fn ending(target: &Endpoint, outcome: &Outcome, close: Option<&CloseReason>) -> String {
    match (outcome, close) {
        (Outcome::Unreachable(e), _) => format!("{target} unreachable: {e}"),
        (_, Some(close)) if close.reason.is_empty() => {
            format!("closed by {target}: {}", close.code)
        }
        (_, Some(close)) => format!("closed by {target}: {} {}", close.code, close.reason),
        (Outcome::Relayed(report), None) => format!(
            "session with {target} ended: to it {}; from it {}",
            report.a_to_b, report.b_to_a
        ),
    }
}
