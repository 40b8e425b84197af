//! The fuzz corpus (`fuzz/corpus/<target>/`, kept in the repo and grown by `make
//! fuzz`), replayed on the stable toolchain through the same harness the fuzz targets
//! use: every file must go through its entry point with a clean error or response.

use std::path::Path;

use airlock_fuzz_harness::{Harness, TARGETS, run_target};

#[test]
fn every_fuzz_corpus_file_goes_through_its_entry_point_without_a_panic() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let harness = Harness::new();
    let mut replayed = 0;
    for target in TARGETS {
        let dir = corpus.join(target);
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no corpus for {target}");
        for file in files {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_target(&harness, target, &data)
            }));
            assert!(outcome.is_ok(), "{target} panicked on {}", file.display());
            replayed += 1;
        }
    }
    println!("corpus files replayed: {replayed}");
}
