//! One large object (10 GiB by default, `BENCH_LARGE_GIB`) through the local stack
//! end to end, as issue 14 asks: a multipart upload (parts hashed, presigned and sent
//! four at a time), the completion that joins them, ingest's one pass to a verdict;
//! beside `openssl dgst -sha256` of the same file in the same run, and the stack
//! process's peak resident memory (ingest, the api and the object server share it,
//! so this bounds ingest's from above).
//!
//! The stack runs with the file size as its upload limit; past `max_scan_bytes` the
//! file is scanned in windows as it streams. The same object goes through again with
//! the pass carried over to the next ingest invocation every
//! `BENCH_LARGE_CARRY_OVER_MIB` (1024 by default), as Lambda's deadline would make
//! it: what the checkpoints add is the difference of the two ingest times.

use std::{
    io::{Read, Seek, SeekFrom, Write},
    path::Path,
    sync::Arc,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use reqwest::Method;

use crate::{
    BenchError,
    report::Report,
    settings::Settings,
    stack::{Stack, presigned_put},
};

const SECTION: &str = "large";
const MIB: u64 = 1024 * 1024;
/// Parts in flight at once, as the console sends them.
const PARALLEL_PARTS: usize = 4;

/// Runs the section: the figures go into `report`.
pub async fn run(settings: &Settings, report: &mut Report) -> Result<(), BenchError> {
    let gib: u64 = std::env::var("BENCH_LARGE_GIB")
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(10);
    let size = gib * 1024 * MIB;
    let path = settings.scratch.join("large.bin");
    write_file(&path, size)?;
    let outcome = measure(settings, &path, size, report).await;
    let _ = std::fs::remove_file(&path);
    outcome
}

/// What one pass of the object through the stack took.
struct Measured {
    file: Value,
    part_size: u64,
    part_count: u64,
    upload: Duration,
    join: Duration,
    ingest: Duration,
    peak: Option<f64>,
    carried_over: usize,
}

async fn measure(
    settings: &Settings,
    path: &Path,
    size: u64,
    report: &mut Report,
) -> Result<(), BenchError> {
    let (openssl_secs, sha256) = openssl_sha256(path)?;
    let plain = through_stack(settings, path, size, &sha256, None).await?;
    let every = std::env::var("BENCH_LARGE_CARRY_OVER_MIB")
        .ok()
        .and_then(|raw| raw.parse().ok())
        .unwrap_or(1024u64)
        * MIB;
    let carried = through_stack(settings, path, size, &sha256, Some(every)).await?;

    let rate = |d: Duration| size as f64 / MIB as f64 / d.as_secs_f64();
    let openssl = size as f64 / MIB as f64 / openssl_secs;
    let file = &plain.file;
    report.info(
        SECTION,
        format!("{} GiB object: verdict", size >> 30),
        format!(
            "{} ({}), sha256 matches the declared: {}",
            file["status"].as_str().unwrap_or("?"),
            reasons(file),
            file["sha256"] == sha256
        ),
    );
    report.info(
        SECTION,
        "multipart upload (parts hashed, presigned, sent 4 at a time)",
        format!(
            "{} parts of {} MiB in {:.1} s, {:.0} MiB/s",
            plain.part_count,
            plain.part_size / MIB,
            plain.upload.as_secs_f64(),
            rate(plain.upload)
        ),
    );
    report.info(
        SECTION,
        "completion (the local store joins the parts)",
        format!(
            "{:.1} s, {:.0} MiB/s",
            plain.join.as_secs_f64(),
            rate(plain.join)
        ),
    );
    report.check(
        SECTION,
        "ingest: completion to verdict, ÷ openssl dgst -sha256 of the same file",
        format!(
            "{:.1} s, {:.0} MiB/s; openssl {:.0} MiB/s; ratio {:.2}×",
            plain.ingest.as_secs_f64(),
            rate(plain.ingest),
            openssl,
            rate(plain.ingest) / openssl
        ),
        "≥ 0.5×",
        Some(rate(plain.ingest) / openssl >= 0.5),
    );
    report.check(
        SECTION,
        "stack process peak resident memory (VmHWM; ingest, api and object server in one process)",
        plain
            .peak
            .map_or("unknown".to_owned(), |mib| format!("{mib:.1} MiB")),
        "≤ 256 MiB",
        plain.peak.map(|mib| mib <= 256.0),
    );
    report.info(
        SECTION,
        "end to end (upload, completion, ingest)",
        format!(
            "{:.1} s",
            (plain.upload + plain.join + plain.ingest).as_secs_f64()
        ),
    );
    let added = carried.ingest.as_secs_f64() - plain.ingest.as_secs_f64();
    report.check(
        SECTION,
        format!(
            "ingest carried over every {} MiB: the same verdict and hash",
            every / MIB
        ),
        format!(
            "{} carry-overs, {:.1} s ({:.0} MiB/s); the checkpoints add {added:+.1} s ({:+.1} %); verdict {}, sha256 matches: {}",
            carried.carried_over,
            carried.ingest.as_secs_f64(),
            rate(carried.ingest),
            100.0 * added / plain.ingest.as_secs_f64(),
            carried.file["status"].as_str().unwrap_or("?"),
            carried.file["sha256"] == sha256
        ),
        "same verdict and sha256, ≥ 1 carry-over",
        Some(
            carried.carried_over >= 1
                && carried.file["status"] == plain.file["status"]
                && carried.file["sha256"] == sha256
        ),
    );
    report.info(
        SECTION,
        "stack process peak resident memory, carried over",
        carried
            .peak
            .map_or("unknown".to_owned(), |mib| format!("{mib:.1} MiB")),
    );
    Ok(())
}

/// Sends the file in parts to a fresh stack and waits for its verdict; with
/// `carry_over`, ingest carries the pass over after that many bytes.
async fn through_stack(
    settings: &Settings,
    path: &Path,
    size: u64,
    sha256: &str,
    carry_over: Option<u64>,
) -> Result<Measured, BenchError> {
    let max = size.to_string();
    let every = carry_over.map(|bytes| bytes.to_string());
    let binary = settings.bin_dir.join("airlock-stack");
    let data_dir = settings.scratch.join("stack-large");
    let mut flags = vec!["--max-upload-bytes", &max];
    if let Some(every) = &every {
        flags.extend(["--carry-over-after-bytes", every.as_str()]);
    }
    // The carry-overs are counted from ingest's own log line for each.
    let stack = Stack::start_logging(
        &binary,
        data_dir.clone(),
        &flags,
        "warn,airlock_ingest=info",
    )
    .await?;
    let created = stack.call(Method::POST, "/v1/files", Some(json!({
        "name": "large.bin", "content_type": "application/octet-stream", "size": size, "sha256": sha256,
    })))
    .await?;
    let id = text(&created["file"]["id"])?;
    let part_size = created["multipart"]["part_size"].as_u64().unwrap_or(0);
    let part_count = created["multipart"]["part_count"].as_u64().unwrap_or(0);
    if part_size == 0 || part_count == 0 {
        return Err(BenchError::Invoke(
            "POST /v1/files".into(),
            format!("no plan: {created}"),
        ));
    }
    let started = Instant::now();
    send_parts(&stack, &id, path, size, part_size, part_count).await?;
    let upload = started.elapsed();
    let completing = Instant::now();
    let complete = format!("/v1/files/{id}/complete");
    stack.call(Method::POST, &complete, None).await?;
    let join = completing.elapsed();
    let verified = Instant::now();
    let file = wait_for_verdict(&stack, &id).await?;
    let ingest = verified.elapsed();
    let peak = stack.pid().and_then(peak_resident_mib);
    let log = std::fs::read_to_string(data_dir.with_extension("log")).unwrap_or_default();
    let carried_over = log
        .lines()
        .filter(|line| line.contains("verification carried over"))
        .count();
    drop(stack);
    let _ = std::fs::remove_dir_all(&data_dir);
    Ok(Measured {
        file,
        part_size,
        part_count,
        upload,
        join,
        ingest,
        peak,
        carried_over,
    })
}

/// `size` bytes that no compressor or deduplicator shortcuts: a 16 MiB block of a
/// linear congruential sequence, each copy stamped with its offset.
pub(crate) fn write_file(path: &Path, size: u64) -> Result<(), BenchError> {
    let io = |e| BenchError::Io(path.to_owned(), e);
    let mut block = vec![0u8; (16 * MIB) as usize];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for byte in &mut block {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        *byte = (x >> 56) as u8;
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(io)?);
    let mut written = 0;
    while written < size {
        block[..8].copy_from_slice(&written.to_le_bytes());
        let n = (size - written).min(block.len() as u64) as usize;
        file.write_all(&block[..n]).map_err(io)?;
        written += n as u64;
    }
    file.flush().map_err(io)
}

/// Seconds `openssl dgst -sha256` takes over the file, and the digest.
fn openssl_sha256(path: &Path) -> Result<(f64, String), BenchError> {
    let started = Instant::now();
    let out = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-r"])
        .arg(path)
        .output()
        .map_err(|e| BenchError::Invoke("openssl".into(), e.to_string()))?;
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    let digest = text
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok((secs, digest))
}

pub(crate) async fn send_parts(
    stack: &Stack,
    id: &str,
    path: &Path,
    size: u64,
    part_size: u64,
    part_count: u64,
) -> Result<(), BenchError> {
    let permits = Arc::new(Semaphore::new(PARALLEL_PARTS));
    let mut sending = tokio::task::JoinSet::new();
    for number in 1..=part_count {
        let permit = Arc::clone(&permits)
            .acquire_owned()
            .await
            .map_err(|e| BenchError::Invoke("parts".into(), e.to_string()))?;
        let (client, path, id) = (stack.client().clone(), path.to_owned(), id.to_owned());
        let (base, token) = (stack.base_url.clone(), stack.token.clone());
        sending.spawn(async move {
            let start = (number - 1) * part_size;
            let length = (size - start).min(part_size);
            let outcome =
                send_part(&client, (&base, &token), &id, &path, number, start, length).await;
            drop(permit);
            outcome
        });
    }
    while let Some(done) = sending.join_next().await {
        done.map_err(|e| BenchError::Invoke("parts".into(), e.to_string()))??;
    }
    Ok(())
}

async fn send_part(
    client: &reqwest::Client,
    (base, token): (&str, &str),
    id: &str,
    path: &Path,
    number: u64,
    start: u64,
    length: u64,
) -> Result<(), BenchError> {
    let bytes = read_range(path, start, length)?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let signed: Value = client
        .post(format!("{base}/v1/files/{id}/parts"))
        .bearer_auth(token)
        .json(&json!({"parts": [{"number": number, "sha256": sha256}]}))
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| BenchError::Invoke("POST parts".into(), e.to_string()))?
        .json()
        .await
        .map_err(|e| BenchError::Invoke("POST parts".into(), e.to_string()))?;
    presigned_put(client, &signed["parts"][0])
        .body(bytes)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| BenchError::Invoke(format!("PUT part {number}"), e.to_string()))?;
    Ok(())
}

