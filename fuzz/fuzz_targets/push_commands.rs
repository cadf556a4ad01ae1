//! A push subscriber's JSON commands on any bytes: a command names a valid
//! topic, and writes back as JSON that parses to itself; anything else is
//! an error whose text is what the client is told.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_ws::{is_valid_topic, SubscriberCommand};

fuzz_target!(|bytes: &[u8]| {
    match SubscriberCommand::parse(bytes) {
        Ok(command) => {
            let topic = match &command {
                SubscriberCommand::Subscribe(t) | SubscriberCommand::Unsubscribe(t) => t,
                _ => return,
            };
            assert!(is_valid_topic(topic));
            let again = serde_json::to_vec(&command).unwrap();
            assert_eq!(SubscriberCommand::parse(&again).unwrap(), command);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
