//! The stack as `make run` starts it: the real binary, killed and restarted.

use std::{process::Command, time::Duration};

use airlock_testkit::{http, samples::PNG};

use crate::process::{Process, free_port};

#[tokio::test]
async fn a_stack_killed_mid_pipeline_loses_and_repeats_nothing_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let client = reqwest::Client::new();
    let first = Process::start(dir.path(), port);

    // Arrange: uploads whose bytes arrive just before the kill.
    let mut ids = Vec::new();
    for n in 0..8 {
        let name = format!("p{n}.png");
        let created = http::upload(
            &client,
            &first.base_url,
            &first.token,
            &name,
            "image/png",
            PNG,
        )
        .await;
        ids.push(created["file"]["id"].as_str().unwrap().to_owned());
    }

    // Act: SIGKILL, then start again on the same data.
    first.kill();
    let second = Process::start(dir.path(), port);

    // Assert: every file reaches CLEAN, with exactly one event each, and the
    // counters equal a recount.
    let events_path = dir.path().join("events.jsonl");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let accepted = airlock_local::read_bus_file(&events_path)
            .unwrap()
            .iter()
            .filter(|e| e["detail-type"] == "File Accepted")
            .count();
        if accepted >= ids.len() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {accepted} of {} accepted",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let events = airlock_local::read_bus_file(&events_path).unwrap();
    for id in &ids {
        let for_file = events
            .iter()
            .filter(|e| e["detail"]["file_id"] == id.as_str())
            .count();
        assert_eq!(for_file, 1, "file {id} has {for_file} events");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let usage = http::get_json(&client, &second.base_url, &second.token, "/v1/usage").await;
    assert_eq!(usage["by_status"]["CLEAN"]["files"], ids.len());
    assert_eq!(usage["by_status"]["PENDING"]["files"], 0);
    second.kill();
}

#[test]
fn the_binary_refuses_unknown_flags_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_airlock-stack"))
        .arg("--bogus")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("usage: airlock-stack"));
}
