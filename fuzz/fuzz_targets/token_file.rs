//! Token files on any text: a map whose every name is in the file, at most
//! one per line, each with a target that prints and parses back; or an
//! error naming a line of the file.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_bridge::{Endpoint, TokenFileError, TokenMap};

fuzz_target!(|text: &str| {
    match TokenMap::parse(text) {
        Ok(map) => {
            assert!(map.len() <= text.lines().count());
            for (name, target) in map.iter() {
                assert!(!name.is_empty() && text.contains(name));
                let again: Endpoint = target.to_string().parse().unwrap();
                assert_eq!(&again, target);
            }
        }
        Err(TokenFileError::Line { line, .. }) => {
            assert!(line >= 1 && line <= text.lines().count(), "line {line}");
        }
        Err(e) => panic!("unexpected error {e}"),
    }
});
