//! The dev-token check that stands in for API Gateway's JWT authorizer, shared by
//! every route that needs a caller (the API and the console's event log).

use std::collections::HashMap;

use axum::{
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};

use super::{AppState, problem::problem};

/// The verified claims of the request's bearer token, or the 401 to answer.
pub fn verify(app: &AppState, request: &Request) -> Result<HashMap<String, String>, Box<Response>> {
    match bearer(request).map(|token| app.tokens.verify(token, chrono::Utc::now().timestamp())) {
        Some(Ok(claims)) => Ok(claims),
        Some(Err(e)) => Err(Box::new(unauthorized(&e.to_string()))),
        None => Err(Box::new(unauthorized("send Authorization: Bearer <token>"))),
    }
}

fn bearer(request: &Request) -> Option<&str> {
    request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn unauthorized(detail: &str) -> Response {
    let mut response = problem(StatusCode::UNAUTHORIZED, "Unauthorized", detail);
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}
