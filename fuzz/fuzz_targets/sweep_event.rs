//! Fuzz target `sweep_event`: libFuzzer's bytes through [`airlock_fuzz_harness::run_target`].

#![no_main]

use std::sync::OnceLock;

use airlock_fuzz_harness::{Harness, run_target};
use libfuzzer_sys::fuzz_target;

static HARNESS: OnceLock<Harness> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    run_target(HARNESS.get_or_init(Harness::new), "sweep_event", data);
});
