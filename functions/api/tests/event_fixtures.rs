//! The API Gateway event fixtures, and the handler's shape (a future any runtime can drive).
//!
//! Drives `Api::handle` with API Gateway HTTP API (payload 2.0) events, one behaviour
//! per test: Arrange (seed the fakes, shape the event), Act (handle it), Assert (the
//! status, the body, and what happened to the catalog and the store).

mod support;

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use support::*;

const FIXTURES: &[(&str, &str)] = &[
    (
        "create-file",
        include_str!("fixtures/example-apigw-v2-create-file.json"),
    ),
    (
        "create-file-base64",
        include_str!("fixtures/example-apigw-v2-create-file-base64.json"),
    ),
    (
        "list-files",
        include_str!("fixtures/example-apigw-v2-list-files.json"),
    ),
    (
        "get-file",
        include_str!("fixtures/example-apigw-v2-get-file.json"),
    ),
    (
        "download-file",
        include_str!("fixtures/example-apigw-v2-download-file.json"),
    ),
    (
        "delete-file",
        include_str!("fixtures/example-apigw-v2-delete-file.json"),
    ),
    (
        "no-authorizer",
        include_str!("fixtures/example-apigw-v2-no-authorizer.json"),
    ),
];

#[test]
fn every_fixture_round_trips_through_the_event_type() {
    for (name, raw) in FIXTURES {
        let parsed: ApiGatewayV2httpRequest = serde_json::from_str(raw)
            .unwrap_or_else(|e| panic!("{name} does not parse as an HTTP API event: {e}"));
        let again: ApiGatewayV2httpRequest =
            serde_json::from_value(serde_json::to_value(&parsed).expect("serialises"))
                .expect("parses back");
        assert_eq!(parsed, again, "{name} changed in a round trip");
        assert_eq!(parsed.version.as_deref(), Some("2.0"), "{name}");
    }
}

#[test]
fn the_handler_future_can_run_on_a_multi_threaded_runtime() {
    fn assert_send<T: Send>(_: &T) {}
    let app = spawn_app();
    let future = app.api.handle(get_event("/v1/usage"));
    assert_send(&future);
}
