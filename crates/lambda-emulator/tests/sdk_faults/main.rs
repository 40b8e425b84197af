//! Issue 18, the SDK's faults: the four handlers in process on the AWS adapters
//! against the AWS emulator (`scripts/with-moto.sh`), each client carrying a fault
//! injector at the SDK's own seams ([`injector`]). A dry run of the flow ([`flow`])
//! lists every AWS call each function makes; then, for each call × {throttle, 5xx,
//! timeout} × {once, for the invocation}, a fresh deployment runs the flow with that
//! call failing, each function redelivered as its trigger would, and closes the
//! books ([`books`]).
//!
//! A fault that never fired fails its case: a call the flow did not reach is not
//! covered. Once-only throttles and 5xx must be absorbed by the SDK's retries (the
//! request never reached the service, so a retry is as good as the first try); a
//! fault lasting the invocation must reach the handler, which fails it so the
//! trigger redelivers, unless the call is listed in [`TOLERATED`] with why.

#![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

mod books;
mod flow;
mod injector;
#[path = "../support/mod.rs"]
mod support;
mod world;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::Instant,
};

use injector::{Aim, Call, Faults, Lasting, Mode};

/// Cases run at once: each mostly waits on the emulator or a timed-out attempt.
const PARALLEL: usize = 4;

/// Calls the functions make in production that this flow cannot reach, with why.
const NOT_IN_THE_FLOW: &[(&str, &str)] = &[
    (
        "api S3.PutObject, api S3.GetObject (presigned upload and download)",
        "signed locally: no request is sent, so there is nothing to fail",
    ),
    (
        "ingest/sweep S3.ListObjectsV2, S3.GetObject, S3.PutObject under rules/",
        "the rules are read at cold start (a failure there fails the cold start, not an event); the cases scan with the default rules",
    ),
    (
        "ingest SQS.SendMessage (continuation queue)",
        "only a file too large for one invocation is carried over; these are a few bytes",
    ),
    (
        "api S3.ListParts, S3.CompleteMultipartUpload, S3.AbortMultipartUpload (parts routes)",
        "the flow asks for an upload in parts but sends none",
    ),
    (
        "sweep DynamoDB.Query for retention",
        "retention is off; the same operation is faulted at sweep's first Query",
    ),
    (
        "sweep S3.GetObject checking an expired upload's bytes within ingest's grace",
        "sweep's clock is past every grace; a failure there is left for the next run by design; the same operation is faulted at the re-scan",
    ),
    (
        "ingest S3.DeleteObject of a replayed upload's version",
        "no upload is replayed; the same operation is faulted in the quarantine move",
    ),
];

/// Calls whose failure for a whole invocation a function absorbs by design, with why.
const TOLERATED: &[(&str, &str, &str)] = &[];

/// One case's result.
struct Outcome {
    aim: Option<Aim>,
    fired: usize,
    attempts: usize,
    calls: Vec<Call>,
    failed_deliveries: Vec<String>,
    books: Result<books::Books, String>,
    seconds: f64,
}

impl Outcome {
    /// Why the case does not count as covered, if it does not.
    fn defect(&self) -> Option<String> {
        let aim = self.aim.as_ref()?;
        if self.fired == 0 {
            return Some("the fault never fired: the call was not reached".to_owned());
        }
        if let Err(why) = &self.books {
            return Some(why.clone());
        }
        let reached = !self.failed_deliveries.is_empty();
        match aim.lasting {
            Lasting::Once if !aim.mode.reaches_the_service() && reached => Some(format!(
                "the SDK did not absorb one {:?}: {:?}",
                aim.mode, self.failed_deliveries
            )),
            Lasting::Invocation if !reached && !tolerated(&aim.call) => {
                Some("the handler succeeded through the outage: an error was swallowed".to_owned())
            }
            _ => None,
        }
    }
}

fn tolerated(call: &Call) -> bool {
    TOLERATED
        .iter()
        .any(|(function, operation, _)| *function == call.function && *operation == call.operation)
}

async fn run_case(base: aws_config::SdkConfig, rules: PathBuf, aim: Option<Aim>) -> Outcome {
    let started = Instant::now();
    let world = world::world(&base, &rules, aim.clone()).await;
    let (failed_deliveries, books) = match flow::run(&world).await {
        Ok(run) => (
            run.deliveries.failed,
            books::balance(&world.deployment, &run.files).await,
        ),
        Err(why) => (Vec::new(), Err(format!("the flow stopped: {why}"))),
    };
    let faults: &Faults = &world.faults;
    Outcome {
        aim,
        fired: faults.fired(),
        attempts: faults.attempts(),
        calls: faults.calls(),
        failed_deliveries,
        books,
        seconds: started.elapsed().as_secs_f64(),
    }
}

