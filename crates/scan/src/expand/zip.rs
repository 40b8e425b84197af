//! Zip members (stored, deflate, deflate64, bzip2, zstd, xz; zip64 sizes), through
//! the `zip` crate. OOXML and ODF documents are zips, so `xl/vbaProject.bin` is a
//! member like any other.

use std::io::Cursor;

use airlock_domain::SkipReason;

use super::{Level, Member, Walker};
use crate::ScanError;

/// What the central directory says of one entry.
struct Entry {
    name: String,
    compressed: u64,
    encrypted: bool,
    is_dir: bool,
}

/// Walks every file entry of the zip in `bytes`.
pub fn walk(walker: &mut Walker<'_, '_>, bytes: &[u8], level: &Level<'_>) -> Result<(), ScanError> {
    let mut archive = match ::zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(archive) => archive,
        Err(error) => {
            walker.not_scanned(level.corrupt(error));
            return Ok(());
        }
    };
    for index in 0..archive.len() {
        let entry = match archive.by_index_raw(index) {
            Ok(file) => Entry {
                name: file
                    .name()
                    .map_or_else(|_| format!("#{index}"), |name| name.into_owned()),
                compressed: file.compressed_size(),
                encrypted: file.encrypted(),
                is_dir: file.is_dir(),
            },
            Err(error) => {
                walker.not_scanned(level.corrupt(error));
                return Ok(());
            }
        };
        if entry.is_dir {
            continue;
        }
        if entry.encrypted {
            walker.not_scanned(SkipReason::ArchiveEncrypted {
                path: level.path_of(&entry.name),
            });
            continue;
        }
        let file = match archive.by_index(index) {
            Ok(file) => file,
            Err(error) => {
                walker.not_scanned(SkipReason::ArchiveCorrupt {
                    path: level.path_of(&entry.name),
                    detail: error.to_string(),
                });
                continue;
            }
        };
        let member = Member {
            name: &entry.name,
            compressed: Some(entry.compressed),
            filetype: None,
        };
        if walker.member(level, member, file)?.is_break() {
            break;
        }
    }
    Ok(())
}
