//! Scanning as a user meets it on the local stack: the EICAR test file is caught,
//! announced, quarantined and never downloadable; rules dropped into the rules folder apply to
//! the next upload without a restart (and a broken one changes nothing); a rule
//! added later catches a file already accepted, through sweep's re-scan.

use airlock_testkit::samples::{EICAR_RULE, eicar, zip_of};
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestStack, spawn_stack};

impl TestStack {
    fn write_rule(&self, file: &str, source: &str) {
        let dir = self.stack.data_dir.join("rules");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), source).unwrap();
    }

    async fn post(&self, tenant: &str, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, tenant, path).await
    }
}

fn reason_codes_and_rules(file: &Value) -> Vec<(String, String)> {
    file["verdict"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["code"].as_str().unwrap().to_owned(),
                r["rule"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn eicar_in_a_zip_in_a_zip_is_infected_and_its_path_is_in_the_answer_and_the_event() {
    let app = spawn_stack().await;
    let inner = zip_of(&[("eicar.txt", &eicar())]);
    let outer = zip_of(&[("notes.txt", b"hello"), ("2026/inner.zip", &inner)]);

    let id = app
        .upload("acme", "invoices.zip", "application/zip", &outer)
        .await;

    let file = app.wait_for_status("acme", &id, "INFECTED").await;
    let path = "invoices.zip!/2026/inner.zip!/eicar.txt";
    let reason = &file["verdict"]["reasons"][0];
    assert_eq!(reason["code"], "rule_matched", "{file}");
    assert_eq!(reason["path"], path, "{file}");
    assert_eq!(file["scan"]["hits"][0]["path"], path, "{file}");
    assert_eq!(file["scan"]["members"]["scanned"], 3, "{file}");
    let event = app.wait_for_event("File Infected", &id).await;
    assert_eq!(event["detail"]["reasons"][0]["path"], path, "{event}");
}

#[tokio::test]
async fn the_eicar_file_is_infected_announced_quarantined_and_never_downloadable() {
    let app = spawn_stack().await;

    let id = app
        .upload("acme", "eicar.txt", "text/plain", &eicar())
        .await;

    let file = app.wait_for_status("acme", &id, "INFECTED").await;
    assert_eq!(
        reason_codes_and_rules(&file),
        [("rule_matched".to_owned(), EICAR_RULE.to_owned())]
    );
    assert_eq!(file["scan"]["state"], "scanned");
    assert!(file["scan"]["ruleset"].as_str().unwrap().contains('+'));
    let event = app.wait_for_event("File Infected", &id).await;
    assert_eq!(event["detail"]["reasons"][0]["rule"], EICAR_RULE);
    let (status, problem) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    // Moved out of the upload prefix, kept (tagged) for the operator to inspect.
    let objects = app.stack.data_dir.join("bucket/objects");
    assert!(!objects.join(format!("uploads/acme/{id}")).exists());
    assert!(objects.join(format!("quarantine/acme/{id}")).exists());
    let tag = std::fs::read_to_string(
        app.stack
            .data_dir
            .join(format!("bucket/tags/quarantine/acme/{id}")),
    )
    .unwrap();
    assert_eq!(tag, "INFECTED");
}

#[tokio::test]
async fn rules_dropped_into_the_folder_apply_to_the_next_upload_and_a_broken_file_is_left_out() {
    let app = spawn_stack().await;
    let before = app
        .upload("acme", "a.txt", "text/plain", b"memo: PROJECT-X")
        .await;
    app.wait_for_status("acme", &before, "CLEAN").await;

    app.write_rule(
        "acme.yar",
        r#"rule project_x { strings: $a = "PROJECT-X" condition: $a }"#,
    );
    let caught = app
        .upload("acme", "b.txt", "text/plain", b"memo: PROJECT-X")
        .await;
    let file = app.wait_for_status("acme", &caught, "INFECTED").await;
    assert_eq!(
        reason_codes_and_rules(&file),
        [("rule_matched".to_owned(), "acme.project_x".to_owned())]
    );
    let good_ruleset = file["scan"]["ruleset"].clone();

    app.write_rule(
        "other.yar",
        r#"rule other_marker { strings: $a = "OTHER-MARKER" condition: $a }"#,
    );
    app.write_rule("acme.yar", "rule project_x { condition: no_such_thing }");
    let still = app
        .upload(
            "acme",
            "c.txt",
            "text/plain",
            b"memo: PROJECT-X OTHER-MARKER",
        )
        .await;
    let file = app.wait_for_status("acme", &still, "INFECTED").await;
    assert_eq!(
        reason_codes_and_rules(&file),
        [("rule_matched".to_owned(), "other.other_marker".to_owned())],
        "the broken file is left out, the other one is in force"
    );
    assert_ne!(file["scan"]["ruleset"], good_ruleset);
}

#[tokio::test]
async fn a_rule_added_later_catches_an_accepted_file_through_sweeps_rescan() {
    let app = spawn_stack().await;
    let id = app
        .upload("acme", "a.txt", "text/plain", b"invoice LATER-FOUND")
        .await;
    let clean = app.wait_for_status("acme", &id, "CLEAN").await;
    let (status, _) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    assert_eq!(status, StatusCode::OK);

    app.write_rule(
        "later.yar",
        r#"rule later_found { strings: $a = "LATER-FOUND" condition: $a }"#,
    );

    let file = app.wait_for_status("acme", &id, "INFECTED").await;
    assert_eq!(
        reason_codes_and_rules(&file),
        [("rule_matched".to_owned(), "later.later_found".to_owned())]
    );
    assert_ne!(file["scan"]["ruleset"], clean["scan"]["ruleset"]);
    assert_eq!(file["sha256"], clean["sha256"]);
    app.wait_for_event("File Infected", &id).await;
    let (status, _) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_rescan_can_be_requested_for_a_clean_file_only() {
    let app = spawn_stack().await;
    let clean = app
        .upload("acme", "a.txt", "text/plain", b"plain text")
        .await;
    app.wait_for_status("acme", &clean, "CLEAN").await;
    let infected = app.upload("acme", "e.txt", "text/plain", &eicar()).await;
    app.wait_for_status("acme", &infected, "INFECTED").await;

    let (status, file) = app.post("acme", &format!("/v1/files/{clean}/rescan")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{file}");
    assert!(file["rescan_requested_at"].is_string(), "{file}");
    let (status, problem) = app
        .post("acme", &format!("/v1/files/{infected}/rescan"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    let (status, _) = app
        .post("other", &format!("/v1/files/{clean}/rescan"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Sweep (every 200 ms here) does the re-scan and clears the request.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, file) = app.get("acme", &format!("/v1/files/{clean}")).await;
        if file.get("rescan_requested_at").is_none() {
            assert_eq!(file["status"], "CLEAN");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "re-scan never ran: {file}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
