//! Faults at chosen points: every fault point (`airlock_faults::POINTS`), in each
//! mode. Error: the step fails once, with its layer's error, and the retries that
//! error leads to run. Kill: the stack process aborts at the point, and is started
//! again on the same data folder without the fault. Each case starts its own stack
//! with one point armed, drives a small workload that reaches that point (clients
//! retry through the outage), and closes the books as every promise test does: one
//! event per status change, no status entered twice, counters equal to a recount,
//! every file where its workload says, nothing PENDING that has its bytes, no CLEAN
//! tag without a CLEAN record. A point that never fires fails its case. The
//! workloads are in `fault_workloads.rs`.
//!
//! `AIRLOCK_FAULT_POINTS=name,name` runs only those points (to replay one).

use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use airlock_faults::{FAULTS_ENV, FIRED_ENV, Mode, POINTS};
use airlock_local::SqliteCatalog;

use crate::{
    accounting::{balance, bytes_agree_with_records},
    clients::Uploader,
    fault_workloads::{Expect, Workload},
    process::{Process, free_port},
};

/// Cases run at once: the stacks mostly wait (retry pauses, sweep ticks), so a few
/// share the two cores.
const PARALLEL_CASES: usize = 4;
/// How long a case's files have to reach where the workload says, after it ran.
const SETTLE: Duration = Duration::from_secs(40);
/// How long an armed kill may take to happen once the workload started.
const KILL_PATIENCE: Duration = Duration::from_secs(30);
/// The signal `std::process::abort` ends a process with.
const SIGABRT: i32 = 6;
/// What recovers a case in error mode besides the retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recovery {
    /// The retries of the layer that failed.
    Retries,
    /// A restart: what failed lives only in memory, and the next start redoes it.
    Restart,
}

/// The workload that reaches `point`, and what recovers its error; `None` for a point
/// no case covers (listed with its reason in [`UNCOVERED`]).
fn case_for(point: &str) -> Option<(Workload, Recovery)> {
    use Recovery::*;
    use Workload::*;
    let case = match point {
        "ingest.after_record_read" | "ingest.after_scan" | "ingest.between_tag_and_verdict" => {
            (CleanUploads, Retries)
        }
        "ingest.after_verdict" => (InfectedUpload, Retries),
        "ingest.between_checkpoint_and_enqueue" => (CarriedOverUpload, Retries),
        "publish.between_bus_and_ledger" | "publish.between_ledger_records" => {
            (CleanUploads, Retries)
        }
        "api.create_between_record_and_presign" => (CleanUploads, Retries),
        "api.delete_between_record_and_removal" => (UploadThenDelete, Retries),
        "api.complete_between_listing_and_join" | "api.complete_after_join" => {
            (MultipartUpload, Retries)
        }
        "sweep.between_expiry_and_retention"
        | "sweep.retire_between_record_and_removal"
        | "sweep.between_retention_and_rescan"
        | "sweep.between_rescan_and_reconcile" => (AbandonedUpload, Retries),
        "sweep.rescan_between_tag_and_record" | "sweep.rescan_between_record_and_quarantine" => {
            (RuleAddedAfterUpload, Retries)
        }
        "sweep.reconcile_before_orphan_purge" => (OrphanBytes, Retries),
        "pump.between_read_and_delivery" | "pump.between_delivery_and_checkpoint" => {
            (CleanUploads, Retries)
        }
        "notifications.before_ingest_delivery" => (CleanUploads, Retries),
        "objects.between_bytes_and_headers" | "objects.between_headers_and_link" => {
            (CleanUploads, Retries)
        }
        // The notification queue is in memory: an ObjectCreated event lost after the
        // object landed is sent again by the next start (S3 never loses one).
        "objects.between_commit_and_notification" => (CleanUploads, Restart),
        "objects.quarantine_between_move_and_cleanup" => (InfectedUpload, Retries),
        _ => return None,
    };
    Some(case)
}

