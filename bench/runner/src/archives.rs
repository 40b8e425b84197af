//! ingest on archives: a 100 MiB zip of mixed members and a 1 GiB tar.gz through the
//! local backend's ingest, which opens every member and scans it, beside `unzip -p`
//! and `tar -xzOf` unpacking the same bytes to /dev/null in the same run. MB/s are of
//! the archive's own bytes; peak memory is the child process's.

use std::{cell::Cell, io::Write, path::Path, process::Stdio, rc::Rc, time::Instant};

use crate::{
    BenchError,
    deployment::pending_record_as,
    report::Report,
    settings::Settings,
    stats::median,
    throughput::{self, Run},
};

const SECTION: &str = "archives";
const MIB: u64 = 1024 * 1024;
/// ingest's memory target with scanning on, as in the ingest section.
const MEMORY_LIMIT_MIB: u64 = 128;

/// One archive of the section and the tool that unpacks it.
struct Subject {
    label: &'static str,
    name: &'static str,
    content_type: &'static str,
    unpack: fn(&Path) -> std::process::Command,
    unpacker: &'static str,
}

const SUBJECTS: [Subject; 2] = [
    Subject {
        label: "100 MiB zip of mixed members",
        name: "mixed.zip",
        content_type: "application/zip",
        unpack: unzip,
        unpacker: "unzip -p",
    },
    Subject {
        label: "1 GiB tar.gz",
        name: "mixed.tar.gz",
        content_type: "application/gzip",
        unpack: untar,
        unpacker: "tar -xzOf",
    },
];

fn unzip(path: &Path) -> std::process::Command {
    let mut command = throughput::with_time(Path::new("unzip"));
    command.arg("-p").arg(path);
    command
}

fn untar(path: &Path) -> std::process::Command {
    let mut command = throughput::with_time(Path::new("tar"));
    command.arg("-xzOf").arg(path);
    command
}

