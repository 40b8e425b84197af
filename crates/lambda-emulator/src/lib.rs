//! A Lambda Runtime API emulator on 127.0.0.1, so the function binaries run exactly
//! as Lambda runs them: started with `AWS_LAMBDA_RUNTIME_API` pointing here, they
//! long-poll `/runtime/invocation/next`, and answer through `/response` or `/error`.
//!
//! One [`RuntimeApi`] serves one function process. [`Function::spawn`] starts a
//! binary against it; [`Function::invoke`] sends an event and waits for the answer.
//! The process is killed when the [`Function`] is dropped.

use std::{
    collections::HashMap,
    net::SocketAddr,
    path::Path,
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::{Path as UrlPath, State},
    http::{HeaderMap, HeaderValue, StatusCode},
    response::IntoResponse,
    routing::{get, post},
};
use tokio::sync::{mpsc, oneshot};

/// What went wrong with an invocation.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The function reported an error (the runtime's error JSON).
    #[error("function error: {0}")]
    Function(serde_json::Value),
    /// The function failed to initialise.
    #[error("init error: {0}")]
    Init(serde_json::Value),
    /// No answer in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The emulator or the process went away.
    #[error("emulator stopped: {0}")]
    Stopped(&'static str),
    /// The process could not be started.
    #[error("starting the function")]
    Spawn(#[source] std::io::Error),
}

type Outcome = Result<serde_json::Value, InvokeError>;

struct Pending {
    id: String,
    payload: serde_json::Value,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Clone)]
struct Shared {
    queue: Arc<tokio::sync::Mutex<mpsc::Receiver<Pending>>>,
    waiting: Arc<Mutex<HashMap<String, oneshot::Sender<Outcome>>>>,
    init_error: Arc<Mutex<Option<serde_json::Value>>>,
}

/// The Runtime API for one function.
pub struct RuntimeApi {
    addr: SocketAddr,
    invocations: mpsc::Sender<Pending>,
    shared: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl RuntimeApi {
    /// Starts on a free 127.0.0.1 port.
    pub async fn start() -> std::io::Result<Self> {
        let (invocations, queue) = mpsc::channel(16);
        let shared = Shared {
            queue: Arc::new(tokio::sync::Mutex::new(queue)),
            waiting: Arc::default(),
            init_error: Arc::default(),
        };
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            addr,
            invocations,
            shared,
            server,
        })
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Sends one event and waits for the function's answer.
    pub async fn invoke(&self, payload: serde_json::Value, timeout: Duration) -> Outcome {
        let (reply, answer) = oneshot::channel();
        let id = ulid::Ulid::new().to_string();
        self.invocations
            .send(Pending { id, payload, reply })
            .await
            .map_err(|_| InvokeError::Stopped("queue closed"))?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(InvokeError::Stopped("answer dropped")),
            Err(_) => Err(match self.init_failure() {
                Some(init) => InvokeError::Init(init),
                None => InvokeError::Timeout(timeout),
            }),
        }
    }

    /// The error the function reported at initialisation, if any.
    pub fn init_failure(&self) -> Option<serde_json::Value> {
        self.shared.init_error.lock().ok().and_then(|e| e.clone())
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn next(State(shared): State<Shared>) -> impl IntoResponse {
    let pending = shared.queue.lock().await.recv().await;
    let Some(Pending { id, payload, reply }) = pending else {
        return (StatusCode::GONE, HeaderMap::new(), Bytes::new());
    };
    if let Ok(mut waiting) = shared.waiting.lock() {
        waiting.insert(id.clone(), reply);
    }
    let deadline = (std::time::SystemTime::now() + Duration::from_secs(900))
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set("lambda-runtime-aws-request-id", id);
    set("lambda-runtime-deadline-ms", deadline.to_string());
    set(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:airlock".to_owned(),
    );
    set(
        "lambda-runtime-trace-id",
        "Root=1-00000000-000000000000000000000000".to_owned(),
    );
    (StatusCode::OK, headers, Bytes::from(payload.to_string()))
}

fn complete(shared: &Shared, id: &str, outcome: Outcome) -> StatusCode {
    let reply = shared.waiting.lock().ok().and_then(|mut w| w.remove(id));
    match reply {
        Some(reply) => {
            let _ = reply.send(outcome);
            StatusCode::ACCEPTED
        }
        None => StatusCode::BAD_REQUEST,
    }
}

fn json(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into_owned()))
}

async fn response(
    State(shared): State<Shared>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    complete(&shared, &id, Ok(json(&body)))
}

async fn error(
    State(shared): State<Shared>,
    UrlPath(id): UrlPath<String>,
    body: Bytes,
) -> StatusCode {
    complete(&shared, &id, Err(InvokeError::Function(json(&body))))
}

async fn init_error(State(shared): State<Shared>, body: Bytes) -> StatusCode {
    if let Ok(mut slot) = shared.init_error.lock() {
        *slot = Some(json(&body));
    }
    StatusCode::ACCEPTED
}

