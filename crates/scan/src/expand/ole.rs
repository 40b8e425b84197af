//! OLE compound files (legacy Office: doc, xls, ppt; Outlook msg; a vbaProject.bin
//! inside OOXML): each stream is a member, read through the `cfb` crate, so the VBA
//! project's streams (`_VBA_PROJECT_CUR/VBA/…`) are scanned on their own; and each
//! macro module's source, decompressed ([`super::vba`]), is a member of its stream
//! (`…/VBA/Module1!/source.vba`).

use std::{
    io::{Cursor, Read},
    path::{Path, PathBuf},
};

use super::{Level, Member, Walker, vba};
use crate::ScanError;

/// The most one module's decompressed source may be; a real one is kilobytes.
const MAX_SOURCE_BYTES: usize = 64 << 20;

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
    for stream_path in &streams {
        let name = stream_path.to_string_lossy().into_owned();
        let stream = match file.open_stream(stream_path) {
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
            return Ok(());
        }
    }
    for dir in vba_dirs(&streams) {
        if walk_macros(walker, &mut file, dir, level)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// The `dir` streams of the VBA projects among `streams` (`…/VBA/dir`).
fn vba_dirs(streams: &[PathBuf]) -> impl Iterator<Item = &Path> {
    streams.iter().map(PathBuf::as_path).filter(|path| {
        let named = |p: Option<&std::ffi::OsStr>, name: &str| {
            p.is_some_and(|p| p.to_string_lossy().eq_ignore_ascii_case(name))
        };
        named(path.file_name(), "dir") && named(path.parent().and_then(Path::file_name), "VBA")
    })
}

/// Hands the walker the decompressed source of every module the project at `dir`
/// lists. A project that cannot be read is named as not scanned (its streams were
/// scanned as they are, above).
fn walk_macros<F: Read + std::io::Seek>(
    walker: &mut Walker<'_, '_>,
    file: &mut cfb::CompoundFile<F>,
    dir: &Path,
    level: &Level<'_>,
) -> Result<std::ops::ControlFlow<()>, ScanError> {
    let damaged = |walker: &mut Walker<'_, '_>, at: &Path, detail: String| {
        walker.not_scanned(airlock_domain::SkipReason::ArchiveCorrupt {
            path: level.path_of(&at.to_string_lossy()),
            detail,
        });
    };
    let modules = match read_stream(file, dir)
        .and_then(|raw| vba::decompress(&raw, MAX_SOURCE_BYTES).map_err(|e| e.to_string()))
        .and_then(|listing| vba::modules(&listing).map_err(|e| e.to_string()))
    {
        Ok(modules) => modules,
        Err(detail) => {
            damaged(walker, dir, format!("VBA project: {detail}"));
            return Ok(std::ops::ControlFlow::Continue(()));
        }
    };
    let storage = dir.parent().unwrap_or(dir);
    for module in modules {
        let stream = storage.join(&module.stream);
        let source = read_stream(file, &stream).and_then(|raw| {
            let compressed = raw
                .get(module.offset..)
                .ok_or("source offset past the stream")?;
            vba::decompress(compressed, MAX_SOURCE_BYTES).map_err(|e| e.to_string())
        });
        let source = match source {
            Ok(source) => source,
            Err(detail) => {
                damaged(walker, &stream, format!("VBA module: {detail}"));
                continue;
            }
        };
        let name = format!("{}!/source.vba", stream.to_string_lossy());
        let member = Member {
            name: &name,
            compressed: None,
            filetype: None,
        };
        if walker
            .member(level, member, Cursor::new(source))?
            .is_break()
        {
            return Ok(std::ops::ControlFlow::Break(()));
        }
    }
    Ok(std::ops::ControlFlow::Continue(()))
}

/// A whole stream; OLE streams live inside the file, which is in memory already.
fn read_stream<F: Read + std::io::Seek>(
    file: &mut cfb::CompoundFile<F>,
    path: &Path,
) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    file.open_stream(path)
        .and_then(|mut stream| stream.read_to_end(&mut bytes))
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}