/// The calls to fault: all, or those whose name contains `AIRLOCK_SDK_FAULTS_ONLY`
/// when that is set (`ingest`, `S3.GetObject`), for a quick look at one function.
fn chosen(calls: &[Call]) -> Vec<Call> {
    let only = std::env::var("AIRLOCK_SDK_FAULTS_ONLY").unwrap_or_default();
    calls
        .iter()
        .filter(|c| c.to_string().contains(&only))
        .cloned()
        .collect()
}

/// Every call × mode × lasting.
fn cases(calls: &[Call]) -> Vec<Aim> {
    let mut aims = Vec::new();
    for call in calls {
        for mode in Mode::ALL {
            for lasting in [Lasting::Once, Lasting::Invocation] {
                aims.push(Aim {
                    call: call.clone(),
                    mode,
                    lasting,
                });
            }
        }
    }
    aims
}

async fn run_all(base: &aws_config::SdkConfig, rules: &Path, aims: Vec<Aim>) -> Vec<Outcome> {
    let gate = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut running = tokio::task::JoinSet::new();
    for aim in aims {
        let (base, rules, gate) = (base.clone(), rules.to_owned(), Arc::clone(&gate));
        running.spawn(async move {
            let _turn = gate.acquire_owned().await.unwrap();
            run_case(base, rules, Some(aim)).await
        });
    }
    let mut outcomes = running.join_all().await;
    outcomes.sort_by(|a, b| a.aim.cmp(&b.aim));
    outcomes
}

fn report(calls: &[Call], outcomes: &[Outcome]) -> usize {
    for outcome in outcomes {
        let Some(aim) = &outcome.aim else { continue };
        let verdict = match outcome.defect() {
            Some(why) => format!("NOT COVERED: {why}"),
            None if outcome.failed_deliveries.is_empty() => "absorbed by the SDK".to_owned(),
            None => format!(
                "reached the handler, redelivered {}×: {}",
                outcome.failed_deliveries.len(),
                outcome.failed_deliveries[0]
            ),
        };
        let repeats = outcome.books.as_ref().map_or(0, |b| b.repeated_events);
        println!(
            "  {aim}: fired {}×, {:.1}s, {verdict}{}",
            outcome.fired,
            outcome.seconds,
            if repeats > 0 {
                format!(" ({repeats} event(s) delivered twice, same id)")
            } else {
                String::new()
            }
        );
    }
    let modes = Mode::ALL.len() * 2;
    let covered = outcomes.iter().filter(|o| o.defect().is_none()).count();
    println!(
        "sdk faults: {} calls × {modes} modes = {} cases, covered {covered}",
        calls.len(),
        outcomes.len()
    );
    println!("  modes: {:?} × {{once, for the invocation}}", Mode::ALL);
    for (calls, why) in NOT_IN_THE_FLOW {
        println!("  not in the flow: {calls}: {why}");
    }
    for (function, operation, why) in TOLERATED {
        println!("  tolerated: {function} {operation}: {why}");
    }
    covered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_faults_at_every_call_are_absorbed_or_redelivered_and_the_books_balance() {
    let started = Instant::now();
    let base = world::base_sdk().await;
    let rules = tempfile::tempdir().unwrap();
    let dry = run_case(base.clone(), rules.path().to_owned(), None).await;
    let books = dry.books.expect("the flow balances without faults");
    assert!(
        dry.failed_deliveries.is_empty(),
        "{:?}",
        dry.failed_deliveries
    );
    println!(
        "dry run: {} calls ({} attempts), {} status changes, {} files, {} CLEAN-tagged version(s) of a file not CLEAN behind a delete marker, {:.1}s",
        dry.calls.len(),
        dry.attempts,
        books.status_changes,
        books.files,
        books.clean_behind_delete_marker,
        dry.seconds
    );
    for call in &dry.calls {
        println!("  call: {call}");
    }

    let calls = chosen(&dry.calls);
    let outcomes = run_all(&base, rules.path(), cases(&calls)).await;
    let covered = report(&calls, &outcomes);
    println!("sdk faults took {:.0}s", started.elapsed().as_secs_f64());
    assert_eq!(
        covered,
        outcomes.len(),
        "some cases are not covered (above)"
    );
}