/// Which of this process's variables a spawned function sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Inherit {
    All,
    LambdaOnly,
}

/// The variables Lambda's `provided.al2023` runtime sets for every function, beside
/// the `AWS_LAMBDA_*` ones (`PATH` is this process's, so programs can be found).
fn lambda_environment(binary: &Path) -> Vec<(String, String)> {
    let task_root = binary
        .parent()
        .map(|dir| dir.display().to_string())
        .unwrap_or_default();
    vec![
        ("LANG".into(), "en_US.UTF-8".into()),
        ("TZ".into(), ":UTC".into()),
        ("LAMBDA_TASK_ROOT".into(), task_root),
        (
            "AWS_EXECUTION_ENV".into(),
            "AWS_Lambda_provided.al2023".into(),
        ),
        ("PATH".into(), std::env::var("PATH").unwrap_or_default()),
    ]
}

/// This process's variables that reach a function spawned as on Lambda: credentials
/// and region (Lambda sets them from the execution role) and the endpoint (which
/// stands in for AWS).
fn passed_to_lambda(key: &str) -> bool {
    matches!(
        key,
        "AWS_ACCESS_KEY_ID"
            | "AWS_SECRET_ACCESS_KEY"
            | "AWS_SESSION_TOKEN"
            | "AWS_REGION"
            | "AWS_DEFAULT_REGION"
            | "AWS_EC2_METADATA_DISABLED"
    ) || key.starts_with("AWS_ENDPOINT_URL")
}

/// A function binary running against its own Runtime API.
pub struct Function {
    /// The Runtime API the process polls.
    pub api: RuntimeApi,
    child: tokio::process::Child,
}

impl Function {
    /// Starts `binary` with this process's environment, the Lambda variables and `env`;
    /// stderr and stdout (its logs) go to `log`.
    pub async fn spawn(
        binary: &Path,
        name: &str,
        env: &[(&str, String)],
        log: &Path,
    ) -> Result<Self, InvokeError> {
        Self::start(binary, name, env, log, Inherit::All).await
    }

    /// [`Function::spawn`] with only the environment Lambda gives a function: the
    /// Lambda variables, `LANG`, `TZ`, `PATH`, and from this process only the AWS
    /// credentials, region and endpoint (which point it at the emulator). What a
    /// developer's shell sets (`HOME`, `SSL_CERT_DIR`, `RUST_LOG`, …) is left out, as it
    /// is on Lambda: a benchmark of start-up must not count work that only the
    /// developer's settings cause.
    pub async fn spawn_as_on_lambda(
        binary: &Path,
        name: &str,
        env: &[(&str, String)],
        log: &Path,
    ) -> Result<Self, InvokeError> {
        Self::start(binary, name, env, log, Inherit::LambdaOnly).await
    }

    async fn start(
        binary: &Path,
        name: &str,
        env: &[(&str, String)],
        log: &Path,
        inherit: Inherit,
    ) -> Result<Self, InvokeError> {
        let api = RuntimeApi::start().await.map_err(InvokeError::Spawn)?;
        let log_file = std::fs::File::create(log).map_err(InvokeError::Spawn)?;
        let err_file = log_file.try_clone().map_err(InvokeError::Spawn)?;
        let mut command = tokio::process::Command::new(binary);
        if inherit == Inherit::LambdaOnly {
            command
                .env_clear()
                .envs(lambda_environment(binary))
                .envs(std::env::vars().filter(|(key, _)| passed_to_lambda(key)));
        }
        let child = command
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(log_file))
            .stderr(Stdio::from(err_file))
            .kill_on_drop(true)
            .spawn()
            .map_err(InvokeError::Spawn)?;
        Ok(Self { api, child })
    }

    /// Sends one event and waits (up to 30 s) for the answer; fails at once if the
    /// process has exited.
    pub async fn invoke(&mut self, payload: serde_json::Value) -> Outcome {
        if let Ok(Some(_)) = self.child.try_wait() {
            return Err(InvokeError::Stopped("process exited"));
        }
        self.api.invoke(payload, Duration::from_secs(30)).await
    }

    /// Kills the process and waits until it is gone, so its teardown does not overlap
    /// whatever runs next (a benchmark's next cold start).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// The process id (to read its memory high-water mark from `/proc`), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Waits for the process to exit on its own (a failed cold start), up to `within`.
    pub async fn exit_status(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        tokio::time::timeout(within, self.child.wait())
            .await
            .ok()?
            .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_spawned_as_on_lambda_gets_credentials_region_and_endpoints() {
        for key in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_REGION",
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_S3",
        ] {
            assert!(passed_to_lambda(key), "{key}");
        }
    }

    #[test]
    fn a_function_spawned_as_on_lambda_does_not_see_the_developers_shell() {
        for key in [
            "SSL_CERT_DIR",
            "SSL_CERT_FILE",
            "HOME",
            "RUST_LOG",
            "AWS_PROFILE",
        ] {
            assert!(!passed_to_lambda(key), "{key}");
        }
    }
}
