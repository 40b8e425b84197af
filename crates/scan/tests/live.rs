//! Rules that change under a running function: picked up on the next check, a
//! broken file left out (named, the others in force), kept precompiled beside the
//! rules and read back at the next cold start, and never replaced by the default
//! rules alone when the source cannot be read.
#![allow(clippy::unwrap_used)]

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use airlock_domain::{
    ScanReport,
    ports::{RuleFile, RuleSource, StoreError},
};
use airlock_scan::{
    LiveRules, Origin, RulesError, ScanSettings, Spooled, Subject, scanner::scan_blocking,
};
use airlock_testkit::samples::{EICAR_RULE, eicar};

/// Rule files in memory, versioned by a counter bumped on every change; it keeps
/// precompiled blobs, counts full loads, and fails every call while `failing`.
#[derive(Default)]
struct Rules {
    files: Mutex<(u32, Vec<RuleFile>)>,
    blobs: Mutex<HashMap<String, Vec<u8>>>,
    loads: AtomicUsize,
    failing: AtomicBool,
}

impl Rules {
    fn set(&self, source: &str) {
        self.set_files(&[("custom.yar", source)]);
    }

    fn set_files(&self, files: &[(&str, &str)]) {
        let mut held = self.files.lock().unwrap();
        held.0 += 1;
        held.1 = files
            .iter()
            .map(|(name, source)| RuleFile {
                name: (*name).into(),
                source: (*source).into(),
            })
            .collect();
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("throttled".into()));
        }
        Ok(())
    }
}

