//! Scans a spooled file through a memory map whose resident pages are given back while
//! the scan runs.
//!
//! YARA-X needs the whole object as one slice, so a spooled file is mapped. Every page
//! the scan touches would then stay resident until the map is dropped, and the
//! process's resident memory would grow to the object's size (a 1 GiB upload would
//! need 1 GiB). A second thread tells the kernel every [`TRIM_EVERY`] that the mapped
//! pages are not needed; the kernel unmaps them, and a page the scan reads again is
//! faulted back in from the page cache with the same bytes. Resident memory then stays
//! near what the scan reads in one interval.

use std::{
    fs::File,
    io,
    path::Path,
    sync::mpsc::{self, RecvTimeoutError},
    time::Duration,
};

use memmap2::{Mmap, UncheckedAdvice};

/// How often the mapped pages are given back. The default rules scan plain bytes at
/// gigabytes a second, so at 10 ms a 100 MiB object was nearly all resident before the
/// first trim (peak 125.6 MiB; at 2 ms, 74.7 MiB; 1 GiB: 168.3 → 63.4 MiB, in
/// `make bench`). Each trim costs a walk of the mapping's page tables, paid in speed.
pub const TRIM_EVERY: Duration = Duration::from_millis(2);

/// Maps the file at `path` read-only and runs `scan` over its bytes, giving the mapped
/// pages back every [`TRIM_EVERY`] until `scan` returns.
pub fn scan_mapped<T>(path: &Path, scan: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
    scan_mapped_file(&File::open(path)?, scan)
}

/// As [`scan_mapped`], on a file already open: the spool's own, or an object file of
/// a local store, which nothing writes to or truncates while it is open (see
/// `ChunkStream::local_file`).
pub fn scan_mapped_file<T>(file: &File, scan: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
    let map = map_private_file(file)?;
    let map = &map;
    Ok(std::thread::scope(|threads| {
        let (stop, stopped) = mpsc::channel::<()>();
        threads.spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TRIM_EVERY) {
                give_back_pages(map);
            }
        });
        let scanned = scan(&map[..]);
        drop(stop);
        scanned
    }))
}

#[allow(unsafe_code)]
fn map_private_file(file: &File) -> io::Result<Mmap> {
    // SAFETY: mapping a file is unsafe because another process could change or
    // truncate it while it is mapped. The file is either the spool's own temporary
    // file, created with mode 0600, written to the end and closed before the scan,
    // which nothing else holds open or writes to again; or a local store's object
    // file, which the store wrote whole, synced and linked into place, and replaces
    // only by renaming another file over its name, never writing to it again.
    unsafe { Mmap::map(file) }
}

/// Hands a mapped file's bytes to `read` a stride at a time, giving each
/// stride's pages back once it is read, so resident memory stays near one stride.
pub fn read_mapped_file(file: &File, mut read: impl FnMut(&[u8])) -> io::Result<()> {
    let map = map_private_file(file)?;
    for (n, stride) in map.chunks(READ_STRIDE).enumerate() {
        read(stride);
        give_back_range(&map, n * READ_STRIDE, stride.len());
    }
    Ok(())
}

/// How much of a file [`read_mapped_file`] reads before giving its pages back.
pub const READ_STRIDE: usize = 8 * 1024 * 1024;

#[allow(unsafe_code)]
fn give_back_range(map: &Mmap, offset: usize, len: usize) {
    // SAFETY: as in `give_back_pages`: the mapping is read-only and file-backed, so
    // the pages dropped here read back the same bytes if they are touched again.
    if let Err(error) =
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, offset, len) }
    {
        tracing::debug!(%error, "could not give back the read pages");
    }
}

#[allow(unsafe_code)]
fn give_back_pages(map: &Mmap) {
    // SAFETY: MADV_DONTNEED on a read-only, file-backed mapping drops the pages from
    // this process only; the next read of any of them faults the same bytes back in
    // from the file, so the scanner reading the map at the same time sees no change.
    // It would lose data only on a private mapping that had been written to, and this
    // one is never written to.
    if let Err(error) = unsafe { map.unchecked_advise(UncheckedAdvice::DontNeed) } {
        tracing::debug!(%error, "could not give back the scanned pages");
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn the_scan_sees_every_byte_of_the_file() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        let content: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        file.write_all(&content).unwrap();
        let seen = scan_mapped(file.path(), |bytes| bytes.to_vec()).unwrap();
        assert_eq!(seen, content);
    }

    #[test]
    fn a_missing_file_is_an_error_not_an_empty_scan() {
        let error = scan_mapped(Path::new("/nonexistent/airlock-spool"), |b| b.len());
        assert!(error.is_err());
    }
}
