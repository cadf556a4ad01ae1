//! Connections that have not finished their request yet (TLS handshake,
//! request head, body, answer): a budget of their own, so that clients
//! trickling their headers (slowloris) can never take the slots that
//! finished connections and new clients need.
//!
//! When the budget is full, the oldest unfinished connection is dropped to
//! make room for the new one. One address over its own cap has its oldest
//! dropped too, once that one has been waiting a second (a burst of real
//! clients behind one address finishes within that). A slowloris connection
//! is old by nature, and a real client finishes its handshake in
//! milliseconds, so the newcomer is the one that stays.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::future::AbortHandle;

/// The unfinished connections of one server.
#[derive(Debug)]
pub(crate) struct Pending {
    max: usize,
    max_per_ip: usize,
    state: Mutex<Table>,
}

#[derive(Debug, Default)]
struct Table {
    next: u64,
    /// By age: the first entry is the oldest.
    by_age: BTreeMap<u64, Entry>,
    per_ip: HashMap<IpAddr, usize>,
    evicted: u64,
}

#[derive(Debug)]
struct Entry {
    /// Its address, when it counts under the per-address cap.
    ip: Option<IpAddr>,
    since: Instant,
    abort: AbortHandle,
}

/// How long an address's unfinished connection is left alone by its
/// address's cap: a burst of real handshakes from behind one address (a
/// NAT, a test) is over well within it.
const PER_IP_GRACE: Duration = Duration::from_secs(1);

/// A connection's place among the unfinished ones, given up when dropped
/// (its request phase ended, or it was evicted).
#[derive(Debug)]
pub(crate) struct Place {
    pending: Arc<Pending>,
    id: u64,
}

impl Pending {
    pub(crate) fn new(max: usize, max_per_ip: usize) -> Self {
        Self {
            max: max.max(1),
            max_per_ip: max_per_ip.max(1),
            state: Mutex::default(),
        }
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a new connection from `peer`, whose request phase `abort`
    /// ends; evicts the oldest (of its address, or of all) to make room.
    /// `peer` is `None` for a connection from a proxy that speaks for many
    /// clients (PROXY protocol, a trusted proxy): it counts under the
    /// overall budget only.
    pub(crate) fn admit(self: &Arc<Self>, peer: Option<SocketAddr>, abort: AbortHandle) -> Place {
        let ip = peer.map(|p| p.ip().to_canonical());
        let now = Instant::now();
        let mut table = self.table();
        let over_cap =
            |t: &Table, ip: IpAddr| t.per_ip.get(&ip).copied().unwrap_or(0) >= self.max_per_ip;
        if let Some(ip) = ip.filter(|ip| over_cap(&table, *ip)) {
            let oldest = table
                .by_age
                .iter()
                .find(|(_, entry)| entry.ip == Some(ip))
                .filter(|(_, entry)| now.duration_since(entry.since) >= PER_IP_GRACE)
                .map(|(id, _)| *id);
            if let Some(id) = oldest {
                table.evict(id);
                tracing::debug!(%ip, max = self.max_per_ip, "evicted this address's oldest unfinished request");
            }
        }
        if table.by_age.len() >= self.max {
            if let Some(id) = table.by_age.keys().next().copied() {
                table.evict(id);
                tracing::debug!(max = self.max, "evicted the oldest unfinished request");
            }
        }
        let id = table.next;
        table.next += 1;
        table.by_age.insert(
            id,
            Entry {
                ip,
                since: now,
                abort,
            },
        );
        if let Some(ip) = ip {
            *table.per_ip.entry(ip).or_default() += 1;
        }
        Place {
            pending: self.clone(),
            id,
        }
    }

    /// Unfinished connections now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table().by_age.len()
    }

    /// Unfinished connections dropped to make room, so far.
    #[cfg(test)]
    pub(crate) fn evicted(&self) -> u64 {
        self.table().evicted
    }
}

impl Table {
    fn evict(&mut self, id: u64) {
        if let Some(entry) = self.remove(id) {
            entry.abort.abort();
            self.evicted += 1;
        }
    }

    fn remove(&mut self, id: u64) -> Option<Entry> {
        let entry = self.by_age.remove(&id)?;
        if let Some(ip) = entry.ip {
            if let Some(count) = self.per_ip.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    self.per_ip.remove(&ip);
                }
            }
        }
        Some(entry)
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.pending.table().remove(self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: [u8; 4], port: u16) -> SocketAddr {
        SocketAddr::from((ip, port))
    }

    #[test]
    fn the_oldest_goes_when_the_budget_is_full() {
        let pending = Arc::new(Pending::new(2, 10));
        let (first, _r1) = AbortHandle::new_pair();
        let (second, _r2) = AbortHandle::new_pair();
        let (third, _r3) = AbortHandle::new_pair();
        let _a = pending.admit(Some(addr([10, 0, 0, 1], 1)), first.clone());
        let _b = pending.admit(Some(addr([10, 0, 0, 2], 1)), second.clone());
        let _c = pending.admit(Some(addr([10, 0, 0, 3], 1)), third);
        assert!(first.is_aborted(), "the oldest was evicted");
        assert!(!second.is_aborted());
        assert_eq!((pending.len(), pending.evicted()), (2, 1));
    }

    #[test]
    fn one_address_evicts_only_its_own_oldest_once_it_has_waited() {
        let pending = Arc::new(Pending::new(100, 2));
        let (other, _r0) = AbortHandle::new_pair();
        let _o = pending.admit(Some(addr([10, 0, 0, 9], 1)), other.clone());
        let mut places = Vec::new();
        let mut handles = Vec::new();
        let mut admit = |port| {
            let (handle, _reg) = AbortHandle::new_pair();
            handles.push(handle.clone());
            places.push(pending.admit(Some(addr([10, 0, 0, 1], port)), handle));
        };
        // A burst: nobody has waited yet, nobody is evicted.
        for port in 0..3 {
            admit(port);
        }
        std::thread::sleep(PER_IP_GRACE);
        admit(3);
        admit(4);
        assert!(!other.is_aborted(), "another address's request stays");
        let aborted: Vec<bool> = handles.iter().map(AbortHandle::is_aborted).collect();
        assert_eq!(aborted, [true, true, false, false, false]);
        assert_eq!(pending.len(), 4);
    }

    #[test]
    fn a_finished_request_gives_its_place_back() {
        let pending = Arc::new(Pending::new(1, 1));
        let (handle, _reg) = AbortHandle::new_pair();
        let place = pending.admit(Some(addr([10, 0, 0, 1], 1)), handle.clone());
        drop(place);
        let (next, _reg) = AbortHandle::new_pair();
        let _next = pending.admit(Some(addr([10, 0, 0, 1], 2)), next);
        assert!(!handle.is_aborted());
        assert_eq!(pending.evicted(), 0);
    }
}
