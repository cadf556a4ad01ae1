//! `cfg(async_io)`: async-io's reactor and timers are compiled in, for
//! async-std or smol (both run on them).

fn main() {
    println!("cargo::rustc-check-cfg=cfg(async_io)");
    if std::env::var_os("CARGO_FEATURE_ASYNC_STD").is_some()
        || std::env::var_os("CARGO_FEATURE_SMOL").is_some()
    {
        println!("cargo::rustc-cfg=async_io");
    }
}
