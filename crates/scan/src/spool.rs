//! Keeps an object's bytes for the scanner while ingest streams them once: in memory
//! up to a budget, in a temporary file past it (removed when dropped), and not at all
//! past the scan limit, so memory stays bounded for any object size.

use std::io::{self, Write};

use tempfile::{NamedTempFile, TempPath};

/// What a finished spool holds.
#[derive(Debug)]
pub enum Spooled {
    /// Every byte, in memory.
    Memory(Vec<u8>),
    /// Every byte, in a temporary file deleted when this value is dropped.
    Disk(TempPath),
    /// Every byte, in the object's own file in a local store, mapped and scanned in
    /// place (see `ChunkStream::local_file`) while another thread hashes the same map;
    /// the file is the store's and stays.
    InPlace(std::sync::Arc<crate::mapped::ObjectMap>),
    /// The object passed the scan limit and was scanned in windows as it streamed
    /// (see [`crate::windows`]); this is that scan's report.
    Windowed(airlock_domain::ScanReport),
    /// The object passed the scan limit; its bytes were not kept.
    TooLarge {
        /// Bytes read before the scan limit was passed (a lower bound of the object's size).
        size: u64,
        /// The scan limit in bytes that was passed.
        limit: u64,
    },
}

/// The bytes a spool kept before the object passed the scan limit.
#[derive(Debug)]
pub enum Prefix {
    /// In memory.
    Memory(Vec<u8>),
    /// In a temporary file, removed when this is dropped.
    Disk(TempPath),
}

enum Held {
    Memory(Vec<u8>),
    Disk(io::BufWriter<NamedTempFile>),
    Dropped,
}

/// Collects chunks; see the module docs.
pub struct Spool {
    memory_budget: usize,
    limit: u64,
    size: u64,
    held: Held,
}

impl Spool {
    /// A spool that keeps up to `memory_budget` bytes in memory and gives up on
    /// objects larger than `limit`.
    pub fn new(memory_budget: usize, limit: u64) -> Self {
        Self {
            memory_budget,
            limit,
            size: 0,
            held: Held::Memory(Vec::new()),
        }
    }

    /// Adds the next chunk; past the scan limit, what was kept is let go.
    pub fn push(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.push_or_give_back(chunk).map(drop)
    }

    /// Adds the next chunk, unless it takes the object past the scan limit: then
    /// the bytes kept so far are handed back, for a scan in windows that goes on
    /// from them (the chunk is not among them).
    pub fn push_or_give_back(&mut self, chunk: &[u8]) -> io::Result<Option<Prefix>> {
        if self.size + chunk.len() as u64 <= self.limit {
            self.size += chunk.len() as u64;
            self.keep(chunk)?;
            return Ok(None);
        }
        self.size += chunk.len() as u64;
        let prefix = match std::mem::replace(&mut self.held, Held::Dropped) {
            Held::Memory(bytes) => Prefix::Memory(bytes),
            Held::Disk(file) => {
                let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
                Prefix::Disk(file.into_temp_path())
            }
            Held::Dropped => Prefix::Memory(Vec::new()),
        };
        Ok(Some(prefix))
    }

    fn keep(&mut self, chunk: &[u8]) -> io::Result<()> {
        match &mut self.held {
            Held::Memory(bytes) if bytes.len() + chunk.len() <= self.memory_budget => {
                bytes.extend_from_slice(chunk);
            }
            Held::Memory(bytes) => {
                let mut file = io::BufWriter::with_capacity(1 << 20, NamedTempFile::new()?);
                file.write_all(bytes)?;
                file.write_all(chunk)?;
                self.held = Held::Disk(file);
            }
            Held::Disk(file) => file.write_all(chunk)?,
            Held::Dropped => {}
        }
        Ok(())
    }

    /// Ends the pass.
    pub fn finish(self) -> io::Result<Spooled> {
        Ok(match self.held {
            Held::Memory(bytes) => Spooled::Memory(bytes),
            Held::Disk(file) => {
                let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
                Spooled::Disk(file.into_temp_path())
            }
            Held::Dropped => Spooled::TooLarge {
                size: self.size,
                limit: self.limit,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spool(chunks: &[&[u8]], budget: usize, limit: u64) -> Spooled {
        let mut spool = Spool::new(budget, limit);
        for chunk in chunks {
            spool.push(chunk).unwrap();
        }
        spool.finish().unwrap()
    }

    #[test]
    fn small_objects_stay_in_memory() {
        match spool(&[b"abc", b"def"], 16, 100) {
            Spooled::Memory(bytes) => assert_eq!(bytes, b"abcdef"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn objects_past_the_memory_budget_go_to_a_file_that_is_removed_after_use() {
        let Spooled::Disk(path) = spool(&[b"abcd", b"efgh", b"ij"], 5, 100) else {
            panic!("expected a file");
        };
        assert_eq!(std::fs::read(&path).unwrap(), b"abcdefghij");
        let kept = path.to_path_buf();
        drop(path);
        assert!(!kept.exists());
    }

    #[test]
    fn objects_past_the_scan_limit_are_not_kept() {
        match spool(&[b"abcd", b"efgh"], 5, 6) {
            Spooled::TooLarge { size, limit } => assert_eq!((size, limit), (8, 6)),
            other => panic!("{other:?}"),
        }
    }
}
