//! `get`, `ls`, `rm`, `rescan`, `usage` and `wait` against files the command uploaded.

use std::time::{Duration, Instant};

use crate::{
    helpers::{Project, csv},
    proxy::Proxy,
};

/// Uploads `name` with `bytes`; answers its id.
async fn uploaded(project: &Project, name: &str, bytes: &[u8]) -> String {
    project.write(name, bytes);
    let run = project.airlock(&["upload", "--json", name]).await;
    assert_eq!(run.code(), 0, "{}", run.describe());
    run.json_lines()[0]["file"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn get_downloads_the_bytes_and_checks_them_against_the_catalog() {
    let project = Project::start().await;
    let bytes = csv(7 * 1024 * 1024);
    let id = uploaded(&project, "data.csv", &bytes).await;

    let run = project
        .airlock(&["get", &id, "-o", "back.csv", "--json"])
        .await;

    assert_eq!(run.code(), 0, "{}", run.describe());
    assert_eq!(
        std::fs::read(project.root().join("back.csv")).unwrap(),
        bytes
    );
    let answer = &run.json_lines()[0];
    assert_eq!(answer["bytes"], bytes.len());
    assert_eq!(answer["sha256"].as_str().unwrap().len(), 64);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_download_that_does_not_match_the_catalog_fails_and_leaves_no_file() {
    let mut project = Project::start().await;
    let id = uploaded(&project, "data.csv", &csv(5_000)).await;
    let proxy = Proxy::start().await;
    proxy.damage_downloads();
    project.proxy = Some(proxy.url.clone());

    let run = project.airlock(&["get", &id, "-o", "back.csv"]).await;

    assert_eq!(run.code(), 4, "{}", run.describe());
    assert!(
        run.stderr().contains("the partial file was removed"),
        "{}",
        run.describe()
    );
    let left: Vec<_> = std::fs::read_dir(project.root())
        .unwrap()
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("back.csv"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ls_with_all_follows_every_page_and_filters_by_status() {
    let project = Project::start().await;
    for name in ["a.csv", "b.csv", "c.csv"] {
        uploaded(&project, name, &csv(300)).await;
    }

    let all = project
        .airlock(&["ls", "--limit", "1", "--all", "--json"])
        .await;
    let first_page = project.airlock(&["ls", "--limit", "1", "--json"]).await;
    let infected = project
        .airlock(&["ls", "--status", "infected", "--json"])
        .await;
    let clean = project
        .airlock(&["ls", "--status", "CLEAN", "--json"])
        .await;

    assert_eq!(all.code(), 0, "{}", all.describe());
    let mut names: Vec<String> = all
        .json_lines()
        .iter()
        .map(|file| file["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a.csv", "b.csv", "c.csv"]);
    assert_eq!(first_page.json_lines().len(), 1);
    assert_eq!(infected.code(), 0, "{}", infected.describe());
    assert!(infected.json_lines().is_empty(), "{}", infected.describe());
    assert_eq!(clean.json_lines().len(), 3, "{}", clean.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn rm_deletes_a_file_and_usage_counts_it_as_deleted() {
    let project = Project::start().await;
    let id = uploaded(&project, "a.csv", &csv(300)).await;

    let removed = project.airlock(&["rm", &id]).await;
    let again = project.airlock(&["get", &id]).await;

    assert_eq!(removed.code(), 0, "{}", removed.describe());
    assert!(removed.stdout().contains(&format!("{id} deleted")));
    // The counters follow the change stream, a moment behind.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let usage = project.airlock(&["usage", "--json"]).await;
        let counters = usage.json_lines()[0].clone();
        assert_eq!(counters["tenant"], "demo");
        if counters["by_status"]["DELETED"]["files"] == 1 {
            assert_eq!(counters["by_status"]["CLEAN"]["files"], 0, "{counters}");
            break;
        }
        assert!(Instant::now() < deadline, "{counters}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(again.code(), 4, "{}", again.describe());
    assert!(again.stderr().contains("DELETED"), "{}", again.describe());
}

#[tokio::test(flavor = "multi_thread")]
async fn rescan_asks_for_a_scan_and_wait_shows_the_file_clean_again() {
    let project = Project::start().await;
    let id = uploaded(&project, "a.csv", &csv(300)).await;

    let rescan = project.airlock(&["rescan", &id, "--json"]).await;
    let waited = project.airlock(&["wait", &id, "--json"]).await;

    assert_eq!(rescan.code(), 0, "{}", rescan.describe());
    assert_eq!(rescan.json_lines()[0]["id"], id.as_str());
    assert_eq!(waited.code(), 0, "{}", waited.describe());
    assert_eq!(waited.json_lines()[0]["status"], "CLEAN");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_that_does_not_exist_is_a_refusal_with_exit_4() {
    let project = Project::start().await;

    let run = project
        .airlock(&["get", "01ARZ3NDEKTSV4RRFFQ69G5FAV"])
        .await;

    assert_eq!(run.code(), 4, "{}", run.describe());
    assert!(
        run.stderr().contains("File not found (404)"),
        "{}",
        run.describe()
    );
}
