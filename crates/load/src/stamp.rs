//! Send times carried inside messages, so that latency can be measured
//! from the copy that comes back (or is delivered elsewhere).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

/// The marker around a timestamp: `#<nanoseconds since the run began>#`,
/// findable anywhere in a message (a push server may wrap it in JSON).
const MARK: u8 = b'#';

/// What fills a message after its stamp (`--content`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Content {
    /// One byte over and over: compresses to almost nothing.
    #[default]
    Dots,
    /// A chat's JSON records (ids, names, rooms, a sentence, a time), cut
    /// from a 1 MiB run of them at a different place each message: it
    /// compresses as such JSON does (about 3x).
    Json,
    /// English words in lines, cut the same way.
    Text,
}

/// The run of content messages are cut from, when not dots.
static CORPUS: OnceLock<Vec<u8>> = OnceLock::new();

/// Where the next message is cut from (a xorshift state).
static CUT: AtomicU64 = AtomicU64::new(0x9e37_79b9_7f4a_7c15);

const CORPUS_LEN: usize = 1 << 20;

const WORDS: &[&str] = &[
    "the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "was", "with", "be", "on",
    "not", "this", "are", "or", "from", "at", "which", "but", "have", "an", "they", "you", "one",
    "all", "we", "their", "has", "would", "when", "if", "so", "what", "up", "out", "about", "into",
    "than", "them", "can", "only", "other", "new", "some", "could", "time", "these", "two", "may",
    "then", "do", "first", "any", "my", "now", "such", "like", "our", "over", "man", "me", "even",
    "most", "made", "after", "also", "did", "many", "before", "must", "through", "back", "years",
    "where", "much", "your", "way", "well", "down", "should", "because", "each", "just", "those",
    "people", "how", "too", "little", "state", "good", "very", "make", "world", "still", "own",
    "see", "men", "work", "long", "get", "here", "between", "both", "life", "being", "under",
    "never", "day", "same", "another", "know", "while", "last", "might", "us", "great", "old",
    "year", "off", "come", "since", "against", "go", "came", "right", "used", "take", "three",
    "deploy", "server", "message", "socket",
];

/// Fills messages with `content` from now on; set once, before any is
/// made.
pub fn set_content(content: Content) {
    if content != Content::Dots {
        let _ = CORPUS.set(corpus(content));
    }
}

/// A deterministic run of `content`, [`CORPUS_LEN`] bytes of ASCII.
fn corpus(content: Content) -> Vec<u8> {
    let mut seed = 7692u64;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let mut out = String::with_capacity(CORPUS_LEN + 512);
    let mut id = 0;
    while out.len() < CORPUS_LEN {
        let words = 4 + next(16);
        let sentence: Vec<&str> = (0..words).map(|_| WORDS[next(WORDS.len())]).collect();
        let sentence = sentence.join(" ");
        match content {
            Content::Json => {
                id += 1;
                out.push_str(&format!(
                    r#"{{"id":{id},"user":"user{}","room":"{}","text":"{sentence}","sent":{}}},"#,
                    next(5000),
                    WORDS[next(WORDS.len())],
                    1_765_000_000_000u64 + id * 731
                ));
            }
            Content::Text | Content::Dots => {
                out.push_str(&sentence);
                out.push_str(if next(4) == 0 { ".\n" } else { ". " });
            }
        }
    }
    out.truncate(CORPUS_LEN);
    out.into_bytes()
}

/// A message of `size` bytes (at least the stamp's) carrying `now`, the
/// rest of it [`Content`].
pub fn stamped(start: Instant, size: usize) -> bytes::Bytes {
    let nanos = start.elapsed().as_nanos() as u64;
    let mut msg = format!("#{nanos:020}#").into_bytes();
    let rest = size.saturating_sub(msg.len());
    match CORPUS.get() {
        Some(corpus) if rest > 0 => {
            // Wrapping round the end: any size is filled.
            let mut x = CUT.load(Ordering::Relaxed);
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            CUT.store(x, Ordering::Relaxed);
            let mut at = (x % corpus.len() as u64) as usize;
            while msg.len() < size {
                let take = (size - msg.len()).min(corpus.len() - at);
                msg.extend_from_slice(&corpus[at..at + take]);
                at = 0;
            }
        }
        _ => msg.resize(size.max(msg.len()), b'.'),
    }
    msg.into()
}

/// The smallest stamped message.
pub const STAMP_LEN: usize = 22;

/// Nanoseconds from the stamp in `msg` to now, if `msg` has one.
pub fn latency_nanos(start: Instant, msg: &[u8]) -> Option<u64> {
    // Only where a mark is: a push server's envelope puts the stamp some
    // way in, and trying every window there cost a tenth of a busy
    // load generator's time.
    let at = memchr::memchr_iter(MARK, msg).find(|&at| {
        msg.get(at..at + STAMP_LEN).is_some_and(|w| {
            w[STAMP_LEN - 1] == MARK && w[1..STAMP_LEN - 1].iter().all(u8::is_ascii_digit)
        })
    })?;
    let digits = std::str::from_utf8(&msg[at + 1..at + STAMP_LEN - 1]).ok()?;
    let sent: u64 = digits.parse().ok()?;
    Some((start.elapsed().as_nanos() as u64).saturating_sub(sent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_is_found_where_it_is() {
        let start = Instant::now();
        let msg = stamped(start, 64);
        assert_eq!(msg.len(), 64);
        assert!(latency_nanos(start, &msg).is_some());
        let wrapped = format!("{{\"message\":\"{}\"}}", String::from_utf8_lossy(&msg));
        assert!(latency_nanos(start, wrapped.as_bytes()).is_some());
        // A mark that starts no stamp is passed over.
        let after_marks = format!("#1# ## {}", String::from_utf8_lossy(&msg));
        assert!(latency_nanos(start, after_marks.as_bytes()).is_some());
        assert!(latency_nanos(start, &msg[..STAMP_LEN - 1]).is_none());
        assert_eq!(stamped(start, 4).len(), STAMP_LEN);
        assert!(latency_nanos(start, b"#123#").is_none());
    }

    #[test]
    fn json_content_is_ascii_json_records_that_compress_as_json_does() {
        let json = corpus(Content::Json);
        assert_eq!(json.len(), CORPUS_LEN);
        assert!(json.is_ascii());
        let first = json.split(|&b| b == b'}').next().unwrap();
        let record: serde_json::Value =
            serde_json::from_slice(&[first, b"}"].concat()).expect("a JSON record");
        assert!(record["text"].is_string());
        // Neither dots (hundreds of times) nor noise (not at all).
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut deflate, &json[..64 << 10]).unwrap();
        let ratio = (64 << 10) as f64 / deflate.finish().unwrap().len() as f64;
        assert!((2.0..8.0).contains(&ratio), "{ratio}");
        assert_eq!(corpus(Content::Json), json, "the same run every time");
    }
}