/// Points no case covers, and why.
const UNCOVERED: &[(&str, &str)] = &[];

/// One point in one mode.
#[derive(Debug, Clone, Copy)]
struct Case {
    point: &'static str,
    mode: Mode,
    workload: Workload,
    recovery: Recovery,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.point, self.mode.as_str())
    }
}

/// A case's stack: its folder, port and flags, and what the armed start is given.
struct Stack {
    dir: tempfile::TempDir,
    data: PathBuf,
    fired: PathBuf,
    log: PathBuf,
    port: u16,
    flags: Vec<String>,
}

impl Stack {
    fn new(workload: Workload) -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            data: dir.path().join("data"),
            fired: dir.path().join("fired"),
            log: dir.path().join("stack.log"),
            port: free_port(),
            flags: workload.flags(),
            dir,
        }
    }

    /// Starts the binary, with `armed` armed when given; `None` when it died starting.
    async fn start(&self, armed: Option<&Case>) -> Option<Process> {
        let (data, port, flags) = (self.data.clone(), self.port, self.flags.clone());
        let fired = self.fired.to_str().unwrap().to_owned();
        let faults = armed.map(|case| format!("{}={}", case.point, case.mode.as_str()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        tokio::task::spawn_blocking(move || {
            let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
            let mut env = vec![(FIRED_ENV, fired.as_str()), ("RUST_LOG", "info")];
            if let Some(faults) = &faults {
                env.push((FAULTS_ENV, faults.as_str()));
            }
            Process::try_start(&data, port, &flags, &env, Stdio::from(log))
        })
        .await
        .unwrap()
    }

    /// How often the point fired, as the stack recorded it.
    fn fired(&self, point: &str) -> usize {
        std::fs::read_to_string(&self.fired)
            .unwrap_or_default()
            .lines()
            .filter(|line| *line == point)
            .count()
    }
}

/// Runs one case; why it failed otherwise, naming the data folder, which a failed
/// case keeps (its stack's log is `stack.log` there).
async fn run(case: Case) -> Result<Duration, String> {
    let started = Instant::now();
    let stack = Stack::new(case.workload);
    match drive(case, &stack).await {
        Ok(()) => Ok(started.elapsed()),
        Err(why) => Err(format!(
            "{case}: {why} (kept: {})",
            stack.dir.keep().display()
        )),
    }
}

async fn drive(case: Case, stack: &Stack) -> Result<(), String> {
    let (mut process, armed) = match (stack.start(Some(&case)).await, case.mode) {
        (Some(process), _) => (process, true),
        // Killed before it served (a point every sweep run passes, say).
        (None, Mode::Kill) => (stack.start(None).await.ok_or("the restart died")?, false),
        (None, Mode::Error) => return Err("the stack died starting".into()),
    };
    let uploader = Uploader::new(&process.base_url, &process.token);
    let work = tokio::spawn(case.workload.run(uploader, stack.data.clone()));
    if case.mode == Mode::Kill && armed {
        process = kill_and_restart(case, stack, process).await?;
    }
    let expects = work
        .await
        .map_err(|e| format!("the workload failed: {e}"))?;
    if case.mode == Mode::Error && case.recovery == Recovery::Restart {
        tokio::task::spawn_blocking(move || process.stop())
            .await
            .unwrap();
        process = stack.start(None).await.ok_or("the restart died")?;
    }
    let settled = settle(&stack.data, &expects).await;
    let fired = stack.fired(case.point);
    tokio::task::spawn_blocking(move || process.stop())
        .await
        .unwrap();
    settled?;
    match (case.mode, fired) {
        (_, 0) => Err("the point never fired".into()),
        (Mode::Error, 1) | (Mode::Kill, _) => Ok(()),
        (Mode::Error, n) => Err(format!("armed for one hit, it fired {n} times")),
    }
}

/// Waits for the armed stack to abort at the point, then starts it again unarmed.
async fn kill_and_restart(
    case: Case,
    stack: &Stack,
    mut process: Process,
) -> Result<Process, String> {
    let (process, status) = tokio::task::spawn_blocking(move || {
        let status = process.wait_for_exit(KILL_PATIENCE);
        (process, status)
    })
    .await
    .unwrap();
    let Some(status) = status else {
        process.kill();
        return Err(format!(
            "not killed within {KILL_PATIENCE:?}: never reached"
        ));
    };
    drop(process);
    if status.signal() != Some(SIGABRT) {
        return Err(format!(
            "the stack ended otherwise than by the fault: {status}"
        ));
    }
    if stack.fired(case.point) == 0 {
        return Err("the stack aborted, but not at the point".into());
    }
    stack
        .start(None)
        .await
        .ok_or_else(|| "the restart died".into())
}

/// Waits until the books balance, nothing is PENDING, every expectation holds and the
/// bytes agree with the records; the last reason why not after [`SETTLE`].
async fn settle(data: &Path, expects: &[Expect]) -> Result<(), String> {
    let catalog = SqliteCatalog::open(&data.join("catalog.db")).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + SETTLE;
    loop {
        let why = match settled(&catalog, data, expects).await {
            Ok(()) => return Ok(()),
            Err(why) => why,
        };
        if Instant::now() >= deadline {
            return Err(why);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn settled(catalog: &SqliteCatalog, data: &Path, expects: &[Expect]) -> Result<(), String> {
    let books = balance(catalog, &data.join("events.jsonl"), &["demo"]).await?;
    bytes_agree_with_records(catalog, &data.join("bucket")).await?;
    if books.unfinished() > 0 {
        return Err(format!("files still PENDING: {books:?}"));
    }
    for expect in expects {
        expect.check(catalog).await?;
    }
    Ok(())
}

/// The cases to run: every point in both modes, or those `AIRLOCK_FAULT_POINTS` names.
fn cases() -> (Vec<Case>, Vec<(&'static str, &'static str)>) {
    let only = std::env::var("AIRLOCK_FAULT_POINTS").unwrap_or_default();
    let chosen = |name: &str| only.is_empty() || only.split(',').any(|n| n.trim() == name);
    let mut cases = Vec::new();
    let mut uncovered = Vec::new();
    for point in POINTS.iter().filter(|p| chosen(p.name)) {
        let Some((workload, recovery)) = case_for(point.name) else {
            let why = UNCOVERED
                .iter()
                .find(|(name, _)| *name == point.name)
                .map_or("no case reaches it, and no reason is given", |(_, why)| {
                    *why
                });
            uncovered.push((point.name, why));
            continue;
        };
        for mode in Mode::ALL {
            cases.push(Case {
                point: point.name,
                mode,
                workload,
                recovery,
            });
        }
    }
    (cases, uncovered)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_fault_point_failing_once_or_killing_the_stack_loses_nothing_and_counts_everything_once()
 {
    let started = Instant::now();
    let (cases, uncovered) = cases();
    let points = cases.len() / Mode::ALL.len() + uncovered.len();
    let permits = Arc::new(tokio::sync::Semaphore::new(PARALLEL_CASES));
    let mut running = tokio::task::JoinSet::new();
    for case in cases.iter().copied() {
        let permits = Arc::clone(&permits);
        running.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            (case, run(case).await)
        });
    }
    let mut failures = Vec::new();
    while let Some(done) = running.join_next().await {
        let (case, outcome) = done.unwrap();
        match outcome {
            Ok(took) => println!("  ok   {case} in {:.1} s", took.as_secs_f64()),
            Err(why) => {
                println!("  FAIL {why}");
                failures.push(why);
            }
        }
    }
    println!(
        "fault points: {points} points × {} modes = {} cases, {} covered ({:.0} s)",
        Mode::ALL.len(),
        points * Mode::ALL.len(),
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    for (point, why) in &uncovered {
        println!("  not covered: {point}: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        uncovered
            .iter()
            .all(|(point, _)| UNCOVERED.iter().any(|(n, _)| n == point))
    );
}