impl RuleSource for &Rules {
    async fn version(&self) -> Result<String, StoreError> {
        self.check()?;
        Ok(format!("v{}", self.files.lock().unwrap().0))
    }
    async fn load(&self) -> Result<(String, Vec<RuleFile>), StoreError> {
        self.check()?;
        self.loads.fetch_add(1, Ordering::SeqCst);
        let files = self.files.lock().unwrap();
        Ok((format!("v{}", files.0), files.1.clone()))
    }
    async fn load_compiled(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        Ok(self.blobs.lock().unwrap().get(name).cloned())
    }
    async fn save_compiled(&self, name: &str, blob: Vec<u8>) -> Result<(), StoreError> {
        self.check()?;
        self.blobs.lock().unwrap().insert(name.to_owned(), blob);
        Ok(())
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
async fn edited_rules_are_recompiled_and_a_broken_file_is_left_out() {
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
    let third = live.current().await.unwrap();
    assert!(third.version().ends_with("+v3"), "{third:?}");
    assert_eq!(third.in_force(), ["airlock.yar"]);
    assert_eq!(third.left_out()[0].file, "custom.yar");
    assert!(matches(&live, b"MARKER-TWO").is_empty());

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
async fn a_broken_rule_file_beside_good_ones_is_left_out_and_named_and_the_good_ones_are_in_force()
{
    let source = Rules::default();
    source.set_files(&[
        (
            "one.yar",
            r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#,
        ),
        ("broken.yar", "rule broken {"),
        (
            "two.yar",
            r#"rule marker_two { strings: $a = "MARKER-TWO" condition: $a }"#,
        ),
    ]);
    let live = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    let rules = live.current().await.unwrap();
    assert_eq!(rules.in_force(), ["airlock.yar", "one.yar", "two.yar"]);
    let left_out: Vec<_> = rules.left_out().iter().map(|l| l.file.as_str()).collect();
    assert_eq!(left_out, ["broken.yar"]);
    assert!(rules.left_out()[0].why.contains("broken.yar"), "{rules:?}");
    assert_eq!(
        matches(&live, b"MARKER-ONE MARKER-TWO"),
        ["one.marker_one", "two.marker_two"]
    );
    assert_eq!(matches(&live, &eicar()), [EICAR_RULE]);
}

#[tokio::test]
async fn a_cold_start_reads_the_precompiled_rules_back_without_compiling() {
    let source = Rules::default();
    source.set(r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#);
    let first = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    assert_eq!(first.in_force().unwrap().origin(), Origin::Compiled);
    assert_eq!(
        source.blobs.lock().unwrap().len(),
        1,
        "kept after compiling"
    );
    assert_eq!(source.loads.load(Ordering::SeqCst), 1);

    let cold = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    let rules = cold.in_force().unwrap();
    assert_eq!(rules.origin(), Origin::Precompiled);
    assert_eq!(rules.version(), first.in_force().unwrap().version());
    assert_eq!(
        source.loads.load(Ordering::SeqCst),
        1,
        "no rule file was read"
    );
    assert_eq!(matches(&cold, b"xx MARKER-ONE xx"), ["custom.marker_one"]);
}

#[tokio::test]
async fn changed_rules_are_compiled_again_and_kept_under_their_new_version() {
    let source = Rules::default();
    source.set(r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#);
    let live = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    source.set(r#"rule marker_two { strings: $a = "MARKER-TWO" condition: $a }"#);

    let rules = live.current().await.unwrap();
    assert_eq!(rules.origin(), Origin::Compiled);
    assert!(rules.version().ends_with("+v2"));
    assert_eq!(source.blobs.lock().unwrap().len(), 2);

    let cold = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    assert_eq!(cold.in_force().unwrap().origin(), Origin::Precompiled);
    assert_eq!(matches(&cold, b"MARKER-TWO"), ["custom.marker_two"]);
}

#[tokio::test]
async fn a_corrupt_precompiled_blob_is_ignored_and_replaced_by_a_fresh_compilation() {
    let source = Rules::default();
    source.set(r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#);
    LiveRules::start(&source, Duration::ZERO).await.unwrap();
    for blob in source.blobs.lock().unwrap().values_mut() {
        let middle = blob.len() / 2;
        blob[middle] ^= 0x5A;
    }

    let cold = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    assert_eq!(cold.in_force().unwrap().origin(), Origin::Compiled);
    assert_eq!(matches(&cold, b"MARKER-ONE"), ["custom.marker_one"]);

    let again = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    assert_eq!(
        again.in_force().unwrap().origin(),
        Origin::Precompiled,
        "the fresh compilation was written back"
    );
}

#[tokio::test]
async fn a_cold_start_that_cannot_read_the_rules_fails_and_the_next_call_tries_again() {
    let source = std::sync::Arc::new(Rules::default());
    source.set(r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#);
    source.failing.store(true, Ordering::SeqCst);
    assert!(matches!(
        LiveRules::start(&*source, Duration::ZERO).await,
        Err(RulesError::Source(_))
    ));

    let live = LiveRules::start_in_background(Shared(source.clone()), Duration::from_secs(3600));
    assert!(matches!(live.current().await, Err(RulesError::Source(_))));
    assert!(matches!(live.current().await, Err(RulesError::Source(_))));
    assert!(live.in_force().is_none(), "no default-only set stands in");

    source.failing.store(false, Ordering::SeqCst);
    let rules = live.current().await.unwrap();
    assert!(rules.version().ends_with("+v1"));
    assert_eq!(matches(&live, b"MARKER-ONE"), ["custom.marker_one"]);
}

#[tokio::test]
async fn a_warm_function_keeps_its_rules_when_a_recheck_fails() {
    let source = Rules::default();
    source.set(r#"rule marker_one { strings: $a = "MARKER-ONE" condition: $a }"#);
    let live = LiveRules::start(&source, Duration::ZERO).await.unwrap();
    source.set(r#"rule marker_two { strings: $a = "MARKER-TWO" condition: $a }"#);
    source.failing.store(true, Ordering::SeqCst);

    let rules = live.current().await.unwrap();
    assert!(rules.version().ends_with("+v1"));
    assert_eq!(matches(&live, b"MARKER-ONE"), ["custom.marker_one"]);
}

/// [`Rules`] behind an `Arc`, for a background start (which needs `'static`).
#[derive(Clone)]
struct Shared(std::sync::Arc<Rules>);

impl RuleSource for Shared {
    async fn version(&self) -> Result<String, StoreError> {
        self.0.as_ref().version().await
    }
    async fn load(&self) -> Result<(String, Vec<RuleFile>), StoreError> {
        self.0.as_ref().load().await
    }
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
