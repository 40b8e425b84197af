//! The PDF filters Airlock decodes, as readers chained in the dictionary's order:
//! FlateDecode (`flate2`'s zlib), and ASCIIHexDecode and ASCII85Decode, which are a
//! few lines each and have no maintained crate as streaming readers.

use std::io::{self, Read};

/// A filter named in a stream's `/Filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// `/FlateDecode` (`/Fl`).
    Flate,
    /// `/ASCIIHexDecode` (`/AHx`).
    Hex,
    /// `/ASCII85Decode` (`/A85`).
    Ascii85,
}

/// The filters of `dictionary` in order; `None` when it has none (nothing to
/// decode) or names one Airlock does not decode.
pub fn filters_of(dictionary: &[u8]) -> Option<Vec<Filter>> {
    let at = memchr::memmem::find(dictionary, b"/Filter")? + b"/Filter".len();
    let rest = String::from_utf8_lossy(&dictionary[at..]);
    let rest = rest.trim_start();
    let names: Vec<&str> = if let Some(list) = rest.strip_prefix('[') {
        list.split(']').next()?.split('/').skip(1).collect()
    } else {
        let name = rest.strip_prefix('/')?;
        vec![name]
    };
    let filters: Option<Vec<Filter>> = names
        .iter()
        .map(|name| {
            let name = name
                .split(|c: char| c.is_ascii_whitespace() || "/<>[]".contains(c))
                .next()
                .unwrap_or("");
            match name {
                "FlateDecode" | "Fl" => Some(Filter::Flate),
                "ASCIIHexDecode" | "AHx" => Some(Filter::Hex),
                "ASCII85Decode" | "A85" => Some(Filter::Ascii85),
                _ => None,
            }
        })
        .collect();
    filters.filter(|f| !f.is_empty())
}

/// A reader of `data` decoded through `filters`, first to last.
pub fn decoder<'a>(filters: &[Filter], data: &'a [u8]) -> Box<dyn Read + 'a> {
    let mut reader: Box<dyn Read + 'a> = Box::new(data);
    for filter in filters {
        reader = match filter {
            Filter::Flate => Box::new(flate2::read::ZlibDecoder::new(reader)),
            Filter::Hex => Box::new(Decoding::new(reader, Hex::default())),
            Filter::Ascii85 => Box::new(Decoding::new(reader, Ascii85::default())),
        };
    }
    reader
}

/// A byte-at-a-time text decoder.
trait Decode {
    /// Takes the next input byte; `Ok(true)` at the end-of-data marker.
    fn push(&mut self, byte: u8, out: &mut Vec<u8>) -> io::Result<bool>;
    /// The input ended: flush a partial group.
    fn finish(&mut self, out: &mut Vec<u8>) -> io::Result<()>;
}

