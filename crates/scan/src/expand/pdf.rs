//! PDF streams: every `stream … endstream` whose dictionary names filters Airlock can
//! decode (FlateDecode, ASCIIHexDecode, ASCII85Decode, in any chain) is decoded and
//! scanned as a member named by its object (`doc.pdf!/obj/12`), so the rules see
//! what a reader would run, including the objects packed in `/Type /ObjStm` streams
//! (which are Flate streams of PDF objects). A document with `#xx` escapes in its
//! names is scanned once more with them decoded ([`super::pdf_names`]).
//!
//! A small scanner over the bytes rather than a PDF library: lopdf, the maintained
//! one, parses the whole document into memory, which breaks the memory budget for a
//! large upload and refuses the broken files attackers send. This one reads the
//! (memory-mapped) bytes in place and needs only each stream's dictionary. Streams
//! without filters are already in the upload's own scan; image filters (DCT, JPX,
//! CCITT, JBIG2) and the rare LZW and RunLength are left to the upload's scan.

use std::{io::Read, ops::ControlFlow};

use memchr::memmem;

use super::{Level, Member, Walker, pdf_filters, pdf_names};
use crate::ScanError;

/// How far before `stream` its dictionary may start.
const DICTIONARY_WITHIN: usize = 64 * 1024;

/// What rules see as `filetype` for a decoded stream: its content is PDF syntax.
const PDF_TYPE: &str = "application/pdf";

/// Decodes and walks every decodable stream in `bytes`.
pub fn walk(walker: &mut Walker<'_, '_>, bytes: &[u8], level: &Level<'_>) -> Result<(), ScanError> {
    // An encrypted document's streams decode to noise: named, not read as damaged.
    if memmem::find(bytes, b"/Encrypt").is_some() {
        walker.not_scanned(airlock_domain::SkipReason::ArchiveEncrypted {
            path: level.path.to_owned(),
        });
        return Ok(());
    }
    if pdf_names::has_escaped_name(bytes) {
        let member = Member {
            name: pdf_names::DECODED_MEMBER,
            compressed: None,
            filetype: Some(PDF_TYPE),
        };
        let decoded = pdf_names::NameDecoder::new(bytes);
        if walker.member(level, member, decoded)? == ControlFlow::Break(()) {
            return Ok(());
        }
    }
    let keyword = memmem::Finder::new(b"stream");
    let end_keyword = memmem::Finder::new(b"endstream");
    let mut at = 0;
    while let Some(found) = keyword.find(&bytes[at..]) {
        let start = at + found;
        at = start + b"stream".len();
        if bytes[..start].ends_with(b"end") {
            continue;
        }
        let Some(data_start) = after_end_of_line(bytes, at) else {
            continue;
        };
        let Some((dictionary, dictionary_start)) = dictionary_before(bytes, start) else {
            continue;
        };
        let Some(length) = end_keyword.find(&bytes[data_start..]) else {
            walker
                .not_scanned(level.corrupt(format!("the stream at byte {start} has no endstream")));
            return Ok(());
        };
        at = data_start + length;
        let data = trim_end_of_line(&bytes[data_start..data_start + length]);
        let Some(filters) = pdf_filters::filters_of(dictionary) else {
            continue;
        };
        let name = object_name(bytes, dictionary_start, start);
        let member = Member {
            name: &name,
            compressed: Some(data.len() as u64),
            filetype: Some(PDF_TYPE),
        };
        let reader: Box<dyn Read + '_> = pdf_filters::decoder(&filters, data);
        if walker.member(level, member, reader)? == ControlFlow::Break(()) {
            break;
        }
    }
    Ok(())
}

/// The stream's data starts after the end of line that follows `stream` (CRLF or LF).
fn after_end_of_line(bytes: &[u8], at: usize) -> Option<usize> {
    match bytes.get(at..) {
        Some([b'\r', b'\n', ..]) => Some(at + 2),
        Some([b'\n', ..]) | Some([b'\r', ..]) => Some(at + 1),
        _ => None,
    }
}

fn trim_end_of_line(data: &[u8]) -> &[u8] {
    let data = data.strip_suffix(b"\n").unwrap_or(data);
    data.strip_suffix(b"\r").unwrap_or(data)
}

/// The `<< … >>` that ends just before `stream` (nested dictionaries counted), and
/// where it starts.
fn dictionary_before(bytes: &[u8], stream: usize) -> Option<(&[u8], usize)> {
    let end = bytes[..stream]
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())?
        + 1;
    if !bytes[..end].ends_with(b">>") {
        return None;
    }
    let floor = end.saturating_sub(DICTIONARY_WITHIN);
    let mut depth = 0usize;
    let mut i = end;
    while i >= floor + 2 {
        match &bytes[i - 2..i] {
            b">>" => {
                depth += 1;
                i -= 2;
            }
            b"<<" => {
                depth -= 1;
                i -= 2;
                if depth == 0 {
                    return Some((&bytes[i..end], i));
                }
            }
            _ => i -= 1,
        }
    }
    None
}

/// `obj/12` from `12 0 obj` before the dictionary, else the stream's offset.
fn object_name(bytes: &[u8], dictionary_start: usize, stream: usize) -> String {
    let head = &bytes[dictionary_start.saturating_sub(64)..dictionary_start];
    let text = String::from_utf8_lossy(head);
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    match words.as_slice() {
        [.., number, generation, "obj"]
            if number.bytes().all(|b| b.is_ascii_digit())
                && generation.bytes().all(|b| b.is_ascii_digit()) =>
        {
            format!("obj/{number}")
        }
        _ => format!("stream@{stream}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streams_dictionary_and_object_number_are_found_before_it() {
        let pdf =
            b"1 0 obj\n<< /Length 3 /Filter /FlateDecode /D << /X 1 >> >>\nstream\nabc\nendstream";
        let start = memmem::find(pdf, b"stream").unwrap();
        let (dictionary, from) = dictionary_before(pdf, start).unwrap();
        assert!(dictionary.starts_with(b"<< /Length"), "{dictionary:?}");
        assert!(dictionary.ends_with(b">> >>"));
        assert_eq!(object_name(pdf, from, start), "obj/1");
    }

    #[test]
    fn a_stream_without_a_dictionary_is_not_a_stream() {
        let text = b"some text mentioning a stream\nof words";
        let start = memmem::find(text, b"stream").unwrap();
        assert!(dictionary_before(text, start).is_none());
    }
}
