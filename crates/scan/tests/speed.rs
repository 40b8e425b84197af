//! A rough measure of expansion speed, not run by default (`cargo nextest run -p
//! airlock-scan --test speed --run-ignored only`): a 100 MiB zip of mixed members
//! (random bytes stored, text deflated) scanned from a spooled file. Prints MiB/s of
//! expanded bytes and the process's peak resident memory.
#![allow(clippy::unwrap_used)]

use std::{io::Write, time::Instant};

use airlock_scan::{Spooled, compile};
use airlock_testkit::{
    samples::Varied,
    scanning::{peak_resident_mib, scan_bytes_alone},
};
use zip::{CompressionMethod, ZipWriter, write::SimpleFileOptions};

const MIB: usize = 1024 * 1024;

#[test]
#[ignore = "a measurement, run by hand"]
fn a_hundred_mib_zip_of_mixed_members_expands_at_a_measured_speed() {
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut writer = ZipWriter::new(file);
    let mut varied = Varied::new(50 * MIB);
    let text: Vec<u8> = (0..MIB)
        .map(|i| b"the quick brown fox jumps over 13 lazy dogs\n"[i % 44])
        .collect();
    let mut random = vec![0u8; MIB];
    for index in 0..100 {
        let (method, bytes) = if index % 2 == 0 {
            std::io::Read::read_exact(&mut varied, &mut random).unwrap();
            (CompressionMethod::Stored, &random)
        } else {
            (CompressionMethod::Deflated, &text)
        };
        let level = (method == CompressionMethod::Deflated).then_some(1);
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(level);
        writer
            .start_file(format!("m/{index}.bin"), options)
            .unwrap();
        writer.write_all(bytes).unwrap();
    }
    let spooled = Spooled::Disk(writer.finish().unwrap().into_temp_path());
    let rules = compile(&[], "none").unwrap();

    let started = Instant::now();
    let report = scan_bytes_alone(&rules, &spooled);
    let seconds = started.elapsed().as_secs_f64();

    let members = report.members().unwrap();
    assert_eq!((members.scanned, members.unscanned.len()), (100, 0));
    println!(
        "expanded 100 MiB in {seconds:.2} s: {:.1} MiB/s; peak RSS {:.0} MiB",
        100.0 / seconds,
        peak_resident_mib()
    );
}
