//! Size of each function: the stripped binary and the zip Lambda receives (one entry,
//! `bootstrap`, deflated at level 9 by Python's zipfile, as cargo-lambda zips it).
//! The arm64 artifacts are the ones `make build` leaves in `target/lambda` (fat LTO,
//! stripped: what is deployed). When they are absent, or older than a source file
//! of the functions, the x86_64 binaries of this run stand in, stripped of their symbol table:
//! built without LTO, they are larger than the deployed ones, an upper bound. The
//! report says which it measured.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use crate::{
    BenchError,
    report::Report,
    settings::{FUNCTIONS, Settings},
};

const SECTION: &str = "size";
const MIB: f64 = 1024.0 * 1024.0;

/// Reports every function's binary and zip, held to the zip targets.
pub fn run(settings: &Settings, report: &mut Report) -> Result<(), BenchError> {
    let arm64 = |f: &str| {
        settings
            .lambda_dir
            .join(format!("airlock-{f}"))
            .join("bootstrap")
    };
    let local = |f: &str| settings.bin_dir.join(format!("airlock-{f}"));
    let sources = newest_source();
    let have_arm64 = FUNCTIONS.iter().all(|f| is_current(&arm64(f), sources));
    let arch = if have_arm64 {
        "arm64, deploy build"
    } else {
        "x86_64 stand-in, no LTO: upper bound"
    };
    if !have_arm64 {
        report.note(format!(
            "size: no arm64 artifacts in {} newer than every source file (run `make build` first for the deployed sizes); \
             the x86_64 binaries of this run stand in, stripped. They are built without LTO, so they are larger \
             than what is deployed: a zip target they meet, the deploy build meets too.",
            settings.lambda_dir.display()
        ));
    }
    for f in FUNCTIONS {
        let binary = if have_arm64 {
            arm64(f)
        } else {
            stripped_copy(&local(f), &settings.scratch)?
        };
        let (bin, zip) = measure(&binary, &settings.scratch)?;
        let limit = if f == "ingest" { 12.0 } else { 8.0 };
        report.check(
            SECTION,
            format!("{f} ({arch})"),
            format!("binary {:.2} MiB, zip {:.2} MiB", bin / MIB, zip / MIB),
            format!("zip ≤ {limit} MiB"),
            Some(zip / MIB <= limit),
        );
    }
    let hello = settings.bin_dir.join("airlock-bench-hello");
    if hello.exists() {
        let (bin, zip) = measure(
            &stripped_copy(&hello, &settings.scratch)?,
            &settings.scratch,
        )?;
        report.info(
            SECTION,
            "hello (x86_64)",
            format!("binary {:.2} MiB, zip {:.2} MiB", bin / MIB, zip / MIB),
        );
    }
    Ok(())
}

/// Whether `artifact` exists and was built after the newest source file: an older
/// one may come from older sources.
fn is_current(artifact: &Path, newest_source: Option<SystemTime>) -> bool {
    let built = std::fs::metadata(artifact).and_then(|m| m.modified()).ok();
    match (built, newest_source) {
        (Some(built), Some(source)) => built >= source,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

/// When the workspace's sources last changed: the newest of `Cargo.toml`,
/// `Cargo.lock` and every file under `crates/` and `functions/`.
fn newest_source() -> Option<SystemTime> {
    let mut newest = None;
    let mut pending: Vec<PathBuf> = ["Cargo.toml", "Cargo.lock", "crates", "functions"]
        .iter()
        .map(PathBuf::from)
        .collect();
    while let Some(path) = pending.pop() {
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&path) {
                pending.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
            }
        } else if let Ok(modified) = meta.modified() {
            newest = newest.max(Some(modified));
        }
    }
    newest
}

/// A copy of `binary` without its symbol table (kept in the bench profile for
/// `perf`), as the deploy profile strips it.
fn stripped_copy(binary: &Path, scratch: &Path) -> Result<PathBuf, BenchError> {
    let name = binary.file_name().unwrap_or_default();
    let copy = scratch.join(name).with_extension("stripped");
    let status = std::process::Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(binary)
        .status()
        .map_err(|e| BenchError::Io(binary.to_owned(), e))?;
    if !status.success() {
        return Err(BenchError::Invoke("strip".into(), status.to_string()));
    }
    Ok(copy)
}

fn measure(binary: &Path, scratch: &Path) -> Result<(f64, f64), BenchError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |e| BenchError::Io(p, e)
    };
    let bin = std::fs::metadata(binary).map_err(io(binary))?.len();
    let zip: PathBuf = scratch.join("bootstrap.zip");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\n\
             with zipfile.ZipFile(sys.argv[2], 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:\n\
             \x20   z.write(sys.argv[1], 'bootstrap')",
        ])
        .arg(binary)
        .arg(&zip)
        .status()
        .map_err(io(binary))?;
    if !status.success() {
        return Err(BenchError::Invoke(
            "zipping with python3".into(),
            status.to_string(),
        ));
    }
    let zipped = std::fs::metadata(&zip).map_err(io(&zip))?.len();
    Ok((bin as f64, zipped as f64))
}
