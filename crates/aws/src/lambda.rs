//! What every Lambda binary does before and around its handler: JSON logs, the
//! steps of its cold start timed in their own spans, and errors reported to the
//! runtime with their whole source chain.

use std::{future::Future, time::Instant};

use lambda_runtime::Diagnostic;
use tracing::Instrument;

/// JSON log lines filtered by `RUST_LOG` (INFO when unset), as CloudWatch reads them.
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::builder()
                .with_default_directive(tracing_subscriber::filter::LevelFilter::INFO.into())
                .from_env_lossy(),
        )
        .with_current_span(false)
        .without_time()
        .init();
}

/// A handler error as the runtime reports it: a stable type name and the message
/// with every cause. Returning it makes Lambda retry the event (and then send it to
/// the on-failure destination).
pub fn diagnostic(error_type: &str, error: &dyn std::error::Error) -> Diagnostic {
    Diagnostic {
        error_type: error_type.to_owned(),
        error_message: airlock_domain::error_chain(error),
    }
}

/// The message of the log line each cold-start step ends with; `make bench` reads
/// these lines to report what a binary does before its first invocation.
pub const INIT_STEP_MESSAGE: &str = "init step";

/// Runs one step of the cold start (reading config, building clients, loading rules)
/// in an `init` span named after it, and logs how long it took in microseconds.
pub fn init_step<T>(step: &'static str, work: impl FnOnce() -> T) -> T {
    let _span = tracing::info_span!("init", step).entered();
    let started = Instant::now();
    let done = work();
    log_step(step, started);
    done
}

/// [`init_step`] for a step that awaits (loading the SDK configuration).
pub async fn init_step_async<T>(step: &'static str, work: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let done = work.instrument(tracing::info_span!("init", step)).await;
    log_step(step, started);
    done
}

fn log_step(step: &'static str, started: Instant) {
    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    tracing::info!(step, micros, "{INIT_STEP_MESSAGE}");
}
