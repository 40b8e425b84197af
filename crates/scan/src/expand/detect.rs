//! Tells containers by their magic bytes, never by their names: a renamed archive is
//! opened all the same, and a file named `.zip` that is not one is only bytes.

/// A format the walker can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// Zip, and the formats built on it (OOXML, ODF, JAR, APK).
    Zip,
    /// A gzip stream (one or more members, as `gzip` writes them).
    Gzip,
    /// A bzip2 stream.
    Bzip2,
    /// An xz stream.
    Xz,
    /// A zstd frame.
    Zstd,
    /// A POSIX (ustar, pax) or GNU tar archive.
    Tar,
    /// A PDF document, whose encoded streams are its members.
    Pdf,
    /// An OLE compound file (legacy Office: doc, xls, ppt, msg), whose streams are
    /// its members.
    Ole,
}

/// Where tar's magic sits in its first header.
const TAR_MAGIC_AT: usize = 257;

/// How far into a file `%PDF-` may start (readers tolerate leading junk).
const PDF_HEADER_WITHIN: usize = 1024;

/// The container `bytes` start as, if any.
pub fn container_of(bytes: &[u8]) -> Option<Container> {
    let starts = |magic: &[u8]| bytes.starts_with(magic);
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Some(Container::Zip)
    } else if starts(&[0x1F, 0x8B, 0x08]) {
        Some(Container::Gzip)
    } else if starts(b"BZh") && bytes.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        Some(Container::Bzip2)
    } else if starts(&[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        Some(Container::Xz)
    } else if starts(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Some(Container::Zstd)
    } else if starts(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some(Container::Ole)
    } else if bytes.get(TAR_MAGIC_AT..TAR_MAGIC_AT + 5) == Some(b"ustar") {
        Some(Container::Tar)
    } else if memchr::memmem::find(&bytes[..bytes.len().min(PDF_HEADER_WITHIN)], b"%PDF-").is_some()
    {
        Some(Container::Pdf)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_are_told_by_their_magic_bytes() {
        assert_eq!(container_of(b"PK\x03\x04rest"), Some(Container::Zip));
        assert_eq!(container_of(&[0x1F, 0x8B, 0x08, 0]), Some(Container::Gzip));
        assert_eq!(container_of(b"BZh91AY"), Some(Container::Bzip2));
        assert_eq!(container_of(b"BZhx"), None);
        assert_eq!(container_of(b"%PDF-1.7\n"), Some(Container::Pdf));
        let mut tar = vec![0u8; 512];
        tar[257..263].copy_from_slice(b"ustar\0");
        assert_eq!(container_of(&tar), Some(Container::Tar));
        assert_eq!(container_of(b"just text"), None);
        assert_eq!(container_of(b""), None);
    }
}
