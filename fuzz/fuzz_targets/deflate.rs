//! permessage-deflate on anything a peer sends: offers and answers of
//! `Sec-WebSocket-Extensions` are accepted, declined or refused (never a
//! panic); compressed payloads, cut into frames anywhere, inflate within
//! the largest message or fail cleanly, and what was compressed here comes
//! back whole when it fits; any byte stream through the frame layer is
//! taken or refused, what it passes on within the limit's reach.

#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use switchyard_ws::deflate::{
    accept_offer, check_response, Compressor, DeflateConfig, Decompressor, Inbound, InflateError,
};

#[derive(Arbitrary, Debug)]
struct Input {
    header: String,
    /// The largest message, up to 64 KiB.
    max: u16,
    /// Where the payload is cut into frames.
    cuts: Vec<u16>,
    /// Compress `payload` first (a valid stream), or inflate it as it is.
    compress_first: bool,
    /// Context takeover: the state kept from message to message.
    takeover: bool,
    window_bits: u8,
    payload: Vec<u8>,
}

fuzz_target!(|input: Input| {
    let config = DeflateConfig::default();
    if let Some(params) = accept_offer([input.header.as_str()], &config) {
        let answer = params.response();
        assert!(check_response([answer.as_str()], &config).is_ok(), "{answer}");
    }
    let _ = check_response([input.header.as_str()], &config);

    let bits = 9 + input.window_bits % 7;
    let payload = if input.compress_first {
        let mut compressed = Vec::new();
        Compressor::new(bits, !input.takeover).compress(&input.payload, &mut compressed);
        compressed
    } else {
        input.payload.clone()
    };
    let max = usize::from(input.max);
    let mut cuts: Vec<usize> = input.cuts.iter().map(|&c| usize::from(c) % (payload.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.push(payload.len());
    let mut inflater = Decompressor::new(bits, !input.takeover);
    let mut out = Vec::new();
    let mut start = 0;
    let mut result = Ok(());
    for (i, &end) in cuts.iter().enumerate() {
        result = inflater.inflate(&payload[start..end], i + 1 == cuts.len(), max, &mut out);
        assert!(out.len() <= max, "{} > {max}", out.len());
        if result.is_err() {
            break;
        }
        start = end;
    }
    // The same bytes as a stream of frames from the peer, in the same
    // pieces.
    let mut frames = Inbound::new(Decompressor::new(bits, !input.takeover), max);
    let (mut pending, mut passed) = (Vec::new(), Vec::new());
    let mut from = 0;
    for &end in &cuts {
        pending.extend_from_slice(&input.payload[from.min(input.payload.len())..end.min(input.payload.len())]);
        from = end;
        // As the stream under tungstenite does: again while it takes
        // something, tungstenite taking what was passed on in between.
        let mut failed = false;
        loop {
            let given = pending.len();
            match frames.rewrite(&pending, &mut passed) {
                Ok(n) => {
                    pending.drain(..n);
                    // One call passes on at most what it took and one
                    // compressed frame's inflated message and header.
                    assert!(passed.len() <= given + max + 14, "{} passed", passed.len());
                    passed.clear();
                    if n == 0 || pending.is_empty() {
                        break;
                    }
                }
                Err(e) => {
                    assert!(e.code == 1009 || e.code == 1007, "{e}");
                    failed = true;
                    break;
                }
            }
        }
        if failed {
            break;
        }
        // Held back: at most a compressed frame within the limit and its
        // header.
        assert!(pending.len() <= max + 14, "{} held", pending.len());
        passed.clear();
    }
    if input.compress_first {
        if input.payload.len() <= max {
            assert_eq!(result, Ok(()));
            assert_eq!(out, input.payload);
        } else {
            assert_eq!(result, Err(InflateError::TooLarge { max }));
        }
    }
});
