//! Keeps `openapi.json` and the router from drifting apart: the document must list
//! exactly the routes in `ROUTES`, and every reference in it must resolve.

use std::collections::BTreeSet;

use airlock_api::ROUTES;
use serde_json::Value;

const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn document() -> Value {
    serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is valid JSON")
}

#[test]
fn the_document_lists_exactly_the_routes_the_api_serves() {
    // Arrange
    let doc = document();
    let paths = doc["paths"].as_object().expect("a paths object");

    // Act
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .into_iter()
                .flat_map(|ops| ops.keys())
                .filter(|key| HTTP_METHODS.contains(&key.as_str()))
                .map(move |method| (method.to_uppercase(), path.clone()))
        })
        .collect();

    // Assert
    let served: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    assert_eq!(served.len(), ROUTES.len(), "ROUTES has duplicates");
    assert_eq!(documented, served);
}

#[test]
fn the_document_is_openapi_3_1_with_a_global_bearer_jwt_requirement() {
    // Arrange
    let doc = document();

    // Act
    let scheme = &doc["components"]["securitySchemes"]["bearerAuth"];

    // Assert
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");
    assert_eq!(doc["security"], serde_json::json!([{"bearerAuth": []}]));
}

#[test]
fn every_reference_in_the_document_resolves() {
    // Arrange
    let doc = document();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);

    // Act
    let dangling: Vec<&String> = refs
        .iter()
        .filter(|r| {
            r.strip_prefix('#')
                .and_then(|pointer| doc.pointer(pointer))
                .is_none()
        })
        .collect();

    // Assert
    assert!(!refs.is_empty(), "the document uses components");
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(target)) => refs.push(target.clone()),
                    _ => collect_refs(inner, refs),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, refs)),
        _ => {}
    }
}
