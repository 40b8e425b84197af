//! End to end through the local stack: `uploads` small files sent as clients send
//! them, timed until every one is CLEAN and its `File Accepted` event is in the
//! JSON-lines bus; then checked for lost and duplicated events.

use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::{Duration, Instant},
};

use tokio::{sync::Semaphore, task::JoinSet};

use crate::{
    BenchError,
    report::Report,
    stack::{PNG, Stack},
};

const SECTION: &str = "end to end";
/// The target, and how long to wait before calling the run failed.
const TARGET: Duration = Duration::from_secs(30);
const GIVE_UP: Duration = Duration::from_secs(120);

/// Runs the uploads and reports time, losses and duplicates.
pub async fn run(
    stack: Stack,
    uploads: usize,
    concurrency: usize,
    report: &mut Report,
) -> Result<(), BenchError> {
    let stack = Arc::new(stack);
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for i in 0..uploads {
        let stack = Arc::clone(&stack);
        let permits = Arc::clone(&permits);
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            stack.upload(&format!("bench-{i}.png"), PNG).await
        });
    }
    let mut ids = HashSet::new();
    let mut failed_uploads = 0;
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(Ok(id)) => {
                ids.insert(id);
            }
            _ => failed_uploads += 1,
        }
    }
    let sent = started.elapsed();

    // Poll the bus until every upload has its event (or give up).
    let events_path = stack.events_path();
    loop {
        let accepted = accepted_events(&events_path);
        if ids.iter().all(|id| accepted.contains_key(id)) || started.elapsed() > GIVE_UP {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let all_in = started.elapsed();
    let clean: HashSet<String> = stack.ids_with_status("CLEAN").await?.into_iter().collect();
    // Late duplicates would arrive after the last first delivery: look once more.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let accepted = accepted_events(&events_path);

    let lost = ids.iter().filter(|id| !accepted.contains_key(*id)).count();
    let duplicated = accepted.values().filter(|n| **n > 1).count();
    let not_clean = ids.iter().filter(|id| !clean.contains(*id)).count();
    let complete = failed_uploads == 0 && lost == 0 && duplicated == 0 && not_clean == 0;
    report.info(
        SECTION,
        format!("{uploads} uploads sent ({concurrency} at a time)"),
        format!("{:.2} s, {failed_uploads} failed", sent.as_secs_f64()),
    );
    report.check(
        SECTION,
        format!("{uploads} uploads all CLEAN with their event"),
        format!(
            "{:.2} s; {} CLEAN, {lost} events lost, {duplicated} duplicated, {not_clean} not CLEAN",
            all_in.as_secs_f64(),
            ids.len() - not_clean
        ),
        "all, ≤ 30 s, none lost or duplicated",
        Some(complete && all_in <= TARGET),
    );
    Ok(())
}

/// File id → how many `File Accepted` events the bus holds for it.
fn accepted_events(path: &std::path::Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for event in airlock_local::read_bus_file(path).unwrap_or_default() {
        if event["detail-type"] == "File Accepted"
            && let Some(id) = event["detail"]["file_id"].as_str()
        {
            *counts.entry(id.to_owned()).or_insert(0) += 1;
        }
    }
    counts
}
