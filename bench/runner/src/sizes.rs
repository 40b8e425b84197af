//! Size of each function: the stripped binary and the zip Lambda receives (one entry,
//! `bootstrap`, deflated at level 9 by Python's zipfile, as cargo-lambda zips it).
//! The arm64 artifacts are the ones `make build` leaves in `target/lambda`; when they
//! are absent the x86_64 release binaries stand in, and the report says so.

use std::path::{Path, PathBuf};

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
    let have_arm64 = FUNCTIONS.iter().all(|f| arm64(f).exists());
    let arch = if have_arm64 { "arm64" } else { "x86_64" };
    if !have_arm64 {
        report.note(format!(
            "size: no arm64 artifacts in {} (run `make build` first); the x86_64 release binaries stand in, \
             built with the same profile (fat LTO, stripped, panic=abort).",
            settings.lambda_dir.display()
        ));
    }
    for f in FUNCTIONS {
        let binary = if have_arm64 {
            arm64(f)
        } else {
            settings.bin_dir.join(format!("airlock-{f}"))
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
        let (bin, zip) = measure(&hello, &settings.scratch)?;
        report.info(
            SECTION,
            "hello (x86_64)",
            format!("binary {:.2} MiB, zip {:.2} MiB", bin / MIB, zip / MIB),
        );
    }
    Ok(())
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
