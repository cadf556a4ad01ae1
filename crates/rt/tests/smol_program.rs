//! A smol program that chooses smol runs everything on it: smol's
//! executor, `blocking`'s pool and async-io's reactor, with no thread of
//! async-std's or tokio's started.
//!
//! One test in its own process, since it reads the process's threads.
#![cfg(feature = "smol")]

mod common;

use switchyard_rt::Runtime;

#[test]
fn a_smol_program_runs_everything_on_smol_and_no_other_runtime() {
    std::env::remove_var(switchyard_rt::RUNTIME_VARIABLE);
    Runtime::Smol.set_default();
    smol::block_on(common::use_everything(Runtime::Smol));
    let names = common::thread_names();
    assert!(
        names.iter().any(|name| name.starts_with("smol-")),
        "{names:?}"
    );
    common::assert_no_thread_of(
        "a smol program",
        &["async-std", "async-global", "tokio", "switchyard-tok"],
    );
}
