//! [`DirectWriter`]: a server connection's messages written at once, by
//! whoever has them (a hub fanning a message out), while the connection's
//! own task sleeps: one system call per delivery (of one message or of
//! several together) and no task woken.
//!
//! The connection and its direct writers share one lock, held around
//! every write to the socket: a direct write goes out only when the
//! connection has nothing waiting to be written, so frames are never
//! interleaved and messages keep their order; and once a close has been
//! written, nothing more is.

use std::io::IoSlice;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use switchyard_rt::net::WriteHandle;

use crate::WsMessage;

/// What a connection and its direct writers share: one allocation per
/// connection that has them.
#[derive(Debug)]
pub(crate) struct DirectSlot {
    state: Mutex<SlotState>,
    socket: WriteHandle,
    deflate: Option<SharedDeflate>,
    /// The connection's limit on a message it sends (`usize::MAX`: none).
    max_message: usize,
}

#[derive(Debug, Default)]
pub(crate) struct SlotState {
    /// The connection's frame layer has bytes waiting to be written: a
    /// direct write now would pass them.
    pub(crate) waiting: bool,
    /// The end of a direct write the socket did not take whole, which the
    /// frame layer writes before anything else.
    pub(crate) remainder: Vec<u8>,
    /// A close was written, or the connection is gone: nothing more.
    pub(crate) stopped: bool,
    /// Messages written (or begun) by direct writers.
    pub(crate) sent: u64,
}

