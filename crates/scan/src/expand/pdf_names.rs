//! PDF names with `#xx` escapes decoded (`/J#61v#61Script` is `/JavaScript` to a
//! reader), so the rules' plain strings see what the reader sees: the document, once
//! it has such a name, is scanned a second time with its names decoded, as a member
//! `doc.pdf!/(names decoded)`.
//!
//! This replaces strings for the escaped spellings in the default rules: any string
//! that matches the first letters of an escaped name has atoms that an uploader can
//! repeat, and near-misses (`/#4a#61#7…`) held those strings to 56 MiB/s. Decoding is
//! one pass over the bytes, and nothing is decoded twice.

use std::io::Read;

/// The member's name: not a name a PDF object can have.
pub const DECODED_MEMBER: &str = "(names decoded)";

/// Whether any name in `bytes` has an escape: a `#` and two hex digits inside a name
/// (after a `/`, before any delimiter). It visits only the `#`s (memchr), looking back
/// from each to the nearest delimiter but never past the `#` before it, whose answer
/// carries over: every byte is looked at most once, and a document without `#`s
/// costs one memchr pass.
pub fn has_escaped_name(bytes: &[u8]) -> bool {
    let (mut checked, mut in_name) = (0, false);
    for at in memchr::memchr_iter(b'#', bytes) {
        in_name = match bytes[checked..at].iter().rfind(|&&b| is_delimiter(b)) {
            Some(&delimiter) => delimiter == b'/',
            None => in_name,
        };
        checked = at;
        if in_name && is_hex_pair(bytes, at + 1) {
            return true;
        }
    }
    false
}

/// A reader of `bytes` with every name's `#xx` escapes decoded.
pub struct NameDecoder<'a> {
    bytes: &'a [u8],
    at: usize,
    in_name: bool,
}

impl<'a> NameDecoder<'a> {
    /// A reader over `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            in_name: false,
        }
    }
}

impl Read for NameDecoder<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let mut written = 0;
        while written < out.len() && self.at < self.bytes.len() {
            let byte = self.bytes[self.at];
            if self.in_name && byte == b'#' && is_hex_pair(self.bytes, self.at + 1) {
                out[written] = hex(self.bytes[self.at + 1]) << 4 | hex(self.bytes[self.at + 2]);
                self.at += 3;
            } else {
                // A `/` starts a name (and ends the one before); any other delimiter
                // ends it.
                if byte == b'/' {
                    self.in_name = true;
                } else if is_delimiter(byte) {
                    self.in_name = false;
                }
                out[written] = byte;
                self.at += 1;
            }
            written += 1;
        }
        Ok(written)
    }
}

/// PDF's delimiters and white space (ISO 32000-1, 7.2.2), which end a name.
fn is_delimiter(byte: u8) -> bool {
    matches!(
        byte,
        b'\0'
            | b'\t'
            | b'\n'
            | b'\x0c'
            | b'\r'
            | b' '
            | b'('
            | b')'
            | b'<'
            | b'>'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'/'
            | b'%'
    )
}

fn is_hex_pair(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at..at + 2)
        .is_some_and(|pair| pair.iter().all(u8::is_ascii_hexdigit))
}

fn hex(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        NameDecoder::new(bytes).read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn escapes_in_names_are_decoded_and_nothing_else_changes() {
        assert_eq!(
            decoded(b"<< /S /J#61v#61Script /JS (a#41b) /#4C#61unch >>"),
            b"<< /S /JavaScript /JS (a#41b) /Launch >>"
        );
        // Not two hex digits: kept as they are.
        assert_eq!(decoded(b"/#4a#61#7/#zz"), b"/Ja#7/#zz");
    }

    #[test]
    fn only_a_name_with_an_escape_counts_as_one() {
        assert!(has_escaped_name(b"%PDF-1.7\n<< /S /J#61vaScript >>"));
        assert!(has_escaped_name(b"/#4a"));
        assert!(!has_escaped_name(
            b"%PDF-1.7\n<< /S /JavaScript >> (#41) #41"
        ));
        assert!(!has_escaped_name(b"/a #41"));
        // The answer at one `#` carries to the next when no delimiter is between.
        assert!(has_escaped_name(b"(x) /a#zz#41"));
        assert!(!has_escaped_name(b"/x (a#zz#41"));
    }

    #[test]
    fn small_reads_decode_the_same_as_one_large_one() {
        let source = b"/J#61v#61Script /L#61unch ".repeat(50);
        let mut reader = NameDecoder::new(&source);
        let mut out = Vec::new();
        let mut buf = [0u8; 7];
        loop {
            let n = reader.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(out, decoded(&source));
    }
}
