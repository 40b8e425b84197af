//! The process's one tracing subscriber: every event as a flat JSON line (see
//! [`crate::logging`]), metric events as EMF, at the level the environment asks for.
//! Installed first thing by every Lambda binary and by the local stack.

use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};

use crate::logging::{JsonLines, env_filter};

/// JSON log lines and EMF metric lines on stdout, where Lambda sends them to
/// CloudWatch Logs. The level comes from `RUST_LOG`, else `AWS_LAMBDA_LOG_LEVEL`,
/// else INFO (see [`env_filter`]); `function` names metrics emitted outside an
/// invocation.
pub fn init_tracing(function: &str) {
    init_tracing_to(function, std::io::stdout);
}

/// [`init_tracing`] with the lines going to `writer` (the local stack keeps stdout
/// for what it prints for people and scripts, and logs to stderr).
pub fn init_tracing_to<W>(function: &str, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let var = |name| std::env::var(name).ok();
    let filter = env_filter(
        var("RUST_LOG").as_deref(),
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
    );
    tracing_subscriber::registry()
        .with(JsonLines::new(writer, function).with_filter(filter))
        .init();
}