impl DirectSlot {
    pub(crate) fn new(
        socket: WriteHandle,
        deflate: Option<SharedDeflate>,
        max_message: Option<usize>,
    ) -> Self {
        Self {
            state: Mutex::default(),
            socket,
            deflate,
            max_message: max_message.unwrap_or(usize::MAX),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SlotState> {
        // Nothing panics while holding it; the state stays whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// How a connection with permessage-deflate agreed, and no context kept
/// between messages, frames a [prepared](WsMessage::prepare) message: with
/// the compressed payload every such connection shares.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SharedDeflate {
    pub(crate) window_bits: u8,
    pub(crate) level: u32,
    /// Messages shorter than this go uncompressed.
    pub(crate) threshold: usize,
}

/// The first byte of `msg`'s frame (FIN, RSV1 if compressed, the opcode)
/// and its payload as sent; `None` when it must be compressed for this
/// connection alone (it is not prepared).
pub(crate) fn shared_frame(msg: &WsMessage, deflate: Option<SharedDeflate>) -> Option<(u8, Bytes)> {
    let opcode = if msg.is_text() { 0x1 } else { 0x2 };
    match deflate {
        Some(d) if msg.len() >= d.threshold => {
            let compressed = msg.prepared()?.compressed(d.window_bits, d.level);
            Some((0xc0 | opcode, compressed))
        }
        _ => Some((0x80 | opcode, msg.data().clone())),
    }
}

/// An unmasked frame's head for a payload of `len` bytes, in `buf`.
fn frame_head(buf: &mut [u8; 10], b0: u8, len: usize) -> &[u8] {
    buf[0] = b0;
    match len {
        0..=125 => {
            buf[1] = len as u8;
            &buf[..2]
        }
        126..=0xffff => {
            buf[1] = 126;
            buf[2..4].copy_from_slice(&(len as u16).to_be_bytes());
            &buf[..4]
        }
        _ => {
            buf[1] = 127;
            buf[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            &buf[..10]
        }
    }
}

/// The most messages [`DirectWriter::try_send_all`] writes at once: two
/// buffers each (a frame's head and its payload), well within what one
/// system call takes (1,024 on Linux).
pub const MAX_DIRECT_BATCH: usize = 256;

/// A message's unmasked frame: its head, and its payload as sent.
#[derive(Debug)]
struct Frame {
    head: [u8; 10],
    head_len: usize,
    payload: Bytes,
}

impl Frame {
    fn head(&self) -> &[u8] {
        &self.head[..self.head_len]
    }

    /// The frame's two buffers, as one write takes them.
    fn slices(&self) -> [IoSlice<'_>; 2] {
        [IoSlice::new(self.head()), IoSlice::new(&self.payload)]
    }
}

/// Of `frames` written in a row, how many went out whole once `written`
/// bytes were, and the unwritten end of the one cut (none if the write
/// ended on a frame's boundary).
fn split(frames: &[Frame], mut written: usize) -> (usize, Option<Vec<u8>>) {
    for (whole, frame) in frames.iter().enumerate() {
        let head = frame.head();
        let len = head.len() + frame.payload.len();
        if written >= len {
            written -= len;
            continue;
        }
        if written == 0 {
            return (whole, None);
        }
        let mut rest = Vec::with_capacity(len - written);
        if written < head.len() {
            rest.extend_from_slice(&head[written..]);
            rest.extend_from_slice(&frame.payload);
        } else {
            rest.extend_from_slice(&frame.payload[written - head.len()..]);
        }
        return (whole, Some(rest));
    }
    (frames.len(), None)
}

/// Writes messages to one server connection at once, from any thread,
/// without its task: [`WsConnection::direct_writer`](crate::WsConnection::direct_writer).
///
/// A message goes out only if the connection has nothing waiting to be
/// written and the socket takes it now; otherwise the writer declines,
/// and the message is for the connection's task to send (its sink). A
/// push server uses it to deliver to idle subscribers: the frame of a
/// [prepared](WsMessage::prepare) message is the same bytes for every
/// connection, written as they are.
///
/// One pointer: a clone is another handle on the same writer.
#[derive(Debug, Clone)]
pub struct DirectWriter(pub(crate) Arc<DirectSlot>);

/// What [`DirectWriter::try_send`] did (and how the last message taken by
/// [`DirectWriter::try_send_all`] went).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DirectSend {
    /// Written whole.
    Sent,
    /// Written in part: the rest waits in the connection, which writes it
    /// before anything else once its task flushes the connection's sink.
    Started,
    /// Nothing written: the connection has bytes waiting, the socket has
    /// no room now, the connection is closing, or the message is one the
    /// connection's sink must judge (over its limit, or to be compressed
    /// for this connection alone). Send it through the sink.
    Declined,
}

impl DirectWriter {
    /// Reads what [`try_send`](Self::try_send) reads first (the
    /// connection's limit, its lock, its socket's descriptor), and changes
    /// nothing.
    ///
    /// A writer with many connections to serve warms a few ahead of the one
    /// it sends to: their state comes into the cache together, instead of
    /// one miss after another between system calls.
    pub fn warm(&self) {
        let shared = &*self.0;
        std::hint::black_box(shared.max_message);
        std::hint::black_box(shared.state.is_poisoned());
        shared.socket.warm();
    }

    /// Writes `msg` at once if the connection and its socket allow.
    pub fn try_send(&self, msg: &WsMessage) -> DirectSend {
        let Some(frame) = self.frame(msg) else {
            return DirectSend::Declined;
        };
        self.write(std::slice::from_ref(&frame), &frame.slices()).1
    }

    /// Writes as many of `msgs` as the connection and its socket allow, in
    /// order, with one system call: the frames of several messages for a
    /// connection that fell behind go out together. Returns how many were
    /// taken from the front, and how the last of them went:
    /// [`DirectSend::Sent`] (whole) or [`DirectSend::Started`] (begun: the
    /// rest waits in the connection); `(0, DirectSend::Declined)` when none
    /// was. It stops before a message it must decline (see
    /// [`DirectSend::Declined`]), and takes at most
    /// [`MAX_DIRECT_BATCH`] at once.
    pub fn try_send_all(&self, msgs: &[WsMessage]) -> (usize, DirectSend) {
        let frames: Vec<Frame> = msgs
            .iter()
            .take(MAX_DIRECT_BATCH)
            .map_while(|msg| self.frame(msg))
            .collect();
        let slices: Vec<IoSlice<'_>> = frames.iter().flat_map(Frame::slices).collect();
        self.write(&frames, &slices)
    }

    /// `msg`'s frame on this connection, or `None` if the writer must
    /// decline it.
    fn frame(&self, msg: &WsMessage) -> Option<Frame> {
        let shared = &*self.0;
        if msg.len() > shared.max_message {
            return None;
        }
        let (b0, payload) = shared_frame(msg, shared.deflate)?;
        let mut head = [0u8; 10];
        let head_len = frame_head(&mut head, b0, payload.len()).len();
        Some(Frame {
            head,
            head_len,
            payload,
        })
    }

    /// Writes `frames`, whose buffers are `slices`, if the connection has
    /// nothing waiting; keeps the rest of a frame the socket took in part.
    fn write(&self, frames: &[Frame], slices: &[IoSlice<'_>]) -> (usize, DirectSend) {
        if frames.is_empty() {
            return (0, DirectSend::Declined);
        }
        let shared = &*self.0;
        let mut slot = shared.lock();
        if slot.waiting || slot.stopped || !slot.remainder.is_empty() {
            return (0, DirectSend::Declined);
        }
        // No room (the task waits for it), or a failed socket (the task
        // finds out, and ends the connection): nothing taken.
        let Ok(written) = shared.socket.try_write_vectored(slices) else {
            return (0, DirectSend::Declined);
        };
        let (whole, rest) = split(frames, written);
        match rest {
            Some(rest) => {
                slot.remainder = rest;
                slot.sent += whole as u64 + 1;
                (whole + 1, DirectSend::Started)
            }
            None if whole == 0 => (0, DirectSend::Declined),
            None => {
                slot.sent += whole as u64;
                (whole, DirectSend::Sent)
            }
        }
    }

    /// Whether part of a message this wrote waits in the connection, for
    /// its task to flush.
    pub fn has_remainder(&self) -> bool {
        !self.0.lock().remainder.is_empty()
    }

    /// Messages sent through this connection's direct writers so far
    /// (whole, or begun and left for the connection to finish).
    pub fn sent(&self) -> u64 {
        self.0.lock().sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &'static [u8]) -> Frame {
        let mut head = [0u8; 10];
        let head_len = frame_head(&mut head, 0x82, payload.len()).len();
        Frame {
            head,
            head_len,
            payload: Bytes::from_static(payload),
        }
    }

    #[test]
    fn a_write_is_split_into_whole_frames_and_the_rest_of_the_one_cut() {
        // Two frames of 2 + 3 and 2 + 2 bytes: 82 03 a b c, 82 02 d e.
        let frames = [frame(b"abc"), frame(b"de")];
        let rest = |v: &[u8]| Some(v.to_vec());
        assert_eq!(split(&frames, 0), (0, None));
        assert_eq!(split(&frames, 1), (0, rest(b"\x03abc")), "cut in a head");
        assert_eq!(split(&frames, 3), (0, rest(b"bc")), "cut in a payload");
        assert_eq!(split(&frames, 5), (1, None), "on a boundary");
        assert_eq!(split(&frames, 6), (1, rest(b"\x02de")));
        assert_eq!(split(&frames, 9), (2, None));
        assert_eq!(split(&frames, 100), (2, None));
    }

    #[test]
    fn the_head_is_the_frame_layers() {
        for len in [0, 1, 125, 126, 0xffff, 0x10000, 1 << 20] {
            let mut expected = Vec::new();
            crate::deflate::push_frame_head(&mut expected, 0x81, None, len);
            let mut buf = [0u8; 10];
            assert_eq!(frame_head(&mut buf, 0x81, len), &expected[..], "{len}");
        }
    }
}
