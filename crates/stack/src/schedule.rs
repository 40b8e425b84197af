//! The schedule: runs sweep on an interval with the event an EventBridge schedule
//! rule would send.

use std::time::Duration;
use tracing::Instrument;

use airlock_domain::error_chain;
use airlock_local::{DirRuleSource, FsObjectStore, SqliteCatalog, SystemClock};
use airlock_sweep::Sweep;
use tokio::sync::watch;

/// The sweep handler as the local stack wires it.
pub type LocalSweep = Sweep<SqliteCatalog, FsObjectStore, SystemClock, DirRuleSource>;

/// The event an EventBridge schedule rule sends.
pub fn scheduled_event() -> serde_json::Value {
    serde_json::json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": chrono::Utc::now(),
        "region": "local",
        "resources": ["arn:aws:events:local:000000000000:rule/airlock-sweep"],
        "detail": {}
    })
}

/// Runs sweep every `every` until `shutdown` turns true.
pub async fn run(sweep: LocalSweep, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => {}
        }
        if *shutdown.borrow() {
            return;
        }
        let span = crate::invocations::SWEEP.span(&crate::invocations::request_id());
        if let Err(error) = sweep
            .handle_payload(scheduled_event())
            .instrument(span)
            .await
        {
            tracing::error!(error = %error_chain(&error), "sweep run failed");
        }
    }
}
