//! VBA macro projects inside OLE files (MS-OVBA): the `dir` stream's module records
//! and each module's source code, decompressed, so rules see the macro text rather
//! than its compressed stream (where a flag byte every eight bytes breaks any string).
//!
//! Written here because no crate does it safely: YARA-X 1.22.1's `olecf`/`vba`
//! modules do not compile, and the `ovba` crate panics on truncated input (slices and
//! subtractions unchecked), which with `panic = "abort"` would let one hostile file
//! kill ingest. Every read here is bounds-checked and the output is capped.

/// Why a VBA project could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum VbaError {
    /// The stream does not start with the compressed container's signature byte.
    #[error("not an MS-OVBA compressed container")]
    NotCompressed,
    /// A chunk header lacks its signature bits.
    #[error("chunk header {0:#06x} has no chunk signature")]
    BadChunk(u16),
    /// The data ends inside a chunk, a token or a record.
    #[error("truncated")]
    Truncated,
    /// A copy token points before the start of its chunk.
    #[error("a copy token reaches before its chunk")]
    BadCopy,
    /// The decompressed data would pass the cap.
    #[error("decompresses past {0} bytes")]
    TooLarge(usize),
}

/// Where one module's source is: its stream (beside `dir`) and the offset of the
/// compressed source in it (what comes before is the module's compiled p-code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// The stream's name, as the project's code page spells it (read as Latin-1).
    pub stream: String,
    /// Where the compressed source starts in that stream.
    pub offset: usize,
}

/// Decompresses an MS-OVBA compressed container (section 2.4.1), producing at most
/// `limit` bytes.
pub fn decompress(input: &[u8], limit: usize) -> Result<Vec<u8>, VbaError> {
    let Some((&1, mut rest)) = input.split_first() else {
        return Err(VbaError::NotCompressed);
    };
    let mut out = Vec::new();
    while rest.len() >= 2 {
        let header = u16::from_le_bytes([rest[0], rest[1]]);
        if (header >> 12) & 0b111 != 0b011 {
            return Err(VbaError::BadChunk(header));
        }
        // The size field is the chunk's size, header included, less three.
        let size = usize::from(header & 0x0fff) + 3;
        let data = rest.get(2..size).ok_or(VbaError::Truncated)?;
        if header & 0x8000 == 0 {
            out.extend_from_slice(data);
        } else {
            decompress_chunk(data, &mut out)?;
        }
        if out.len() > limit {
            return Err(VbaError::TooLarge(limit));
        }
        rest = &rest[size..];
    }
    Ok(out)
}

/// One compressed chunk's tokens, appended to `out`: flag bytes, each saying of the
/// next eight tokens which are literal bytes (0) and which copy tokens (1).
fn decompress_chunk(mut data: &[u8], out: &mut Vec<u8>) -> Result<(), VbaError> {
    let start = out.len();
    while let Some((&flags, rest)) = data.split_first() {
        data = rest;
        for bit in 0..8 {
            if data.is_empty() {
                return Ok(());
            }
            if flags & (1 << bit) == 0 {
                out.push(data[0]);
                data = &data[1..];
                continue;
            }
            let token = data.get(..2).ok_or(VbaError::Truncated)?;
            let token = u16::from_le_bytes([token[0], token[1]]);
            data = &data[2..];
            copy(token, start, out)?;
        }
    }
    Ok(())
}

/// Applies a copy token: `length` bytes from `offset` back, overlapping allowed. How
/// the sixteen bits split into offset and length depends on how far into the chunk
/// the output is (section 2.4.1.3.19.1).
fn copy(token: u16, chunk_start: usize, out: &mut Vec<u8>) -> Result<(), VbaError> {
    let difference = out.len() - chunk_start;
    let bit_count = (usize::BITS - difference.saturating_sub(1).leading_zeros()).max(4);
    let length_mask = 0xffff_u16 >> bit_count;
    let length = usize::from(token & length_mask) + 3;
    let offset = usize::from(token >> (16 - bit_count)) + 1;
    if offset > difference {
        return Err(VbaError::BadCopy);
    }
    for _ in 0..length {
        out.push(out[out.len() - offset]);
    }
    Ok(())
}

const PROJECTVERSION: u16 = 0x0009;
const TERMINATOR: u16 = 0x0010;
const MODULESTREAMNAME: u16 = 0x001a;
const MODULEOFFSET: u16 = 0x0031;
const MODULE_END: u16 = 0x002b;

