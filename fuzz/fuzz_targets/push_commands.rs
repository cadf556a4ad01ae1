//! A push subscriber's JSON commands on any bytes: a command names a valid
//! topic (and a resume a valid epoch), and writes back as JSON that parses
//! to itself; anything else is an error whose text is what the client is
//! told.

#![no_main]

use libfuzzer_sys::fuzz_target;
use switchyard_push::hub::is_valid_topic;
use switchyard_push::SubscriberCommand;

fuzz_target!(|bytes: &[u8]| {
    match SubscriberCommand::parse(bytes) {
        Ok(command) => {
            let topic = match &command {
                SubscriberCommand::Subscribe { topic, since } => {
                    if let Some(since) = since {
                        assert!(is_valid_topic(since.epoch.as_str()));
                    }
                    topic
                }
                SubscriberCommand::Unsubscribe(topic) => topic,
                _ => return,
            };
            assert!(is_valid_topic(topic));
            let again = command.to_json();
            assert_eq!(SubscriberCommand::parse(again.as_bytes()).unwrap(), command);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