/// Builds both archives, then measures each.
pub async fn run(settings: &Settings, report: &mut Report) -> Result<(), BenchError> {
    let zip_path = settings.scratch.join(SUBJECTS[0].name);
    let tar_path = settings.scratch.join(SUBJECTS[1].name);
    let started = Instant::now();
    let members = write_mixed_zip(&zip_path, 100 * MIB)?;
    report.info(
        SECTION,
        "the zip",
        format!(
            "{members} members (incompressible ones stored, text deflated, a nested zip), built in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
    );
    let started = Instant::now();
    let members = write_mixed_tar_gz(&tar_path, 1024 * MIB - 4 * MIB, 8 * MIB as usize)?;
    report.info(
        SECTION,
        "the tar.gz",
        format!(
            "{members} members (incompressible and text, alternating), built in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
    );
    for (subject, path) in SUBJECTS.iter().zip([&zip_path, &tar_path]) {
        measure(settings, subject, path, report).await?;
        let _ = std::fs::remove_file(path);
    }
    report.note(
        "archives: ingest = the local backend's handler in a child process (as in the ingest section), every member opened and scanned with the default rules; \
         the unpackers write every member to /dev/null (`unzip -p`, `tar -xzOf`, which runs gzip), timed from spawn to exit; MB/s of the archive's bytes.",
    );
    Ok(())
}

async fn measure(
    settings: &Settings,
    subject: &Subject,
    path: &Path,
    report: &mut Report,
) -> Result<(), BenchError> {
    let size = std::fs::metadata(path)
        .map_err(|e| BenchError::Io(path.to_owned(), e))?
        .len();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for round in 0..settings.repeats.max(1) {
        let data = settings
            .scratch
            .join(format!("archives-{}-{round}", subject.name));
        let record = pending_record_as(subject.name, subject.content_type, size)?;
        let key = throughput::prepare_local_as(&data, path, record).await?;
        theirs.push(unpack(subject, path)?);
        ours.push(throughput::ingest_local(
            &data,
            &key,
            settings.max_scan_bytes,
            None,
        )?);
        let _ = std::fs::remove_dir_all(&data);
    }
    let ours = throughput::summary(&ours);
    let rate = |seconds: f64| size as f64 / MIB as f64 / seconds;
    let unpacked =
        median(&theirs.iter().map(|r| r.seconds).collect::<Vec<_>>()).unwrap_or(f64::NAN);
    report.info(
        SECTION,
        format!("ingest, {}", subject.label),
        format!(
            "{:.0} MiB/s ({:.2} s handler), peak {:.1} MiB",
            rate(ours.work_seconds),
            ours.work_seconds,
            ours.peak_kib as f64 / 1024.0
        ),
    );
    report.info(
        SECTION,
        format!("{}, {}", subject.unpacker, subject.label),
        format!("{:.0} MiB/s ({unpacked:.2} s)", rate(unpacked)),
    );
    report.check(
        SECTION,
        format!("ingest peak memory, {}", subject.label),
        format!("{:.1} MiB", ours.peak_kib as f64 / 1024.0),
        format!("≤ {MEMORY_LIMIT_MIB} MiB"),
        Some(ours.peak_kib <= MEMORY_LIMIT_MIB * 1024),
    );
    Ok(())
}

fn unpack(subject: &Subject, path: &Path) -> Result<Run, BenchError> {
    let mut command = (subject.unpack)(path);
    let started = Instant::now();
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .map_err(|e| BenchError::Invoke(subject.unpacker.into(), e.to_string()))?;
    let seconds = started.elapsed().as_secs_f64();
    if !output.status.success() {
        return Err(BenchError::Invoke(
            subject.unpacker.into(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    Ok(Run {
        seconds,
        work_seconds: seconds,
        peak_kib: 0,
    })
}

/// Deterministic member contents: pseudo-random bytes (xorshift), or CSV-like text.
struct Contents {
    state: u64,
    row: u64,
}

impl Contents {
    fn new() -> Self {
        Self {
            state: 0x9E37_79B9_7F4A_7C15,
            row: 0,
        }
    }

    fn random(&mut self, size: usize) -> Vec<u8> {
        let mut out = vec![0u8; size];
        for word in out.chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let bytes = self.state.to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
        out
    }

    fn text(&mut self, size: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(size + 64);
        while out.len() < size {
            self.row += 1;
            let amount = self.random(2);
            let _ = writeln!(
                out,
                "{},customer-{},{}.{:02},EUR",
                self.row,
                self.row % 9973,
                u16::from_le_bytes([amount[0], amount[1]]),
                self.row % 100
            );
        }
        out.truncate(size);
        out
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BenchError + '_ {
    move |e| BenchError::Io(path.to_owned(), e)
}

fn zip_error(path: &Path) -> impl Fn(zip::result::ZipError) -> BenchError + '_ {
    move |e| BenchError::Setup("writing the bench zip", format!("{}: {e}", path.display()))
}

/// A zip of at least `size` bytes: 1 MiB incompressible members stored, 1 MiB text
/// members deflated, and a small nested zip; returns how many members it has.
fn write_mixed_zip(path: &Path, size: u64) -> Result<usize, BenchError> {
    use zip::{CompressionMethod, write::SimpleFileOptions};
    let file = std::fs::File::create(path).map_err(io(path))?;
    let written = Rc::new(Cell::new(0));
    let counting = Counting {
        inner: std::io::BufWriter::new(file),
        written: Rc::clone(&written),
    };
    let mut zip = zip::ZipWriter::new(counting);
    let stored = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let deflated = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    let mut contents = Contents::new();
    let mut members = 0;
    zip.start_file("nested/inner.zip", stored)
        .map_err(zip_error(path))?;
    zip.write_all(&nested_zip(&mut contents, path)?)
        .map_err(io(path))?;
    members += 1;
    while written.get() < size {
        let n = members;
        zip.start_file(format!("data/{n:05}.bin"), stored)
            .map_err(zip_error(path))?;
        zip.write_all(&contents.random(MIB as usize))
            .map_err(io(path))?;
        zip.start_file(format!("reports/{n:05}.csv"), deflated)
            .map_err(zip_error(path))?;
        zip.write_all(&contents.text(MIB as usize))
            .map_err(io(path))?;
        members += 2;
    }
    zip.finish().map_err(zip_error(path))?;
    Ok(members)
}

/// A writer that counts what passes through it (the zip writer needs `Seek` too).
struct Counting<W> {
    inner: W,
    written: Rc<Cell<u64>>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written.set(self.written.get() + n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: std::io::Seek> std::io::Seek for Counting<W> {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

fn nested_zip(contents: &mut Contents, path: &Path) -> Result<Vec<u8>, BenchError> {
    let mut inner = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for n in 0..8 {
        inner
            .start_file(
                format!("part-{n}.csv"),
                zip::write::SimpleFileOptions::default(),
            )
            .map_err(zip_error(path))?;
        inner
            .write_all(&contents.text(64 * 1024))
            .map_err(io(path))?;
    }
    Ok(inner.finish().map_err(zip_error(path))?.into_inner())
}

/// A tar.gz of at most `size` bytes: `member`-byte members, incompressible and text
/// alternating, gzip at its fastest level; returns how many members it has.
fn write_mixed_tar_gz(path: &Path, size: u64, member: usize) -> Result<usize, BenchError> {
    let file = std::fs::File::create(path).map_err(io(path))?;
    let gzip =
        flate2::write::GzEncoder::new(std::io::BufWriter::new(file), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gzip);
    let mut contents = Contents::new();
    let mut members = 0;
    // Incompressible members add their own size; stop a member's worth short.
    while compressed_so_far(path)? + 2 * (member as u64) < size {
        let bytes = if members % 2 == 0 {
            contents.random(member)
        } else {
            contents.text(member)
        };
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(
            &mut header,
            format!("batch/{members:04}.dat"),
            bytes.as_slice(),
        )
        .map_err(io(path))?;
        members += 1;
    }
    let gzip = tar.into_inner().map_err(io(path))?;
    let mut out = gzip.finish().map_err(io(path))?;
    out.flush().map_err(io(path))?;
    Ok(members)
}

fn compressed_so_far(path: &Path) -> Result<u64, BenchError> {
    Ok(std::fs::metadata(path).map_err(io(path))?.len())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // A failed unwrap is a failed test.

    use super::*;

    #[test]
    fn the_mixed_zip_reaches_its_size_and_every_member_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.zip");
        let members = write_mixed_zip(&path, 3 * MIB).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() >= 3 * MIB);
        let mut archive = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(archive.len(), members);
        let mut total = 0;
        for i in 0..archive.len() {
            total +=
                std::io::copy(&mut archive.by_index(i).unwrap(), &mut std::io::sink()).unwrap();
        }
        assert!(total >= 3 * MIB);
    }

    #[test]
    fn the_mixed_tar_gz_stays_under_its_size_and_unpacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.tar.gz");
        let members = write_mixed_tar_gz(&path, 2 * MIB, 128 * 1024).unwrap();
        assert!(members >= 2, "{members}");
        assert!(std::fs::metadata(&path).unwrap().len() <= 2 * MIB);
        let gz = flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap());
        assert_eq!(tar::Archive::new(gz).entries().unwrap().count(), members);
    }
}
