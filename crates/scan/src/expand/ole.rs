//! OLE compound files (legacy Office: doc, xls, ppt; Outlook msg): each stream is a
//! member, read through the `cfb` crate, so the VBA project's streams
//! (`_VBA_PROJECT_CUR/VBA/…`) are scanned on their own.

use std::{io::Cursor, path::PathBuf};

use super::{Level, Member, Walker};
use crate::ScanError;

/// Walks every stream of the compound file in `bytes`.
pub fn walk(walker: &mut Walker<'_, '_>, bytes: &[u8], level: &Level<'_>) -> Result<(), ScanError> {
    let mut file = match cfb::CompoundFile::open(Cursor::new(bytes)) {
        Ok(file) => file,
        Err(error) => {
            walker.not_scanned(level.corrupt(error));
            return Ok(());
        }
    };
    let streams: Vec<PathBuf> = file
        .walk()
        .filter(|entry| entry.is_stream())
        .map(|entry| entry.path().to_path_buf())
        .collect();
    for stream_path in streams {
        let name = stream_path.to_string_lossy().into_owned();
        let stream = match file.open_stream(&stream_path) {
            Ok(stream) => stream,
            Err(error) => {
                walker.not_scanned(airlock_domain::SkipReason::ArchiveCorrupt {
                    path: level.path_of(&name),
                    detail: error.to_string(),
                });
                continue;
            }
        };
        let member = Member {
            name: &name,
            compressed: None,
            filetype: None,
        };
        if walker.member(level, member, stream)?.is_break() {
            break;
        }
    }
    Ok(())
}
