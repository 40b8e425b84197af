//! The fuzz targets' shared harness (see [`harness`]); each target in
//! `fuzz_targets/` hands libFuzzer's bytes to one of its entry points.

pub mod harness;
