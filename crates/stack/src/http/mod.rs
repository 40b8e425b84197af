//! The stack's HTTP side: the state its handlers share, the helpers they all use
//! ([`problem`], [`auth`]), and [`router`], which merges each part's routes:
//!
//! - [`gateway`]: the HTTP API. Checks the dev token (standing in for API Gateway's
//!   JWT authorizer), turns requests into HTTP API v2 events for the api handler.
//! - [`objects`]: the presigned PUT and GET endpoints, checked like S3 checks them; a
//!   completed PUT emits an S3 `ObjectCreated` event to ingest.
//! - [`console`]: the page at `/` (upload, files, usage, live event log) and its
//!   local-only, read-only `/local/events`.
//!
//! The router needs only an [`AppState`], not the pump or the schedule, so a test can
//! build it and send it requests.

pub mod auth;
pub mod console;
pub mod gateway;
pub mod objects;
pub mod problem;

use std::{path::PathBuf, sync::Arc};

use airlock_api::Api;
use airlock_local::{FsObjectStore, SqliteCatalog, SystemClock};
use axum::Router;

use crate::{notifications::Notifier, token::DevTokens};

/// The api handler as the local stack wires it.
pub type LocalApi = Api<SqliteCatalog, FsObjectStore, SqliteCatalog, SystemClock>;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct AppState {
    pub(crate) api: Arc<LocalApi>,
    pub(crate) store: FsObjectStore,
    pub(crate) tokens: DevTokens,
    pub(crate) notifier: Notifier,
    /// The local bus's JSON-lines file (read by the console's event log).
    pub(crate) events: PathBuf,
}

impl AppState {
    /// The state from the handler and adapters [`crate::start`] builds once.
    pub fn new(
        api: LocalApi,
        store: FsObjectStore,
        tokens: DevTokens,
        notifier: Notifier,
        events: PathBuf,
    ) -> Self {
        Self {
            api: Arc::new(api),
            store,
            tokens,
            notifier,
            events,
        }
    }
}

/// Every route the stack serves; any other path is a 404 problem.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(console::routes())
        .merge(gateway::routes())
        .merge(objects::routes())
        .fallback(problem::not_found)
        .with_state(state)
}

#[cfg(test)]
mod tests;
