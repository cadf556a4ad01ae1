//! The bridge's TOML configuration on any text: a configuration or an
//! error that points at a line of the file (never a panic).

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use switchyard_bridge::{BridgeConfig, ConfigFileError};

fuzz_target!(|text: &str| {
    match BridgeConfig::from_toml(text, "fuzz.toml", Path::new("/nonexistent")) {
        Ok(config) => {
            let _ = config.validate();
        }
        Err(ConfigFileError::Syntax { line, .. } | ConfigFileError::Invalid { line, .. }) => {
            assert!(line >= 1 && line <= text.lines().count() + 1, "line {line}");
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
