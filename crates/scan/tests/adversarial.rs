//! No default rule is pathologically slow on input an uploader controls: each
//! adversarial input (see `airlock_scan::adversarial`) scans within a generous bound
//! even in a debug build. `make bench` (section `rules`) measures the real figures
//! in release; this only catches a rule that turns quadratic.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use airlock_domain::ScanReport;
use airlock_scan::{ScanSettings, Spooled, Subject, adversarial, compile, scanner::scan_blocking};

const INPUT: usize = 8 * 1024 * 1024;

/// Measured at 0.1–0.5 s per input in a debug build on a loaded two-core machine;
/// a rule that backtracks over its input takes minutes.
const BOUND: Duration = Duration::from_secs(2);

#[test]
fn every_adversarial_input_of_8_mib_scans_in_under_2_seconds_with_the_default_rules() {
    let rules = compile(&[], "none").unwrap();
    let mut slow = Vec::new();
    for adversary in adversarial::inputs(INPUT) {
        let started = Instant::now();
        let report = scan_blocking(
            &rules,
            &Spooled::Memory(adversary.bytes),
            &Subject::default(),
            ScanSettings::default(),
        )
        .unwrap();
        let took = started.elapsed();
        eprintln!("{}: {took:?}", adversary.name);
        assert!(matches!(report, ScanReport::Scanned { .. }), "{report:?}");
        if took > BOUND {
            slow.push((adversary.name, took));
        }
    }
    assert!(slow.is_empty(), "slower than {BOUND:?}: {slow:?}");
}

#[test]
fn the_adversarial_inputs_are_as_long_as_asked() {
    for adversary in adversarial::inputs(4096) {
        assert_eq!(adversary.bytes.len(), 4096, "{}", adversary.name);
    }
}

#[test]
fn community_style_rules_compile_whole() {
    let rules = compile(
        &[airlock_domain::ports::RuleFile {
            name: "community.yar".into(),
            source: adversarial::community_style_rules(40),
        }],
        "v1",
    )
    .unwrap();
    assert!(rules.left_out().is_empty(), "{:?}", rules.left_out());
}
