//! Hello world on `lambda_runtime`: no configuration, no clients, no logs. `make bench`
//! holds every Airlock function's cold start against this one's, built with the same
//! release profile and started by the same emulator.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<_, Error>(json!({ "hello": "world" }))
    }))
    .await
}
