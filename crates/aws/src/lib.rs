//! Airlock's ports on AWS, through the AWS SDK:
//!
//! - [`S3Store`]: streaming reads, status tags, removal, listing, presigned
//!   requests and multipart uploads on one bucket.
//! - [`DynamoCatalog`]: the catalog, the usage ledger and counters on one table, in
//!   the single-table layout of `airlock_domain::FileItem`, every state change a
//!   conditional write.
//! - [`EventBridgePublisher`]: domain events on one bus, in chunks, with retries of
//!   the entries EventBridge reports as failed.
//! - [`SqsContinuations`]: ingest's continuation queue, for files one invocation
//!   cannot finish.
//! - [`S3RuleSource`]: the deployment's scanning rules under a bucket prefix.
//! - [`lambda`]: a handler error as the Lambda runtime reports it (logs, metrics and
//!   invocation spans are `airlock_telemetry`'s, which needs no SDK).
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
mod inventory;
pub mod lambda;
mod multipart;
pub mod provision;
mod ranged;
mod rules;
mod s3;
mod sqs;
pub mod tls;
mod walks;

pub use dynamo::{BY_STATUS_INDEX, DUE_INDEX, DynamoCatalog, RESCANS_INDEX};
pub use error::AdapterError;
pub use eventbridge::EventBridgePublisher;
pub use ranged::S3Chunks;
pub use rules::{S3RuleSource, scanning};
pub use s3::{S3Store, STATUS_TAG};
pub use sqs::SqsContinuations;

/// Loads the shared SDK configuration (region, credentials, endpoint) from the
/// environment, once per cold start, with one HTTPS client that trusts `roots` for
/// every client built from it.
pub async fn load_sdk_config(roots: tls::TrustRoots) -> aws_config::SdkConfig {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(roots.https_client());
    if credentials_in_environment(|name| std::env::var_os(name).is_some()) {
        // Lambda gives a function its role's credentials in these variables, and the
        // default chain would take them first; building the rest of the chain (profile
        // files, web identity with an STS client, ECS, IMDS) only costs the cold start.
        loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
    } else {
        loader
    }
    .load()
    .await
}

/// Whether the environment holds an access key and its secret.
fn credentials_in_environment(is_set: impl Fn(&str) -> bool) -> bool {
    is_set("AWS_ACCESS_KEY_ID") && is_set("AWS_SECRET_ACCESS_KEY")
}

/// An S3 client; path-style addressing when an endpoint override (an emulator) is set.
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(sdk.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_count_as_in_the_environment_only_with_both_the_key_and_its_secret() {
        let only = |names: &'static [&'static str]| move |name: &str| names.contains(&name);
        assert!(credentials_in_environment(only(&[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY"
        ])));
        assert!(!credentials_in_environment(only(&["AWS_ACCESS_KEY_ID"])));
        assert!(!credentials_in_environment(only(&[])));
    }
}
