//! An async-std program runs everything on async-std (the default, with
//! nothing chosen, outside any tokio runtime): its executor and blocking
//! pool and async-io's reactor, with no thread of smol's or tokio's
//! started, whatever else is compiled in.
//!
//! One test in its own process, since it reads the process's threads.
#![cfg(feature = "async-std")]

mod common;

use switchyard_rt::Runtime;

#[test]
fn an_async_std_program_runs_everything_on_async_std_and_no_other_runtime() {
    std::env::remove_var(switchyard_rt::RUNTIME_VARIABLE);
    async_std::task::block_on(common::use_everything(Runtime::AsyncStd));
    let names = common::thread_names();
    assert!(
        names.iter().any(|name| name.starts_with("async-std/")),
        "{names:?}"
    );
    common::assert_no_thread_of("an async-std program", &["smol", "tokio", "switchyard-tok"]);
}
