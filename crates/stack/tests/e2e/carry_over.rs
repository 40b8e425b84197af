//! A file too large for one ingest invocation, carried over window by window on the
//! real binary with a byte budget forced small, and the stack killed between two
//! carry-overs: after the restart ingest goes on from the checkpoint in the record,
//! never from the first byte.

use std::time::Duration;

use airlock_domain::{FileId, FileRecord, TenantId, ports::CatalogReader};
use airlock_local::SqliteCatalog;
use airlock_testkit::http;
use sha2::{Digest, Sha256};

use crate::process::{Process, free_port};

const MIB: u64 = 1024 * 1024;
/// 256 MiB in windows of 32 MiB (31 MiB apart) with 32 MiB an invocation: carried over
/// at 32, 94, 156 and 218 MiB, so the fifth invocation finishes.
const SIZE: u64 = 256 * MIB;

fn flags() -> Vec<String> {
    [
        ("--multipart-threshold", SIZE + 1),
        ("--max-upload-bytes", SIZE),
        ("--max-scan-bytes", MIB),
        ("--carry-over-after-bytes", 32 * MIB),
    ]
    .iter()
    .flat_map(|(flag, value)| [flag.to_string(), value.to_string()])
    .collect()
}

fn start(dir: &std::path::Path, port: u16) -> Process {
    let flags = flags();
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    Process::start_with(dir, port, &flags)
}

/// The record as the stack's catalog holds it now (read beside the running stack).
async fn record(catalog: &SqliteCatalog, id: FileId) -> FileRecord {
    let tenant = TenantId::parse("demo").unwrap();
    catalog.get(&tenant, id).await.unwrap().unwrap()
}

/// Bytes the process has read through system calls so far (`rchar`).
fn bytes_read(pid: u32) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    io.lines()
        .find_map(|line| line.strip_prefix("rchar: "))
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_carried_over_ingest_killed_between_two_carry_overs_goes_on_from_its_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let client = reqwest::Client::new();
    let first = start(dir.path(), port);
    let catalog = SqliteCatalog::open(&dir.path().join("catalog.db")).unwrap();
    let bytes: Vec<u8> = (0..SIZE).map(|i| b'a' + (i % 23) as u8).collect();
    let created = http::upload(
        &client,
        &first.base_url,
        &first.token,
        "big.txt",
        "text/plain",
        &bytes,
    )
    .await;
    let id = FileId::parse(created["file"]["id"].as_str().unwrap()).unwrap();

    // Kill once the second checkpoint is written, before the third.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    let at_kill = loop {
        let now = record(&catalog, id).await;
        if now.checkpoint_seq() >= 2 {
            break now.checkpoint.unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "{now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    first.kill();
    assert_eq!((at_kill.seq, at_kill.progress.offset), (2, 94 * MIB));

    let second = start(dir.path(), port);
    let mut seqs = vec![at_kill.seq];
    let decided = loop {
        let now = record(&catalog, id).await;
        if now.status.is_verdict() {
            break now;
        }
        seqs.extend(now.checkpoint.as_ref().map(|c| c.seq));
        assert!(tokio::time::Instant::now() < deadline, "{now:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let read_after_restart = bytes_read(second.pid());
    second.stop();

    let finding = decided.finding.unwrap();
    assert_eq!(
        decided.status,
        airlock_domain::FileStatus::Clean,
        "{:?}",
        finding.verdict
    );
    assert_eq!(finding.sha256, hex::encode(Sha256::digest(&bytes)));
    // The restarted stack went on from the checkpoint at 94 MiB: the carry-overs at
    // 156 and 218 MiB follow on from number 2, and it read the rest of the file (and
    // one overlap), not all 256 MiB again.
    assert_eq!(seqs.iter().max(), Some(&4), "checkpoints seen: {seqs:?}");
    assert!(
        read_after_restart < SIZE - 64 * MIB,
        "the restarted stack read {} MiB",
        read_after_restart / MIB
    );
    let scan = serde_json::to_value(finding.scan.unwrap()).unwrap();
    assert_eq!(scan["mode"], "windowed", "{scan}");
    // 256 MiB in windows of 32 MiB advancing 31 MiB: 8 whole windows (the last ends
    // at 249 MiB) and the tail, as one unbroken pass scans it.
    assert_eq!(scan["window"]["count"], 9, "{scan}");
}
