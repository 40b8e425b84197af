//! Airlock's ports on AWS, through the AWS SDK:
//!
//! - [`S3Store`]: streaming reads, status tags, removal, listing and presigned
//!   requests on one bucket.
//! - [`DynamoCatalog`]: the catalog, the usage ledger and counters on one table, in
//!   the single-table layout of `airlock_domain::FileItem`, every state change a
//!   conditional write.
//! - [`EventBridgePublisher`]: domain events on one bus, in chunks, with retries of
//!   the entries EventBridge reports as failed.
//! - [`S3RuleSource`]: the deployment's scanning rules under a bucket prefix.
//! - [`lambda`]: what every Lambda binary does around its handler: logging set-up,
//!   invocation spans, the cold-start metric, error reporting.
//! - [`logging`]: flat JSON log lines with the invocation's context, and the sink
//!   that writes metric events as EMF.
//! - [`metrics`]: the metric catalogue and the EMF formatter.
//! - [`config`]: the typed settings each function reads once at cold start.
//! - [`tls`]: the roots of trust for AWS endpoints (Amazon's, compiled in, by
//!   default).
//! - [`provision`]: the table, bucket and bus as the template declares them, for
//!   emulators and tests.
//!
//! `AWS_ENDPOINT_URL` is honoured (emulators), with path-style S3 addressing there.

pub mod config;
mod dynamo;
mod error;
mod eventbridge;
pub mod lambda;
pub mod logging;
pub mod metrics;
pub mod provision;
mod rules;
mod s3;
pub mod tls;

pub use dynamo::{BY_STATUS_INDEX, DUE_INDEX, DynamoCatalog};
pub use error::AdapterError;
pub use eventbridge::EventBridgePublisher;
pub use rules::{S3RuleSource, scanning};
pub use s3::{S3Chunks, S3Store, STATUS_TAG};

/// Loads the shared SDK configuration (region, credentials, endpoint) from the
/// environment, once per cold start, with one HTTPS client that trusts `roots` for
/// every client built from it.
pub async fn load_sdk_config(roots: tls::TrustRoots) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    match roots.https_client() {
        Some(client) => loader.http_client(client),
        None => loader,
    }
    .load()
    .await
}

/// An S3 client; path-style addressing when an endpoint override (an emulator) is set.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}
