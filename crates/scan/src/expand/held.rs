//! One member's bytes as it expands: in memory while they fit in what the levels
//! above it leave of the memory budget, in a temporary file past that (removed when
//! dropped), and cut off where a budget says so, with the budget named.

use std::io::{self, Read, Write};

use tempfile::{NamedTempFile, TempPath};

/// How much one member may expand.
#[derive(Debug, Clone, Copy)]
pub struct Allowance {
    /// Bytes it may keep in memory before spilling to a file.
    pub memory: usize,
    /// Bytes it may expand to at most (the scan limit, or what is left of the
    /// expansion budget, whichever is less).
    pub max_bytes: u64,
    /// The compressed size, when the ratio budget applies to it.
    pub compressed: Option<u64>,
    /// Expanded bytes per compressed byte at most…
    pub max_ratio: u64,
    /// …past this many expanded bytes.
    pub ratio_floor: u64,
}

/// Why a member was cut off before its end.
#[derive(Debug)]
pub enum Cut {
    /// It expanded past [`Allowance::max_bytes`].
    Expansion,
    /// It expanded past the ratio budget.
    Ratio,
    /// Its decoder failed: the data is damaged, truncated or not what it claims.
    Damaged(io::Error),
}

/// What was kept of a member.
#[derive(Debug)]
pub enum Held {
    /// Every byte kept, in memory.
    Memory(Vec<u8>),
    /// Every byte kept, in a temporary file.
    Disk {
        /// The file, deleted when this is dropped.
        path: TempPath,
        /// Its length.
        len: u64,
    },
}

impl Held {
    /// Bytes kept.
    pub fn len(&self) -> u64 {
        match self {
            Self::Memory(bytes) => bytes.len() as u64,
            Self::Disk { len, .. } => *len,
        }
    }

    /// Whether nothing was kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes this holds in memory (what the levels below it cannot use).
    pub fn in_memory(&self) -> usize {
        match self {
            Self::Memory(bytes) => bytes.len(),
            Self::Disk { .. } => 0,
        }
    }

    /// Runs `with` over the bytes (a file is mapped, its pages given back as it goes).
    pub fn with_bytes<T>(&self, with: impl FnOnce(&[u8]) -> T) -> io::Result<T> {
        match self {
            Self::Memory(bytes) => Ok(with(bytes)),
            Self::Disk { path, .. } => crate::mapped::scan_mapped(path, with),
        }
    }
}

const CHUNK: usize = 64 * 1024;

/// Reads `member` to its end or to the first budget it breaks. `Err` only when the
/// temporary file cannot be written (worth a retry); a damaged member is a [`Cut`].
pub fn collect(mut member: impl Read, allowance: Allowance) -> io::Result<(Held, Option<Cut>)> {
    let mut sink = Sink::Memory(Vec::new());
    let mut buffer = vec![0u8; CHUNK];
    let mut total: u64 = 0;
    let cut = loop {
        let read = match member.read(&mut buffer) {
            Ok(0) => break None,
            Ok(read) => read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Some(Cut::Damaged(e)),
        };
        let room = allowance.max_bytes.saturating_sub(total);
        let kept = read.min(usize::try_from(room).unwrap_or(usize::MAX));
        sink.write(&buffer[..kept], allowance.memory)?;
        total += kept as u64;
        if kept < read {
            break Some(Cut::Expansion);
        }
        if past_ratio(total, allowance) {
            break Some(Cut::Ratio);
        }
    };
    Ok((sink.finish(total)?, cut))
}

fn past_ratio(total: u64, allowance: Allowance) -> bool {
    allowance.compressed.is_some_and(|compressed| {
        total > allowance.ratio_floor
            && total > compressed.max(1).saturating_mul(allowance.max_ratio)
    })
}

enum Sink {
    Memory(Vec<u8>),
    Disk(io::BufWriter<NamedTempFile>),
}

impl Sink {
    fn write(&mut self, bytes: &[u8], memory: usize) -> io::Result<()> {
        match self {
            Self::Memory(held) if held.len() + bytes.len() <= memory => {
                held.extend_from_slice(bytes);
            }
            Self::Memory(held) => {
                let mut file = io::BufWriter::with_capacity(CHUNK, NamedTempFile::new()?);
                file.write_all(held)?;
                file.write_all(bytes)?;
                *self = Self::Disk(file);
            }
            Self::Disk(file) => file.write_all(bytes)?,
        }
        Ok(())
    }

    fn finish(self, len: u64) -> io::Result<Held> {
        Ok(match self {
            Self::Memory(bytes) => Held::Memory(bytes),
            Self::Disk(file) => {
                let file = file.into_inner().map_err(io::IntoInnerError::into_error)?;
                Held::Disk {
                    path: file.into_temp_path(),
                    len,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowance(memory: usize, max_bytes: u64, compressed: Option<u64>) -> Allowance {
        Allowance {
            memory,
            max_bytes,
            compressed,
            max_ratio: 10,
            ratio_floor: 100,
        }
    }

    #[test]
    fn a_member_within_the_memory_allowance_stays_in_memory() {
        let (held, cut) = collect(&b"abc"[..], allowance(16, 100, None)).unwrap();
        assert!(cut.is_none());
        assert!(matches!(held, Held::Memory(ref b) if b == b"abc"));
    }

    #[test]
    fn a_member_past_the_memory_allowance_spills_to_a_file() {
        let data = vec![7u8; 1000];
        let (held, cut) = collect(&data[..], allowance(10, 10_000, None)).unwrap();
        assert!(cut.is_none());
        assert!(matches!(held, Held::Disk { len: 1000, .. }));
        assert_eq!(held.with_bytes(|b| b.to_vec()).unwrap(), data);
    }

    #[test]
    fn a_member_is_cut_at_its_expansion_allowance() {
        let data = vec![0u8; 500];
        let (held, cut) = collect(&data[..], allowance(1000, 200, None)).unwrap();
        assert!(matches!(cut, Some(Cut::Expansion)));
        assert_eq!(held.len(), 200);
    }

    #[test]
    fn a_member_is_cut_past_its_ratio_only_beyond_the_floor() {
        let data = vec![0u8; 500];
        let (_, cut) = collect(&data[..], allowance(1000, 10_000, Some(5))).unwrap();
        assert!(matches!(cut, Some(Cut::Ratio)));
        let (_, cut) = collect(&data[..90], allowance(1000, 10_000, Some(1))).unwrap();
        assert!(cut.is_none());
    }
}