/// A [`Read`] over a [`Decode`], a few KiB at a time.
struct Decoding<R, D> {
    inner: R,
    decode: D,
    raw: Vec<u8>,
    out: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<R: Read, D: Decode> Decoding<R, D> {
    fn new(inner: R, decode: D) -> Self {
        Self {
            inner,
            decode,
            raw: vec![0; 8 * 1024],
            out: Vec::new(),
            at: 0,
            ended: false,
        }
    }

    fn refill(&mut self) -> io::Result<()> {
        self.out.clear();
        self.at = 0;
        while self.out.is_empty() && !self.ended {
            let read = self.inner.read(&mut self.raw)?;
            if read == 0 {
                self.decode.finish(&mut self.out)?;
                self.ended = true;
            }
            for &byte in &self.raw[..read] {
                if self.decode.push(byte, &mut self.out)? {
                    self.decode.finish(&mut self.out)?;
                    self.ended = true;
                    break;
                }
            }
        }
        Ok(())
    }
}

impl<R: Read, D: Decode> Read for Decoding<R, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.out.len() {
            self.refill()?;
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

#[derive(Default)]
struct Hex {
    high: Option<u8>,
}

impl Decode for Hex {
    fn push(&mut self, byte: u8, out: &mut Vec<u8>) -> io::Result<bool> {
        if byte == b'>' {
            return Ok(true);
        }
        if byte.is_ascii_whitespace() {
            return Ok(false);
        }
        let digit = (byte as char)
            .to_digit(16)
            .ok_or_else(|| bad("not a hex digit in ASCIIHexDecode data"))?
            as u8;
        match self.high.take() {
            Some(high) => out.push(high << 4 | digit),
            None => self.high = Some(digit),
        }
        Ok(false)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        if let Some(high) = self.high.take() {
            out.push(high << 4);
        }
        Ok(())
    }
}

#[derive(Default)]
struct Ascii85 {
    group: [u8; 5],
    len: usize,
    tilde: bool,
}

impl Decode for Ascii85 {
    fn push(&mut self, byte: u8, out: &mut Vec<u8>) -> io::Result<bool> {
        if self.tilde {
            return if byte == b'>' {
                Ok(true)
            } else {
                Err(bad("~ not followed by > in ASCII85Decode data"))
            };
        }
        match byte {
            b'~' => self.tilde = true,
            b'z' if self.len == 0 => out.extend_from_slice(&[0; 4]),
            b'!'..=b'u' => {
                self.group[self.len] = byte - b'!';
                self.len += 1;
                if self.len == 5 {
                    out.extend_from_slice(&self.word()?);
                    self.len = 0;
                }
            }
            _ if byte.is_ascii_whitespace() => {}
            _ => return Err(bad("a byte outside ASCII85Decode's alphabet")),
        }
        Ok(false)
    }

    fn finish(&mut self, out: &mut Vec<u8>) -> io::Result<()> {
        match self.len {
            0 => Ok(()),
            1 => Err(bad("a lone final character in ASCII85Decode data")),
            len => {
                self.group[len..].fill(b'u' - b'!');
                let word = self.word()?;
                out.extend_from_slice(&word[..len - 1]);
                self.len = 0;
                Ok(())
            }
        }
    }
}

impl Ascii85 {
    fn word(&self) -> io::Result<[u8; 4]> {
        let value = self
            .group
            .iter()
            .try_fold(0u32, |acc, &digit| {
                acc.checked_mul(85)?.checked_add(u32::from(digit))
            })
            .ok_or_else(|| bad("an ASCII85Decode group past 2^32"))?;
        Ok(value.to_be_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(filters: &[Filter], data: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        decoder(filters, data).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn filter_names_are_read_alone_in_lists_and_abbreviated() {
        assert_eq!(
            filters_of(b"<< /Filter /FlateDecode >>"),
            Some(vec![Filter::Flate])
        );
        assert_eq!(
            filters_of(b"<</Filter[/AHx /Fl]/Length 3>>"),
            Some(vec![Filter::Hex, Filter::Flate])
        );
        assert_eq!(filters_of(b"<< /Filter /DCTDecode >>"), None);
        assert_eq!(filters_of(b"<< /Length 3 >>"), None);
    }

    #[test]
    fn ascii_hex_decodes_with_whitespace_and_an_odd_final_digit() {
        assert_eq!(
            decode(&[Filter::Hex], b"48 65 6c6C6f7>").unwrap(),
            b"Hellop"
        );
        assert!(decode(&[Filter::Hex], b"4g>").is_err());
    }

    #[test]
    fn ascii85_decodes_full_and_partial_groups_and_z() {
        // "Man " and "sure" from the format's own examples, then a partial group.
        assert_eq!(
            decode(&[Filter::Ascii85], b"9jqo^F*2M7z/c~>").unwrap(),
            b"Man sure\0\0\0\0."
        );
        assert!(decode(&[Filter::Ascii85], b"9jqo^{~>").is_err());
    }
}
