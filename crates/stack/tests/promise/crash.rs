//! The stack binary killed with SIGKILL at random points while clients upload, and
//! restarted on the same data folder each time. Afterwards every upload has ended in a
//! terminal state (the bytes that were stored got their verdict; uploads whose bytes
//! never came expired), every state change has exactly one event in the log, and the
//! counters equal a recount of the catalog.
//!
//! `AIRLOCK_CRASH_KILLS` sets the number of kills (default 20), `AIRLOCK_CRASH_SEED`
//! replays a run (the seed is printed).

use std::{sync::Arc, time::Duration};

use tokio::sync::Mutex;

use crate::{
    clients::{Rng, Sent, Uploader, settle},
    process::{Process, free_port},
};

/// Uploads stay open this long (the URL too): long enough to ride out a restart,
/// short enough that uploads orphaned by a lost response expire within the test.
const UPLOAD_WINDOW_SECS: &str = "8";
const CLIENTS: u64 = 6;

fn kills() -> u32 {
    std::env::var("AIRLOCK_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stack_killed_twenty_times_during_uploads_loses_nothing_and_counts_everything_once() {
    let mut rng = Rng::seeded_from_env("AIRLOCK_CRASH_SEED");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let flags = ["--upload-window", UPLOAD_WINDOW_SECS, "--sweep-every", "1"];
    let mut stack = Process::start_with(&data, port, &flags);
    let uploader = Uploader::new(&stack.base_url, &stack.token);

    // Clients upload without pause until told to stop; each keeps what it sent.
    let sent = Arc::new(Mutex::new(Vec::<Sent>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = tokio::task::JoinSet::new();
    for client in 0..CLIENTS {
        let (uploader, sent, stop) = (uploader.clone(), Arc::clone(&sent), Arc::clone(&stop));
        clients.spawn(async move {
            let mut n = client * 1_000_000;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                // One in four is an executable declared as PNG, to be REJECTED.
                let outcome = uploader.upload(n, n % 4 != 0).await;
                sent.lock().await.push(outcome);
                n += 1;
            }
        });
    }

    let kills = kills();
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(rng.between(150, 700))).await;
        stack.kill();
        stack = tokio::task::spawn_blocking({
            let data = data.clone();
            move || Process::start_with(&data, port, &flags)
        })
        .await
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    while let Some(done) = clients.join_next().await {
        done.unwrap();
    }

    let sent = sent.lock().await.clone();
    let books = settle(&data, &["demo"], &sent, Duration::from_secs(60)).await;
    stack.stop();
    let stored = sent
        .iter()
        .filter(|s| matches!(s, Sent::Stored { .. }))
        .count();
    println!(
        "kills survived: {kills}; uploads: {} ({stored} with bytes stored); books: {books:?}",
        sent.len()
    );
    assert!(
        stored >= kills as usize,
        "too few uploads to mean anything: {stored}"
    );
    assert_eq!(books.unfinished(), 0);
}
