//! What the fuzz targets share: an allocator that remembers the largest
//! allocation (for the "nothing beyond the configured maximum" checks),
//! and decoding a byte stream whole or cut into arbitrary chunks.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::{Bytes, BytesMut};
use switchyard_frame::{ErrorClass, Framing};

/// The system allocator, remembering the largest single allocation since
/// [`LargestAllocation::reset`]. Install it with `#[global_allocator]`.
pub struct LargestAllocation;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

impl LargestAllocation {
    /// Forgets what was allocated so far.
    pub fn reset() {
        LARGEST.store(0, Ordering::Relaxed);
    }

    /// The largest allocation (or reallocation) since the last reset.
    pub fn largest() -> usize {
        LARGEST.load(Ordering::Relaxed)
    }
}

// SAFETY: every call is passed to the system allocator unchanged; the only
// addition is an atomic maximum of the requested sizes.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc_zeroed`, passed on.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract for `dealloc`, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: the caller's contract for `realloc`, passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// A byte stream and how to cut it: what the framing targets are given.
#[derive(arbitrary::Arbitrary, Debug)]
pub struct Chunked {
    /// Chunk sizes, taken in turn (see [`decode_chunked`]).
    pub cuts: Vec<u8>,
    /// The bytes on the wire.
    pub wire: Vec<u8>,
}

/// The largest single allocation a framing that keeps fewer than `window`
/// bytes buffered between chunks of at most `chunk` bytes may make, given
/// how `bytes` grows a buffer: storage grows only when what it holds (the
/// kept bytes, the chunk, and consumed bytes before them, which it moves
/// out of the way instead when they are at least as many as the kept ones
/// and room is made) does not fit, and then to at most twice its size, so
/// it is under `2 * (2 * window + chunk)`. Measured with
/// `SWITCHYARD_FUZZ_LARGEST` (90 s runs from the committed corpora,
/// 2026-12-06), chunks of up to 255 bytes: lines (`window` 258) at most
/// 1,020 bytes against 1,542; length-prefixed (`window` 1,028) 2,056
/// against 4,622. The old check (`2 * (window + 255) + 64`, or the
/// harness's own list when larger) was not what it said: an input without
/// cuts is fed whole, in one chunk as long as the input (lines allocated
/// 2,099 bytes so), which the list, growing with the input, hid.
pub fn buffer_bound(window: usize, chunk: usize) -> usize {
    2 * (2 * window + chunk)
}

/// What decoding produced, comparable across chunkings: each message, or
/// each error's text.
pub type Decoded = Vec<Result<Bytes, String>>;

/// Decodes `wire` with `framing`, fed in chunks of the sizes in `cuts`
/// (taken in turn, a 0 counting as 1; the whole stream at once when `cuts`
/// is empty), then the end of the stream, as [`switchyard_frame::Framed`]
/// does: a dropped message is reported and decoding goes on; an error that
/// breaks the stream ends it.
///
/// The list it returns is allocated first, large enough for any outcome
/// (each entry takes at least a byte of the stream, and the end two more),
/// and the record of [`LargestAllocation`] is reset after it: what is
/// recorded is the framing's own doing (and the text of its errors).
pub fn decode_chunked<F: Framing>(mut framing: F, wire: &[u8], cuts: &[u8]) -> Decoded {
    let mut out = Vec::with_capacity(wire.len() + 2);
    LargestAllocation::reset();
    let mut buf = BytesMut::new();
    let mut rest = wire;
    let mut cut = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = match cut.next() {
            Some(&n) => usize::from(n.max(1)).min(rest.len()),
            None => rest.len(),
        };
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match framing.decode(&mut buf) {
                Ok(Some(msg)) => out.push(Ok(msg)),
                Ok(None) => break,
                Err(e) if e.class() == ErrorClass::Dropped => out.push(Err(e.to_string())),
                Err(e) => {
                    out.push(Err(e.to_string()));
                    return out;
                }
            }
        }
    }
    loop {
        match framing.decode_eof(&mut buf) {
            Ok(Some(msg)) => out.push(Ok(msg)),
            Ok(None) => return out,
            Err(e) => {
                let end = e.class() != ErrorClass::Dropped;
                out.push(Err(e.to_string()));
                if end || buf.is_empty() {
                    return out;
                }
            }
        }
    }
}

/// Decodes `input` whole and then in its chunks, each with a fresh framing
/// from `framing`; asserts that chunking changed nothing and that the
/// chunked decoding allocated at most [`buffer_bound`]`(window, chunk)`
/// bytes at once (the list of results aside: see [`decode_chunked`]),
/// `chunk` being its largest chunk; returns what was decoded.
///
/// With `SWITCHYARD_FUZZ_LARGEST` set, each new largest allocation seen in
/// the run for chunks of at most 255 bytes is printed: how
/// [`buffer_bound`] was checked.
pub fn decode_whole_and_chunked<F: Framing>(
    framing: impl Fn() -> F,
    input: &Chunked,
    window: usize,
) -> Decoded {
    let whole = decode_chunked(framing(), &input.wire, &[]);
    let chunked = decode_chunked(framing(), &input.wire, &input.cuts);
    let largest = LargestAllocation::largest();
    // Without cuts the stream is fed whole (see `decode_chunked`).
    let chunk = match input.cuts.iter().max() {
        Some(&n) => usize::from(n.max(1)),
        None => input.wire.len(),
    };
    let bound = buffer_bound(window, chunk.min(input.wire.len()));
    if !input.cuts.is_empty() {
        report_largest(largest);
    }
    assert!(
        largest <= bound,
        "allocated {largest} bytes at once, over {bound}"
    );
    assert_eq!(whole, chunked, "chunking changed what was decoded");
    whole
}

/// Prints `largest` if it is the largest of the run so far and
/// `SWITCHYARD_FUZZ_LARGEST` is set.
fn report_largest(largest: usize) {
    static SEEN: AtomicUsize = AtomicUsize::new(0);
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    if *ON.get_or_init(|| std::env::var_os("SWITCHYARD_FUZZ_LARGEST").is_some())
        && SEEN.fetch_max(largest, Ordering::Relaxed) < largest
    {
        eprintln!("largest allocation so far: {largest} bytes");
    }
}