/// The modules a decompressed `dir` stream lists. Its records are an id, a size and
/// that many bytes, except PROJECTVERSION, whose size field is a reserved 4 followed
/// by six bytes; so one walk finds every module's stream name and source offset.
pub fn modules(dir: &[u8]) -> Result<Vec<Module>, VbaError> {
    let mut modules = Vec::new();
    let (mut stream, mut offset) = (None, None);
    let mut rest = dir;
    while rest.len() >= 6 {
        let id = u16::from_le_bytes([rest[0], rest[1]]);
        let size = u32::from_le_bytes([rest[2], rest[3], rest[4], rest[5]]) as usize;
        let size = if id == PROJECTVERSION { 6 } else { size };
        let data = rest.get(6..6 + size).ok_or(VbaError::Truncated)?;
        rest = &rest[6 + size..];
        match id {
            TERMINATOR => break,
            MODULESTREAMNAME => stream = Some(data.iter().map(|&b| char::from(b)).collect()),
            MODULEOFFSET if data.len() == 4 => {
                offset = Some(u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize);
            }
            MODULE_END => {
                if let (Some(stream), Some(offset)) = (stream.take(), offset.take()) {
                    modules.push(Module { stream, offset });
                }
            }
            _ => {}
        }
    }
    Ok(modules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_tokens_decompress_to_themselves() {
        // MS-OVBA 3.2.1: "abcdefghijklmnopqrstuv." with no repetition to copy.
        let compressed = [
            0x01, 0x19, 0xB0, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x00, 0x69,
            0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70, 0x00, 0x71, 0x72, 0x73, 0x74, 0x75, 0x76,
            0x2E,
        ];
        assert_eq!(
            decompress(&compressed, 1 << 20).unwrap(),
            b"abcdefghijklmnopqrstuv."
        );
    }

    #[test]
    fn a_copy_token_repeats_what_came_before_overlapping_itself() {
        // "abc", then a copy of six bytes from three back: offset 3 and length 6 in
        // the 4/12-bit split that the first sixteen bytes of a chunk use.
        let compressed = [0x01, 0x05, 0xB0, 0x08, 0x61, 0x62, 0x63, 0x03, 0x20];
        assert_eq!(decompress(&compressed, 1 << 20).unwrap(), b"abcabcabc");
    }

    #[test]
    fn damaged_containers_are_errors_never_panics() {
        assert_eq!(decompress(&[], 10), Err(VbaError::NotCompressed));
        assert_eq!(
            decompress(&[0x01, 0x05, 0x00], 10),
            Err(VbaError::BadChunk(0x0005))
        );
        // A copy token before any output, and one cut in half.
        assert_eq!(
            decompress(&[0x01, 0x02, 0xB0, 0x01, 0x03, 0x20], 10),
            Err(VbaError::BadCopy)
        );
        assert_eq!(
            decompress(&[0x01, 0x01, 0xB0, 0x01, 0x03], 10),
            Err(VbaError::Truncated)
        );
        // A chunk whose size runs past the data.
        assert_eq!(
            decompress(&[0x01, 0xFF, 0xBF, 0x00, 0x61], 10),
            Err(VbaError::Truncated)
        );
        let long = [0x01, 0x05, 0xB0, 0x08, 0x61, 0x62, 0x63, 0x03, 0x20];
        assert_eq!(decompress(&long, 4), Err(VbaError::TooLarge(4)));
        assert_eq!(
            modules(&[0x1a, 0x00, 0xff, 0x00, 0x00, 0x00]),
            Err(VbaError::Truncated)
        );
    }

    #[test]
    fn arbitrary_bytes_give_an_answer_never_a_panic() {
        // A fixed xorshift sequence: the same 20,000 inputs every run, most of them
        // starting with the signature and a valid chunk header so the tokens are read.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if round % 4 != 0 && bytes.len() >= 3 {
                bytes[0] = 0x01;
                bytes[2] = 0xB0 | (bytes[2] & 0x8f);
            }
            let _ = decompress(&bytes, 1 << 16);
            let _ = modules(&bytes);
        }
    }

    #[test]
    fn the_dir_records_give_each_modules_stream_and_source_offset() {
        let record = |id: u16, data: &[u8]| {
            let mut bytes = id.to_le_bytes().to_vec();
            bytes.extend((data.len() as u32).to_le_bytes());
            bytes.extend(data);
            bytes
        };
        let mut dir = record(0x0001, &1u32.to_le_bytes());
        // PROJECTVERSION: reserved size 4, then six bytes.
        dir.extend([0x09, 0x00, 0x04, 0x00, 0x00, 0x00, 1, 0, 0, 0, 2, 0]);
        dir.extend(record(0x000f, &1u16.to_le_bytes()));
        dir.extend(record(0x0019, b"Module1"));
        dir.extend(record(0x001a, b"Module1"));
        dir.extend(record(0x0032, &[b'M', 0]));
        dir.extend(record(0x0031, &0x2au32.to_le_bytes()));
        dir.extend(record(0x0021, &[]));
        dir.extend(record(0x002b, &[]));
        dir.extend(record(0x0010, &[]));
        assert_eq!(
            modules(&dir).unwrap(),
            vec![Module {
                stream: "Module1".into(),
                offset: 0x2a,
            }]
        );
    }
}
