//! Scanning an object spooled to disk must not make the process hold the whole object
//! in memory: the promise behind ingest's memory ceiling for large uploads. The file
//! here is a PDF whose active content is in its last bytes, so the test also shows
//! that the scan still reads to the end, and back to the start, while pages are given
//! back.
#![allow(clippy::unwrap_used)]

use std::io::Write;

use airlock_scan::{ScanSettings, Spooled, Subject, compile};
use airlock_testkit::{
    samples::Varied,
    scanning::{matched, peak_resident_mib, scan_bytes_alone},
};

const MIB: usize = 1024 * 1024;

/// `head`, `size` bytes of varied data (no rule's pattern in it), then `tail`, written
/// as they are made so building the file needs no memory of its size.
fn spooled_file(head: &[u8], size: usize, tail: &[u8]) -> Spooled {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(head).unwrap();
    std::io::copy(&mut Varied::new(size), &mut file).unwrap();
    file.write_all(tail).unwrap();
    Spooled::Disk(file.into_temp_path())
}

#[test]
fn scanning_a_spooled_file_keeps_resident_memory_far_below_the_file_size() {
    let rules = compile(&[], "none").unwrap();
    let spooled = spooled_file(b"%PDF-1.7\n", 192 * MIB, b"\n<< /S /JavaScript >>\n%%EOF\n");
    let before = peak_resident_mib();

    let report = scan_bytes_alone(&rules, &spooled);

    let growth = peak_resident_mib() - before;
    assert_eq!(matched(report), ["airlock.PDF_With_Active_Content"]);
    assert!(
        growth < 64.0,
        "peak resident memory grew by {growth:.0} MiB while scanning a 192 MiB file"
    );
}

/// A tar of one member of `size` varied bytes ending in `tail`, gzipped (stored
/// blocks: compressing is not what is measured, and is slow in a debug build), written to a
/// temporary file a MiB at a time.
fn spooled_tar_gz(size: usize, tail: &[u8]) -> Spooled {
    let file = tempfile::NamedTempFile::new().unwrap();
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::none());
    let mut builder = tar::Builder::new(gz);
    let mut header = tar::Header::new_ustar();
    header.set_size((size + tail.len()) as u64);
    header.set_mode(0o644);
    let content = std::io::Read::chain(Varied::new(size), tail);
    builder
        .append_data(&mut header, "big/data.bin", content)
        .unwrap();
    let file = builder.into_inner().unwrap().finish().unwrap();
    Spooled::Disk(file.into_temp_path())
}

#[test]
fn expanding_a_large_archive_keeps_resident_memory_far_below_its_expanded_size() {
    let rules = compile(&[], "none").unwrap();
    let spooled = spooled_tar_gz(96 * MIB, b"\n%PDF-1.7 then text\n");
    let before = peak_resident_mib();

    let report = scan_bytes_alone(&rules, &spooled);

    let growth = peak_resident_mib() - before;
    let members = report.members().expect("the archive was opened");
    // The gzip stream's member (the tar) and the tar's member (the data).
    assert_eq!(
        (members.scanned, members.unscanned.len()),
        (2, 0),
        "{report:?}"
    );
    assert!(
        growth < 64.0,
        "peak resident memory grew by {growth:.0} MiB while expanding 96 MiB twice"
    );
}

/// An object of `size` varied bytes, streamed a MiB at a time as a store would.
struct Generated {
    left: usize,
    bytes: Varied,
    stored: airlock_domain::StoredObject,
}

impl airlock_domain::ports::ChunkStream for Generated {
    fn stored(&self) -> &airlock_domain::StoredObject {
        &self.stored
    }

    async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, airlock_domain::ports::StoreError> {
        if self.left == 0 {
            return Ok(None);
        }
        let mut chunk = vec![0u8; self.left.min(MIB)];
        std::io::Read::read_exact(&mut self.bytes, &mut chunk).unwrap();
        self.left -= chunk.len();
        Ok(Some(chunk))
    }
}

