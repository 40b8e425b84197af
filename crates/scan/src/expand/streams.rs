//! Single-stream compressors: gzip (`flate2`), bzip2 (`bzip2`), xz (`lzma-rust2`) and
//! zstd (`zstd`). Each holds one member, named after its container without the
//! compressor's extension (`logs.tar.gz!/logs.tar`), and subject to the ratio budget.

use std::io::{self, Cursor, Read};

use super::{Container, Level, Member, Walker};
use crate::ScanError;

/// The memory an xz stream may ask of its decoder: 64 MiB, what `xz -9` needs.
const XZ_MEMORY_KIB: u32 = 64 * 1024;

/// Decompresses the one member of `bytes`.
pub fn walk(
    walker: &mut Walker<'_, '_>,
    container: Container,
    bytes: &[u8],
    level: &Level<'_>,
) -> Result<(), ScanError> {
    let reader = match decoder(container, bytes) {
        Ok(reader) => reader,
        Err(error) => {
            walker.not_scanned(level.corrupt(error));
            return Ok(());
        }
    };
    let name = member_name(level.path);
    let member = Member {
        name: &name,
        compressed: Some(bytes.len() as u64),
        filetype: None,
    };
    // The only member: whether the walk may go on concerns no sibling.
    let _ = walker.member(level, member, reader)?;
    Ok(())
}

fn decoder<'a>(container: Container, bytes: &'a [u8]) -> io::Result<Box<dyn Read + 'a>> {
    let input = Cursor::new(bytes);
    Ok(match container {
        Container::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Container::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(input)),
        Container::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            input,
            true,
            XZ_MEMORY_KIB,
        )),
        _ => Box::new(zstd::stream::read::Decoder::new(input)?),
    })
}

/// `a/logs.tar.gz` → `logs.tar`, `x.tgz` → `x.tar`, `data` → `data.out`.
fn member_name(container_path: &str) -> String {
    let name = container_path
        .rsplit(['/', '!'])
        .next()
        .unwrap_or(container_path);
    let lower = name.to_ascii_lowercase();
    for (suffix, replacement) in [
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".txz", ".tar"),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
        (".zst", ""),
    ] {
        if lower.ends_with(suffix) && lower.len() > suffix.len() {
            return format!("{}{replacement}", &name[..name.len() - suffix.len()]);
        }
    }
    format!("{name}.out")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compressed_member_is_named_after_its_container() {
        assert_eq!(member_name("logs.tar.gz"), "logs.tar");
        assert_eq!(member_name("a.zip!/x.TGZ"), "x.tar");
        assert_eq!(member_name("a.zip!/dir/notes.txt.zst"), "notes.txt");
        assert_eq!(member_name("upload"), "upload.out");
        assert_eq!(member_name(".gz"), ".gz.out");
    }
}
