//! Spawning the writer of a shared connection.

use switchyard_frame::{MessageConnection, MessageReader, MessageSender};

/// Splits `conn` into a reader and cloneable senders over a bounded queue of
/// `capacity` messages, and spawns the one writer task that drains it
/// (see [`switchyard_frame::share`]). A write error is logged at debug level
/// and closes the connection.
///
/// ```
/// # switchyard_rt::block_on(async {
/// use bytes::Bytes;
/// use futures::{io::Cursor, StreamExt};
/// use switchyard_frame::{Framed, Lines};
///
/// let framed = Framed::new(Cursor::new(b"hi\n".to_vec()), Lines::default());
/// let (mut reader, sender) = switchyard_rt::share(framed, 8);
/// assert_eq!(reader.next().await.transpose()?, Some(Bytes::from_static(b"hi")));
/// assert!(reader.next().await.is_none()); // the end, which closes the connection
/// assert!(sender.is_closed());
/// # Ok::<(), switchyard_frame::Error>(())
/// # }).unwrap();
/// ```
pub fn share<C>(conn: C, capacity: usize) -> (MessageReader<C>, MessageSender)
where
    C: MessageConnection + Unpin + Send + 'static,
{
    let (reader, sender, writer) = switchyard_frame::share(conn, capacity);
    crate::spawn(async move {
        if let Err(e) = writer.await {
            tracing::debug!(error = %e, "shared connection writer stopped");
        }
    });
    (reader, sender)
}
