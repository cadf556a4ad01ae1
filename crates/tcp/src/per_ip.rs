//! [`PerIpLimit`]: connections counted per client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};

/// At most `max` connections at once from one client; each holds a
/// [`PerIpSlot`] until it is dropped. A client is an IPv4 address (an
/// IPv4-mapped IPv6 address counts as its IPv4 one) or an IPv6 /64
/// network, the block one host or home is usually given: counting single
/// IPv6 addresses would let one client open as many as it likes. The table
/// holds only clients with a connection open, so it is no larger than the
/// connections themselves.
///
/// ```
/// use switchyard_tcp::PerIpLimit;
///
/// let limit = PerIpLimit::new(2);
/// let ip = "203.0.113.7".parse()?;
/// let (one, two) = (limit.take(ip), limit.take(ip));
/// assert!(one.is_some() && two.is_some());
/// assert!(limit.take(ip).is_none()); // a third from the same address
/// assert!(limit.take("203.0.113.8".parse()?).is_some()); // another address
/// drop(one);
/// assert!(limit.take(ip).is_some()); // its slot is free again
///
/// // An IPv6 client is its /64: another address in it is the same client.
/// let limit = PerIpLimit::new(1);
/// let _held = limit.take("2001:db8:0:1::7".parse()?);
/// assert!(limit.take("2001:db8:0:1::8".parse()?).is_none());
/// assert!(limit.take("2001:db8:0:2::7".parse()?).is_some());
/// # Ok::<(), std::net::AddrParseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct PerIpLimit {
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// One connection's place under a [`PerIpLimit`], given back on drop.
#[derive(Debug)]
pub struct PerIpSlot {
    limit: PerIpLimit,
    ip: IpAddr,
}

impl PerIpLimit {
    /// A limit of `max` connections per address (at least 1).
    pub fn new(max: usize) -> Self {
        Self {
            max: max.max(1),
            open: Arc::default(),
        }
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// A place for one more connection from `ip`, if it has fewer than the
    /// limit open.
    pub fn take(&self, ip: IpAddr) -> Option<PerIpSlot> {
        let ip = client_key(ip);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(PerIpSlot {
            limit: self.clone(),
            ip,
        })
    }
}

/// What a client is counted as: its IPv4 address, or its IPv6 /64.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

impl Drop for PerIpSlot {
    fn drop(&mut self) {
        let mut open = self
            .limit
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}
