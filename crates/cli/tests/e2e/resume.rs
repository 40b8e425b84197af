//! Resuming: the command killed midway and run again sends only the parts the stack
//! does not hold; a file changed in between starts over, saying so.

use std::time::{Duration, Instant};

use crate::{
    helpers::{MIB, Project, csv},
    proxy::Proxy,
};

/// 4 parts of 5 MiB and a small fifth.
const SIZE: usize = 21 * MIB as usize;
const PARTS: u32 = 5;

/// Starts `airlock upload big.csv` one part at a time, slowed down, and kills it
/// (SIGKILL) once two parts are stored.
async fn upload_killed_after_two_parts(project: &Project, proxy: &Proxy) {
    proxy.slow_parts(Duration::from_millis(300));
    let mut child = project.spawn(&["upload", "--jobs", "1", "big.csv"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while proxy.parts_so_far() < 2 {
        assert!(Instant::now() < deadline, "no part was stored");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the upload ended early"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().await.unwrap();
    proxy.slow_parts(Duration::ZERO);
}

async fn proxied_project() -> (Project, Proxy) {
    let mut project = Project::start().await;
    let proxy = Proxy::start().await;
    project.proxy = Some(proxy.url.clone());
    (project, proxy)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_killed_midway_sends_only_the_missing_parts_when_run_again() {
    let (project, proxy) = proxied_project().await;
    project.write("big.csv", &csv(SIZE));
    upload_killed_after_two_parts(&project, &proxy).await;
    let first: Vec<u32> = proxy.take_parts();
    assert!(
        first.len() >= 2 && first.len() < PARTS as usize,
        "{first:?}"
    );

    let run = project
        .airlock(&["upload", "--jobs", "1", "--json", "big.csv"])
        .await;

    assert_eq!(run.code(), 0, "{}", run.describe());
    let mut second = proxy.take_parts();
    second.sort_unstable();
    let missing: Vec<u32> = (1..=PARTS).filter(|n| !first.contains(n)).collect();
    assert_eq!(second, missing, "the first run stored {first:?}");
    let file = &run.json_lines()[0]["file"];
    assert_eq!(file["status"], "CLEAN", "{file}");
    assert_eq!(file["size"], SIZE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_changed_after_an_interrupted_upload_starts_over_and_says_so() {
    let (project, proxy) = proxied_project().await;
    project.write("big.csv", &csv(SIZE));
    upload_killed_after_two_parts(&project, &proxy).await;
    proxy.take_parts();
    project.write("big.csv", &csv(SIZE + 10));

    let run = project.airlock(&["upload", "--json", "big.csv"]).await;

    assert_eq!(run.code(), 0, "{}", run.describe());
    assert!(
        run.stderr()
            .contains("big.csv changed since its interrupted upload: starting over"),
        "{}",
        run.describe()
    );
    let mut sent = proxy.take_parts();
    sent.sort_unstable();
    assert_eq!(sent, (1..=PARTS).collect::<Vec<_>>());
    assert_eq!(run.json_lines()[0]["file"]["size"], SIZE + 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn parts_go_jobs_at_a_time_and_never_more() {
    let (project, proxy) = proxied_project().await;
    project.write("big.csv", &csv(SIZE));
    proxy.slow_parts(Duration::from_millis(300));

    let run = project.airlock(&["upload", "--jobs", "3", "big.csv"]).await;

    assert_eq!(run.code(), 0, "{}", run.describe());
    assert_eq!(proxy.take_parts().len(), PARTS as usize);
    assert_eq!(proxy.most_parts_at_once(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_part_that_fails_in_transit_is_sent_again_and_the_upload_completes() {
    let (project, proxy) = proxied_project().await;
    project.write("big.csv", &csv(SIZE));
    proxy.fail_part_once(2);

    let run = project.airlock(&["upload", "--json", "big.csv"]).await;

    assert_eq!(run.code(), 0, "{}", run.describe());
    let mut stored = proxy.take_parts();
    stored.sort_unstable();
    assert_eq!(stored, (1..=PARTS).collect::<Vec<_>>());
    assert_eq!(
        *proxy.settings.fail_part_once.lock().unwrap(),
        None,
        "part 2 never failed"
    );
    assert_eq!(run.json_lines()[0]["file"]["status"], "CLEAN");
}