fn read_range(path: &Path, start: u64, length: u64) -> Result<Vec<u8>, BenchError> {
    let io = |e| BenchError::Io(path.to_owned(), e);
    let mut file = std::fs::File::open(path).map_err(io)?;
    file.seek(SeekFrom::Start(start)).map_err(io)?;
    let mut bytes = vec![0; length as usize];
    file.read_exact(&mut bytes).map_err(io)?;
    Ok(bytes)
}

/// Polls the file until ingest has decided (at most an hour: 10 GiB at 3 MiB/s).
async fn wait_for_verdict(stack: &Stack, id: &str) -> Result<Value, BenchError> {
    let deadline = Instant::now() + Duration::from_secs(3600);
    loop {
        let file = stack.get(&format!("/v1/files/{id}")).await?;
        if file["status"] != "PENDING" {
            return Ok(file);
        }
        if Instant::now() > deadline {
            return Err(BenchError::Invoke(
                "ingest".into(),
                "no verdict within an hour".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn reasons(file: &Value) -> String {
    let codes: Vec<_> = file["verdict"]["reasons"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["code"].as_str())
        .collect();
    let scan = &file["scan"];
    let how = match scan["state"].as_str() {
        Some("scanned") => format!(
            "scanned {}, {} windows of {} MiB",
            scan["mode"].as_str().unwrap_or("?"),
            scan["window"]["count"],
            scan["window"]["bytes"].as_u64().unwrap_or(0) / MIB
        ),
        _ => format!("not scanned: {}", scan["why"]["code"]),
    };
    format!("reasons {codes:?}; {how}")
}

fn text(value: &Value) -> Result<String, BenchError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| BenchError::Invoke("POST /v1/files".into(), format!("no id: {value}")))
}

/// The process's peak resident set (`VmHWM`), in MiB.
fn peak_resident_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}
