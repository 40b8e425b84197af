//! The local HTTP API gateway: what API Gateway (HTTP API, payload 2.0, JWT
//! authorizer) does in a deployment. It verifies the bearer token, converts the
//! request into the v2 event JSON with the verified claims where the authorizer puts
//! them, invokes the api handler and converts its response back.

use std::collections::BTreeMap;
use tracing::Instrument;

use aws_lambda_events::{
    apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse},
    encodings::Body as LambdaBody,
};
use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    response::Response,
    routing::any,
};
use base64::{Engine, engine::general_purpose::STANDARD};

use super::{AppState, auth::verify, problem::problem};

/// API Gateway's payload limit for HTTP APIs.
const MAX_PAYLOAD: usize = 10 * 1024 * 1024;

/// The API's paths: everything under `/v1`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1", any(api))
        .route("/v1/{*rest}", any(api))
}

/// Every `/v1/...` request.
pub async fn api(State(app): State<AppState>, request: Request) -> Response {
    let claims = match verify(&app, &request) {
        Ok(claims) => claims,
        Err(response) => return *response,
    };
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_PAYLOAD).await else {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Payload Too Large",
            "the request body is over 10 MiB",
        );
    };
    let event = match v2_event(&parts, &body, claims) {
        Ok(event) => event,
        Err(e) => {
            tracing::error!(error = %e, "could not build an HTTP API event");
            return problem(
                StatusCode::BAD_REQUEST,
                "Bad Request",
                "the request could not be converted",
            );
        }
    };
    let request_id = event.request_context.request_id.clone().unwrap_or_default();
    let span = crate::invocations::API.span(&request_id);
    into_response(app.api.handle(event).instrument(span).await)
}

/// The HTTP API v2 event for a request, built as JSON and parsed by the library's
/// model, so the handler receives exactly what Lambda would give it.
fn v2_event(
    parts: &axum::http::request::Parts,
    body: &[u8],
    claims: std::collections::HashMap<String, String>,
) -> Result<ApiGatewayV2httpRequest, serde_json::Error> {
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == header::COOKIE {
            cookies.extend(value.split("; ").map(str::to_owned));
            continue;
        }
        // HTTP APIs join repeated headers with commas.
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push(',');
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let raw_query = parts.uri.query().unwrap_or_default();
    let mut query: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in airlock_domain::form::pairs(raw_query) {
        let (k, v) = (k.into_owned(), v.into_owned());
        query
            .entry(k)
            .and_modify(|joined| {
                joined.push(',');
                joined.push_str(&v);
            })
            .or_insert(v);
    }
    let (body, is_base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (None, false),
        Ok(text) => (Some(text.to_owned()), false),
        Err(_) => (Some(STANDARD.encode(body)), true),
    };
    let now = chrono::Utc::now();
    serde_json::from_value(serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.uri.path(),
        "rawQueryString": raw_query,
        "cookies": if cookies.is_empty() { None } else { Some(cookies) },
        "headers": headers,
        "queryStringParameters": if query.is_empty() { None } else { Some(query) },
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "authorizer": {"jwt": {"claims": claims, "scopes": null}},
            "domainName": headers.get("host").cloned().unwrap_or_else(|| "127.0.0.1".to_owned()),
            "domainPrefix": "local",
            "http": {
                "method": parts.method.as_str(),
                "path": parts.uri.path(),
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent").cloned().unwrap_or_default(),
            },
            "requestId": ulid::Ulid::new().to_string(),
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }))
}

/// The HTTP response for a handler's v2 response.
fn into_response(reply: ApiGatewayV2httpResponse) -> Response {
    let status = u16::try_from(reply.status_code)
        .ok()
        .and_then(|code| StatusCode::from_u16(code).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match reply.body {
        Some(LambdaBody::Text(text)) if reply.is_base64_encoded => {
            Body::from(STANDARD.decode(text).unwrap_or_default())
        }
        Some(LambdaBody::Text(text)) => Body::from(text),
        Some(LambdaBody::Binary(bytes)) => Body::from(bytes),
        _ => Body::empty(),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    for (name, value) in reply.headers.iter().chain(reply.multi_value_headers.iter()) {
        headers.append(name.clone(), value.clone());
    }
    for cookie in reply.cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    response
}
