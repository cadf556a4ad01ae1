//! Encode and decode throughput of the framings and formats, per message
//! size: `cargo bench -p switchyard-frame`. Sans-IO: no sockets, so these
//! figures are the framing layer's own cost.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use serde::{Deserialize, Serialize};
use switchyard_frame::{Bincode, Format, Framing, Json, LengthPrefixed, Lines};

const SIZES: [usize; 3] = [32, 4096, 65536];

/// Encodes a batch of messages into one buffer, then decodes them all back.
fn round_trip<F: Framing>(framing: &mut F, msg: &[u8], batch: usize, wire: &mut BytesMut) {
    wire.clear();
    for _ in 0..batch {
        framing.encode(msg, wire).expect("encodes");
    }
    let mut decoded = 0;
    while let Some(m) = framing.decode(wire).expect("decodes") {
        decoded += m.len();
    }
    assert_eq!(decoded, msg.len() * batch);
}

fn framings(c: &mut Criterion) {
    let mut group = c.benchmark_group("framing round trip");
    for size in SIZES {
        let batch = (1 << 20) / size;
        group.throughput(Throughput::Bytes((size * batch) as u64));
        let mut wire = BytesMut::with_capacity((size + 8) * batch);
        let binary = vec![0xa5u8; size];
        group.bench_with_input(
            BenchmarkId::new("length-prefixed", size),
            &binary,
            |b, msg| {
                let mut framing = LengthPrefixed::default();
                b.iter(|| round_trip(&mut framing, msg, batch, &mut wire));
            },
        );
        let text = vec![b'x'; size];
        group.bench_with_input(BenchmarkId::new("lines", size), &text, |b, msg| {
            let mut framing = Lines::new(1 << 20);
            b.iter(|| round_trip(&mut framing, msg, batch, &mut wire));
        });
    }
    group.finish();
}

#[derive(Serialize, Deserialize, PartialEq, Debug)]
struct Reading {
    sensor: String,
    at: u64,
    values: Vec<f64>,
}

fn formats(c: &mut Criterion) {
    let mut group = c.benchmark_group("format round trip");
    for values in [4usize, 512] {
        let reading = Reading {
            sensor: "boiler-7".into(),
            at: 1_700_000_000,
            values: (0..values).map(|i| i as f64 * 0.5).collect(),
        };
        let bincode = Bincode::<{ 16 << 20 }>::new();
        let size = bincode.encode(&reading).expect("encodes").len();
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("bincode", values), &reading, |b, r| {
            b.iter(|| {
                let msg = bincode.encode(r).expect("encodes");
                let back: Reading = bincode.decode(&msg).expect("decodes");
                back
            });
        });
        group.bench_with_input(BenchmarkId::new("json", values), &reading, |b, r| {
            b.iter(|| {
                let msg = Json.encode(r).expect("encodes");
                let back: Reading = Json.decode(&msg).expect("decodes");
                back
            });
        });
    }
    group.finish();
}

criterion_group!(benches, framings, formats);
criterion_main!(benches);
