//! A tokio program that uses switchyard-rt, choosing nothing, runs
//! everything on its own runtime: tasks, blocking work, timers and every
//! kind of socket, with no thread of async-io's, async-std's, smol's or
//! switchyard's own started.
//!
//! One test in its own process, since it reads the process's threads.
#![cfg(feature = "tokio")]

mod common;

use switchyard_rt::Runtime;

#[test]
fn a_tokio_program_runs_everything_on_its_own_runtime_and_no_other() {
    // What this test is about is the choice made with nothing set.
    std::env::remove_var(switchyard_rt::RUNTIME_VARIABLE);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(common::use_everything(Runtime::Tokio));
    assert!(common::thread_names()
        .iter()
        .any(|name| name.starts_with("tokio-r")));
    common::assert_no_thread_of(
        "a tokio program",
        &[
            "async-io",
            "async-std",
            "async-global",
            "smol",
            "blocking",
            "switchyard-tok",
        ],
    );
}
