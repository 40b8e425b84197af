//! `application/problem+json` answers (RFC 9457), the shape every error of the
//! stack's HTTP side takes, as the api handler's errors do.

use axum::{
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// A `application/problem+json` response (RFC 9457).
pub fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": format!("https://airlock.dev/problems/{}", slug(title)),
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn slug(title: &str) -> String {
    title.to_ascii_lowercase().replace(' ', "-")
}

/// Any path no part serves: in the api's own words for a path it has no route for,
/// so a client meets one 404 whether the stack or the handler answers.
pub async fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        airlock_api::NO_ROUTE_TITLE,
        airlock_api::NO_ROUTE_DETAIL,
    )
}
