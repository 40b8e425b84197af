//! Tar members (ustar, pax and GNU, long names included), through the `tar` crate.
//! Only regular files are members; links, directories and devices hold no bytes.

use std::io::Cursor;

use super::{Level, Member, Walker};
use crate::ScanError;

/// Walks every regular file of the tar in `bytes`.
pub fn walk(walker: &mut Walker<'_, '_>, bytes: &[u8], level: &Level<'_>) -> Result<(), ScanError> {
    let mut archive = ::tar::Archive::new(Cursor::new(bytes));
    let entries = match archive.entries() {
        Ok(entries) => entries,
        Err(error) => {
            walker.not_scanned(level.corrupt(error));
            return Ok(());
        }
    };
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(error) => {
                walker.not_scanned(level.corrupt(error));
                return Ok(());
            }
        };
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let member = Member {
            name: &name,
            compressed: None,
            filetype: None,
        };
        if walker.member(level, member, entry)?.is_break() {
            break;
        }
    }
    Ok(())
}
