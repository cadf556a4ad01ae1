//! [`Presence`]: who is in a room, one name per room across every server
//! that shares it (chat members), apart from how topics are shared.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};

use futures::future::{ready, BoxFuture, FutureExt};

use crate::BackplaneError;

/// Names held in rooms: a chat server claims a member's name when it
/// joins and releases it when it leaves, and lists a room's members.
/// [`MemoryPresence`] keeps them in this process; switchyard-redis's
/// backplane keeps them across servers (and lets a crashed server's names
/// expire).
pub trait Presence: Send + Sync + std::fmt::Debug + 'static {
    /// Claims `name` in `room` for this server: `false` if it is held
    /// already, here or on another server sharing the presence.
    fn claim(&self, room: &str, name: &str) -> BoxFuture<'static, Result<bool, BackplaneError>>;

    /// Gives back a claim made with [`claim`](Self::claim). Must not wait.
    fn release(&self, room: &str, name: &str);

    /// The names claimed in `room`, on every server, sorted.
    fn members(&self, room: &str) -> BoxFuture<'static, Result<Vec<String>, BackplaneError>>;
}

/// Presence in this process: a room's names are those its connections
/// claimed and have not released.
///
/// ```
/// use futures::executor::block_on;
/// use switchyard_hub::{MemoryPresence, Presence};
///
/// let presence = MemoryPresence::default();
/// assert_eq!(block_on(presence.claim("rust", "alice")), Ok(true));
/// assert_eq!(block_on(presence.claim("rust", "alice")), Ok(false), "taken");
/// presence.release("rust", "alice");
/// assert_eq!(block_on(presence.members("rust")), Ok(vec![]));
/// ```
#[derive(Debug, Default)]
pub struct MemoryPresence {
    /// Names claimed, per room; a room with none is forgotten.
    rooms: Mutex<HashMap<String, BTreeSet<String>>>,
}

impl MemoryPresence {
    fn rooms(&self) -> std::sync::MutexGuard<'_, HashMap<String, BTreeSet<String>>> {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Presence for MemoryPresence {
    fn claim(&self, room: &str, name: &str) -> BoxFuture<'static, Result<bool, BackplaneError>> {
        let claimed = self
            .rooms()
            .entry(room.to_string())
            .or_default()
            .insert(name.to_string());
        ready(Ok(claimed)).boxed()
    }

    fn release(&self, room: &str, name: &str) {
        let mut rooms = self.rooms();
        if let Some(names) = rooms.get_mut(room) {
            names.remove(name);
            if names.is_empty() {
                rooms.remove(room);
            }
        }
    }

    fn members(&self, room: &str) -> BoxFuture<'static, Result<Vec<String>, BackplaneError>> {
        let names = self
            .rooms()
            .get(room)
            .map(|names| names.iter().cloned().collect())
            .unwrap_or_default();
        ready(Ok(names)).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn a_name_is_held_once_per_room_until_released() {
        let presence = MemoryPresence::default();
        assert_eq!(block_on(presence.claim("rust", "alice")), Ok(true));
        assert_eq!(block_on(presence.claim("rust", "alice")), Ok(false));
        assert_eq!(block_on(presence.claim("go", "alice")), Ok(true));
        assert_eq!(block_on(presence.claim("rust", "bob")), Ok(true));
        assert_eq!(
            block_on(presence.members("rust")),
            Ok(vec!["alice".to_string(), "bob".to_string()])
        );
        presence.release("rust", "alice");
        assert_eq!(
            block_on(presence.members("rust")),
            Ok(vec!["bob".to_string()])
        );
        assert_eq!(block_on(presence.claim("rust", "alice")), Ok(true));
        presence.release("go", "alice");
        assert!(
            !presence.rooms().contains_key("go"),
            "an empty room is kept"
        );
    }
}
