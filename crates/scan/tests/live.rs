//! Rules that change under a running function: picked up on the next check,
//! refused with the compiler's message when broken (the previous set stays), and
//! picked up again once fixed.
#![allow(clippy::unwrap_used)]

use std::{sync::Mutex, time::Duration};

use airlock_domain::{
    ScanReport,
    ports::{RuleFile, RuleSource, StoreError},
};
use airlock_scan::{LiveRules, ScanSettings, Spooled, Subject, scanner::scan_blocking};

/// Rule files in memory, versioned by a counter bumped on every change.
#[derive(Default)]
struct Rules {
    files: Mutex<(u32, Vec<RuleFile>)>,
}

impl Rules {
    fn set(&self, source: &str) {
        let mut files = self.files.lock().unwrap();
        files.0 += 1;
        files.1 = vec![RuleFile {
            name: "custom.yar".into(),
            source: source.into(),
        }];
    }
}

impl RuleSource for &Rules {
    async fn version(&self) -> Result<String, StoreError> {
        Ok(format!("v{}", self.files.lock().unwrap().0))
    }
    async fn load(&self) -> Result<(String, Vec<RuleFile>), StoreError> {
        let files = self.files.lock().unwrap();
        Ok((format!("v{}", files.0), files.1.clone()))
    }
}

fn matches<S: RuleSource>(live: &LiveRules<S>, bytes: &[u8]) -> Vec<String> {
    let report = scan_blocking(
        &live.in_force().unwrap(),
        &Spooled::Memory(bytes.to_vec()),
        &Subject::default(),
        ScanSettings::default(),
    )
    .unwrap();
    match report {
        ScanReport::Scanned { matched, .. } => matched,
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn edited_rules_are_recompiled_and_broken_ones_leave_the_previous_set_in_force() {
    let source = Rules::default();
    source.set(r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#);
    let live = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    let first = live.current().await.unwrap().version().to_owned();
    assert!(first.ends_with("+v1"), "{first}");
    assert_eq!(matches(&live, b"xx MARKER-ONE xx"), ["custom.marker_one"]);

    source.set(r#"rule marker_two { strings: $a = "MARKER-TWO" condition: $a }"#);
    let second = live.current().await.unwrap().version().to_owned();
    assert!(second.ends_with("+v2"), "{second}");
    assert!(matches(&live, b"xx MARKER-ONE xx").is_empty());
    assert_eq!(matches(&live, b"MARKER-TWO"), ["custom.marker_two"]);

    source.set("rule broken { condition: no_such_identifier }");
    assert_eq!(
        live.current().await.unwrap().version(),
        second,
        "a broken set must not replace a good one"
    );
    assert_eq!(matches(&live, b"MARKER-TWO"), ["custom.marker_two"]);

    source.set(r#"rule marker_three { strings: $a = "MARKER-THREE" condition: $a }"#);
    assert!(live.current().await.unwrap().version().ends_with("+v4"));
    assert_eq!(matches(&live, b"MARKER-THREE"), ["custom.marker_three"]);
}

#[tokio::test]
async fn rules_are_not_reread_before_the_check_interval_passes() {
    let source = Rules::default();
    source.set(r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#);
    let live = LiveRules::start(&source, Duration::from_secs(3600))
        .await
        .unwrap();
    source.set(r#"rule marker_two { strings: $a = "MARKER-TWO" condition: $a }"#);
    assert!(live.current().await.unwrap().version().ends_with("+v1"));
}

#[tokio::test]
async fn broken_rules_at_a_cold_start_leave_the_default_rules_in_force() {
    let source = Rules::default();
    source.set("rule broken {");
    let live = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    assert!(live.current().await.unwrap().version().ends_with("+none"));
    let eicar = [
        r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR",
        "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat();
    assert_eq!(
        matches(&live, eicar.as_bytes()),
        ["airlock.EICAR_Test_File"]
    );
}

/// Rules behind a gate: `load` waits until the test opens it.
#[derive(Clone)]
struct Gated {
    rules: std::sync::Arc<Rules>,
    open: std::sync::Arc<tokio::sync::Semaphore>,
}

impl RuleSource for Gated {
    async fn version(&self) -> Result<String, StoreError> {
        self.rules.as_ref().version().await
    }
    async fn load(&self) -> Result<(String, Vec<RuleFile>), StoreError> {
        let _pass = self.open.acquire().await;
        self.rules.as_ref().load().await
    }
}

#[tokio::test]
async fn a_background_start_returns_before_the_rules_are_ready_and_the_first_scan_waits_for_them() {
    let rules = std::sync::Arc::new(Rules::default());
    rules.set(r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#);
    let open = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let source = Gated {
        rules,
        open: open.clone(),
    };

    let live = LiveRules::start_in_background(source, Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        live.in_force().is_none(),
        "compiled before the source answered"
    );

    open.add_permits(1);
    let rules = live.current().await.unwrap();
    assert!(rules.version().ends_with("+v1"));
    assert_eq!(matches(&live, b"xx MARKER-ONE xx"), ["custom.marker_one"]);
}
