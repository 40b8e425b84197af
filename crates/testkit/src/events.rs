//! API Gateway HTTP API (v2) events, as the JWT authorizer hands them to the api
//! function: the tenant is the `tenant_id` claim. Built as JSON, so a test (or the fuzz
//! harness) can also send what the library's type would not produce.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use serde_json::{Map, Value, json};

/// `raw_query` as API Gateway splits it: `k=v` pairs on `&`, a bare `k` as `k=`,
/// values as they are (API Gateway decodes them; these tests send none encoded).
pub fn query_parameters(raw_query: &str) -> Map<String, Value> {
    raw_query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), Value::from(v))
        })
        .collect()
}

/// The event for `method path?raw_query` with a JSON `body`, as `tenant`, with
/// `parameters` as its `queryStringParameters` (none when empty, as API Gateway omits
/// them).
pub fn http_api_event(
    tenant: &str,
    method: &str,
    path: &str,
    raw_query: &str,
    parameters: Map<String, Value>,
    body: Option<&str>,
) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {"content-type": "application/json"},
        "queryStringParameters": if parameters.is_empty() { Value::Null } else { Value::Object(parameters) },
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example",
            "domainPrefix": "api",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "test-request",
            "routeKey": "$default",
            "stage": "$default",
            "time": "01/Mar/2026:12:00:00 +0000",
            "timeEpoch": 1772366400000_i64,
            "authorizer": {"jwt": {"claims": {"tenant_id": tenant}, "scopes": null}}
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// [`http_api_event`] for `method target` (`/path?query`), parsed into the request
/// the api handles.
pub fn http_api_request(
    tenant: &str,
    method: &str,
    target: &str,
    body: Option<&str>,
) -> ApiGatewayV2httpRequest {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let event = http_api_event(tenant, method, path, query, query_parameters(query), body);
    serde_json::from_value(event).expect("the event is one API Gateway sends")
}
