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
//!
//! An object scanned in place is also hashed, on another thread, from the same
//! [`ObjectMap`]: that thread gives the whole map's pages back after every stride it
//! reads, so resident memory stays bounded even when the trimming thread is not
//! scheduled for a while (on a busy machine it was not, and 1 GiB peaked at 141 MiB).

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

/// How much of a file [`ObjectMap::read_in_strides`] reads before giving pages back.
pub const READ_STRIDE: usize = 8 * 1024 * 1024;

/// Maps the file at `path` read-only and runs `scan` over its bytes, giving the mapped
/// pages back every [`TRIM_EVERY`] until `scan` returns.
pub fn scan_mapped<T>(path: &Path, scan: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
    Ok(ObjectMap::of(&File::open(path)?)?.scan(scan))
}

/// A read-only map of a file that one thread scans while another reads it in strides.
#[derive(Debug)]
pub struct ObjectMap {
    map: Mmap,
}

impl ObjectMap {
    /// Maps `file`: the spool's own, or an object file of a local store, which nothing
    /// writes to or truncates while it is open (see `ChunkStream::local_file`).
    pub fn of(file: &File) -> io::Result<Self> {
        map_private_file(file).map(|map| Self { map })
    }

    /// Runs `scan` over the whole map, giving its pages back every [`TRIM_EVERY`]
    /// until `scan` returns.
    pub fn scan<T>(&self, scan: impl FnOnce(&[u8]) -> T) -> T {
        let map = &self.map;
        std::thread::scope(|threads| {
            let (stop, stopped) = mpsc::channel::<()>();
            threads.spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(TRIM_EVERY) {
                    give_back_pages(map);
                }
            });
            let scanned = scan(&map[..]);
            drop(stop);
            scanned
        })
    }

    /// Hands the bytes to `read` a [`READ_STRIDE`] at a time, giving back every page
    /// of the map after each stride: those this read touched and those a scan of the
    /// same map touched meanwhile.
    pub fn read_in_strides(&self, mut read: impl FnMut(&[u8])) {
        for stride in self.map.chunks(READ_STRIDE) {
            read(stride);
            give_back_pages(&self.map);
        }
    }
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

    /// This process's resident memory (nextest runs each test in a process of its own).
    fn resident_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn reading_in_strides_gives_back_the_pages_a_scan_of_the_same_map_touched() {
        const LEN: usize = 64 * 1024 * 1024;
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![7u8; LEN]).unwrap();
        let map = ObjectMap::of(&file).unwrap();
        let before = resident_kib();
        let (mut strides, mut sum) = (0, 0u64);
        let (mut while_racing, mut at_second_stride) = (0, 0);
        map.read_in_strides(|stride| {
            if strides == 0 {
                // A scan racing ahead on another thread: every page of the map
                // becomes resident during the first stride.
                sum += map
                    .map
                    .iter()
                    .step_by(4096)
                    .map(|&b| u64::from(b))
                    .sum::<u64>();
                while_racing = resident_kib();
            } else if strides == 1 {
                at_second_stride = resident_kib();
            }
            sum += u64::from(stride[0]);
            strides += 1;
        });

        assert_eq!(strides, LEN / READ_STRIDE);
        assert!(sum > 0);
        assert!(
            while_racing > before + 48 * 1024,
            "the racing scan did not make the map resident: {before} → {while_racing} KiB"
        );
        assert!(
            at_second_stride < before + 16 * 1024,
            "the pages the scan touched ahead stayed resident: {before} → {at_second_stride} KiB"
        );
    }

    #[test]
    fn a_missing_file_is_an_error_not_an_empty_scan() {
        let error = scan_mapped(Path::new("/nonexistent/airlock-spool"), |b| b.len());
        assert!(error.is_err());
    }
}
