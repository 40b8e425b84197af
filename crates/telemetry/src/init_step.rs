//! The steps of a cold start (reading config, building clients, loading rules), each
//! timed in its own `init` span and ended by one log line that `make bench` reads.

use std::{future::Future, time::Instant};

use tracing::Instrument;

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
