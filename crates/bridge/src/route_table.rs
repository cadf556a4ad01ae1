//! A listener's routes as they are now: replaced whole by a reload, while
//! every session keeps the route it began with.

use std::sync::{Arc, PoisonError, RwLock};

use crate::session::Route;

/// The routes of one listener, swapped whole by a reload.
#[derive(Debug)]
pub(crate) struct RouteTable {
    routes: RwLock<Arc<[Arc<Route>]>>,
}

impl RouteTable {
    pub(crate) fn new(routes: Vec<Arc<Route>>) -> Self {
        Self {
            routes: RwLock::new(routes.into()),
        }
    }

    /// Every route now.
    pub(crate) fn current(&self) -> Arc<[Arc<Route>]> {
        self.routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `routes` in place of the current ones, for new sessions.
    pub(crate) fn replace(&self, routes: Vec<Arc<Route>>) {
        *self.routes.write().unwrap_or_else(PoisonError::into_inner) = routes.into();
    }

    /// The one route of a listener without paths (TCP, UDP, Unix, stdio).
    pub(crate) fn only(&self) -> Option<Arc<Route>> {
        self.current().first().cloned()
    }

    /// The route a WebSocket request at `path` goes to: the route at that
    /// path, else the one at `/`, which takes every path no other takes.
    pub(crate) fn find(&self, path: &str) -> Option<Arc<Route>> {
        let routes = self.current();
        let exact = routes.iter().find(|r| r.config.path == path);
        exact
            .or_else(|| routes.iter().find(|r| r.config.path == "/"))
            .cloned()
    }
}
