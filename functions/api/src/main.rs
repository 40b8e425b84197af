//! The api Lambda binary. It will build the AWS adapters once at cold start and run
//! `airlock_api::Api`; until those adapters exist it answers every invocation with
//! an error that says so, rather than pretending to serve requests.
//!
//! Logs are JSON lines, filtered by `RUST_LOG` (INFO when unset).

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use tracing_subscriber::{EnvFilter, filter::LevelFilter};

/// Returned for every invocation until the AWS adapters are wired in.
#[derive(Debug, thiserror::Error)]
#[error("the AWS adapters are not wired yet; run the local stack (make run)")]
struct NotWired;

impl From<NotWired> for Diagnostic {
    // Without this the runtime reports the boxed type's name as the error type.
    fn from(error: NotWired) -> Self {
        Diagnostic {
            error_type: "NotWired".to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::builder()
                .with_default_directive(LevelFilter::INFO.into())
                .from_env_lossy(),
        )
        .with_current_span(false)
        .init();
    tracing::warn!("{NotWired}");
    lambda_runtime::run(service_fn(
        |_: LambdaEvent<ApiGatewayV2httpRequest>| async {
            Err::<ApiGatewayV2httpResponse, NotWired>(NotWired)
        },
    ))
    .await
}