struct GeneratedStore(usize);

impl airlock_domain::ports::ObjectReader for GeneratedStore {
    type Stream = Generated;

    async fn open(
        &self,
        _key: &airlock_domain::ObjectKey,
        _version: Option<&str>,
    ) -> Result<Generated, airlock_domain::ports::StoreError> {
        Ok(Generated {
            left: self.0,
            bytes: Varied::new(self.0),
            stored: airlock_domain::StoredObject::default(),
        })
    }

    async fn open_at(
        &self,
        key: &airlock_domain::ObjectKey,
        version: Option<&str>,
        offset: u64,
    ) -> Result<Generated, airlock_domain::ports::StoreError> {
        let mut generated = self.open(key, version).await?;
        let skip = offset.min(generated.left as u64);
        let mut skipped = std::io::Read::take(&mut generated.bytes, skip);
        std::io::copy(&mut skipped, &mut std::io::sink()).unwrap();
        generated.left -= skip as usize;
        Ok(generated)
    }
}

/// No deployment rules: the defaults alone.
struct NoRules;

impl airlock_domain::ports::RuleSource for NoRules {
    async fn version(&self) -> Result<String, airlock_domain::ports::StoreError> {
        Ok("none".into())
    }

    async fn load(
        &self,
    ) -> Result<(String, Vec<airlock_domain::ports::RuleFile>), airlock_domain::ports::StoreError>
    {
        Ok(("none".into(), Vec::new()))
    }
}

/// One pass over a generated 192 MiB object within `limits`; the pass, and how much
/// the process's peak resident memory grew during it.
async fn pass_of_192_mib(limits: airlock_domain::ScanLimits) -> (airlock_scan::Pass, f64) {
    let scanning = airlock_scan::Scanning::start(
        NoRules,
        std::time::Duration::ZERO,
        ScanSettings::default(),
        limits,
    )
    .await
    .unwrap();
    let key = airlock_domain::ObjectKey::new(
        airlock_domain::TenantId::parse("acme").unwrap(),
        airlock_domain::FileId::generate(),
    );
    let before = peak_resident_mib();
    let pass = scanning
        .pass(&GeneratedStore(192 * MIB), &key, None, Subject::default())
        .await
        .unwrap();
    (pass, peak_resident_mib() - before)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_pass_over_a_large_object_keeps_resident_memory_far_below_its_size() {
    let (pass, growth) = pass_of_192_mib(airlock_domain::ScanLimits {
        max_scan_bytes: u64::MAX,
        ..airlock_domain::ScanLimits::default()
    })
    .await;

    assert_eq!(pass.found.size, 192 * MIB as u64);
    assert!(
        growth < 64.0,
        "peak resident memory grew by {growth:.0} MiB over a pass of a 192 MiB object"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_windowed_pass_past_the_scan_limit_keeps_resident_memory_at_one_window_per_scanning_thread()
 {
    let (pass, growth) = pass_of_192_mib(airlock_domain::ScanLimits {
        max_scan_bytes: 16 * MIB as u64,
        ..airlock_domain::ScanLimits::default()
    })
    .await;

    assert_eq!(pass.found.size, 192 * MIB as u64);
    let airlock_domain::ScanReport::Scanned { mode, window, .. } = &pass.scan else {
        panic!("not scanned: {:?}", pass.scan);
    };
    assert_eq!(*mode, airlock_domain::ScanMode::Windowed);
    // 32 MiB windows advancing 31 MiB over 192 MiB.
    assert_eq!(window.map(|w| w.count), Some(7));
    // A window of 32 MiB in each scanning thread and one being filled, and the
    // room the whole-pass test allows beside them.
    let windows = 32.0 * (airlock_scan::windows::scanning_threads() + 1) as f64;
    assert!(
        growth < windows + 32.0,
        "peak resident memory grew by {growth:.0} MiB over a windowed pass of a 192 MiB object \
         ({windows:.0} MiB of windows)"
    );
}
