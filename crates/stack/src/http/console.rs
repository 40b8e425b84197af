//! The local console: a page at `/` (plain HTML and a little script, embedded in the
//! binary) that uploads through the same presigned flow as any client, lists the
//! tenant's files with their verdicts, shows the usage counters and the live event
//! log.
//!
//! Everything but the event log goes through the public API with the dev token. The
//! event log has no public route (on AWS the events go to EventBridge), so the stack
//! adds one, local only and read only: `GET /local/events?after=N`, the caller's own
//! entries of the JSON-lines bus after position N, behind the same dev token.

use std::path::PathBuf;

use airlock_local::read_bus_file;
use axum::{
    Router,
    extract::{Query, State},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde::Deserialize;

use super::{AppState, auth, problem::problem};
use crate::token::TENANT_CLAIM;

const PAGE: &str = include_str!("console.html");

/// The page and its event log.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(page))
        .route("/local/events", get(events))
}

/// `GET /`: the console.
pub async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Only this origin's script and API: the token never leaves the page.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'",
            ),
        ],
        PAGE,
    )
        .into_response()
}

/// Where to continue the event log.
#[derive(Debug, Deserialize)]
pub struct After {
    /// How many entries of the log the caller has seen (all tenants' entries count).
    #[serde(default)]
    after: usize,
}

/// `GET /local/events?after=N`.
pub async fn events(
    State(app): State<AppState>,
    Query(After { after }): Query<After>,
    request: axum::extract::Request,
) -> Response {
    let claims = match auth::verify(&app, &request) {
        Ok(claims) => claims,
        Err(response) => return *response,
    };
    let Some(tenant) = claims.get(TENANT_CLAIM).cloned() else {
        return problem(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "the token names no tenant",
        );
    };
    let path: PathBuf = app.events.clone();
    let entries = match tokio::task::spawn_blocking(move || read_bus_file(&path)).await {
        Ok(Ok(entries)) => entries,
        _ => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "the event log could not be read",
            );
        }
    };
    let next = entries.len();
    let mine: Vec<_> = entries
        .into_iter()
        .skip(after)
        .filter(|entry| entry["detail"]["tenant"].as_str() == Some(tenant.as_str()))
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "events": mine, "next": next }).to_string(),
    )
        .into_response()
}
