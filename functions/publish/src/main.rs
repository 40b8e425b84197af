//! The publish Lambda binary. The AWS adapters are not wired yet (see the AWS adapters
//! issue), so every invocation fails with a clear message instead of doing nothing.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Err::<(), Error>(
            "publish: the AWS adapters are not wired yet; run the local stack (make run)".into(),
        )
    }))
    .await
}
