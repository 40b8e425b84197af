//! Containers are opened and every member scanned: each format with EICAR inside,
//! nestings with the finding's path, Office and PDF documents, and every budget
//! breached by name. Every sample is built here (EICAR from its string), none is
//! kept in the repository.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};

use airlock_domain::{ArchiveLimits, Members, ScanReport, SkipReason};
use airlock_scan::{
    Reach, ScanSettings, Spooled, Subject, compile,
    scanner::{scan_blocking, scan_within},
};
use airlock_testkit::samples::{EICAR_RULE, eicar, zip_with};
use zip::{CompressionMethod, write::SimpleFileOptions};

fn subject(name: &str) -> Subject {
    Subject {
        declared_type: "application/octet-stream".into(),
        file_name: name.into(),
        owner: "tenant-a".into(),
    }
}

fn scan(bytes: &[u8], name: &str) -> ScanReport {
    let rules = compile(&[], "none").unwrap();
    let spooled = Spooled::Memory(bytes.to_vec());
    scan_blocking(&rules, &spooled, &subject(name), ScanSettings::default()).unwrap()
}

fn scan_limited(bytes: &[u8], name: &str, archives: ArchiveLimits) -> ScanReport {
    let rules = compile(&[], "none").unwrap();
    let spooled = Spooled::Memory(bytes.to_vec());
    let reach = Reach {
        archives,
        member_limit: u64::MAX,
    };
    scan_within(
        &rules,
        &spooled,
        &subject(name),
        ScanSettings::default(),
        reach,
    )
    .unwrap()
}

/// Where `rule` matched, `-` for the upload itself.
fn places(report: &ScanReport, rule: &str) -> Vec<String> {
    let ScanReport::Scanned { hits, .. } = report else {
        panic!("not scanned: {report:?}");
    };
    hits.iter()
        .filter(|hit| hit.rule == rule)
        .map(|hit| hit.path.clone().unwrap_or_else(|| "-".into()))
        .collect()
}

fn members(report: &ScanReport) -> Members {
    let ScanReport::Scanned { members, .. } = report else {
        panic!("not scanned: {report:?}");
    };
    members
        .clone()
        .expect("the upload was opened as a container")
}

fn assert_eicar_at(report: &ScanReport, path: &str) {
    assert_eq!(places(report, EICAR_RULE), [path], "{report:?}");
    let ScanReport::Scanned { matched, .. } = report else {
        unreachable!()
    };
    assert_eq!(matched, &[EICAR_RULE]);
    assert_eq!(members(report).unscanned, [], "{report:?}");
}

fn zip(entries: &[(&str, &[u8])], method: CompressionMethod) -> Vec<u8> {
    zip_with(
        entries,
        SimpleFileOptions::default().compression_method(method),
    )
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn bzip2(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn xz(bytes: &[u8]) -> Vec<u8> {
    let options = lzma_rust2::XzOptions::with_preset(6);
    let mut writer = lzma_rust2::XzWriter::new(Vec::new(), options).unwrap();
    writer.write_all(bytes).unwrap();
    writer.finish().unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 3).unwrap()
}

#[derive(Clone, Copy)]
enum TarFormat {
    Ustar,
    Pax,
    Gnu,
}

fn tar(entries: &[(&str, &[u8])], format: TarFormat) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, bytes) in entries {
        let mut header = match format {
            TarFormat::Gnu => tar::Header::new_gnu(),
            TarFormat::Ustar | TarFormat::Pax => tar::Header::new_ustar(),
        };
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        if let TarFormat::Pax = format {
            builder
                .append_pax_extensions([("path", name.as_bytes())])
                .unwrap();
            header.set_path("pax-placeholder").unwrap();
            header.set_cksum();
            builder.append(&header, *bytes).unwrap();
        } else {
            builder.append_data(&mut header, name, *bytes).unwrap();
        }
    }
    builder.into_inner().unwrap()
}

#[test]
fn eicar_inside_a_stored_zip_is_found_with_its_path() {
    let archive = zip(
        &[("readme.txt", b"hello"), ("eicar.com", &eicar())],
        CompressionMethod::Stored,
    );
    let report = scan(&archive, "a.zip");
    assert_eicar_at(&report, "a.zip!/eicar.com");
    assert_eq!(members(&report).scanned, 2);
}

#[test]
fn eicar_inside_a_deflated_zip_is_found() {
    let archive = zip(&[("dir/eicar.txt", &eicar())], CompressionMethod::Deflated);
    assert_eicar_at(&scan(&archive, "a.zip"), "a.zip!/dir/eicar.txt");
}

#[test]
fn eicar_inside_a_bzip2_zip_is_found() {
    let archive = zip(&[("eicar.txt", &eicar())], CompressionMethod::Bzip2);
    assert_eicar_at(&scan(&archive, "b.zip"), "b.zip!/eicar.txt");
}

#[test]
fn eicar_inside_a_zstd_zip_is_found() {
    let archive = zip(&[("eicar.txt", &eicar())], CompressionMethod::Zstd);
    assert_eicar_at(&scan(&archive, "z.zip"), "z.zip!/eicar.txt");
}

#[test]
fn eicar_inside_a_zip64_entry_is_found() {
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .large_file(true);
    let archive = zip_with(&[("eicar.txt", &eicar())], options);
    assert_eicar_at(&scan(&archive, "big.zip"), "big.zip!/eicar.txt");
}

#[test]
fn eicar_inside_gzip_bzip2_xz_and_zstd_streams_is_found_whatever_the_name() {
    let payload = eicar();
    for (bytes, name, path) in [
        (gzip(&payload), "e.txt.gz", "e.txt.gz!/e.txt"),
        (bzip2(&payload), "e.txt.bz2", "e.txt.bz2!/e.txt"),
        (xz(&payload), "e.txt.xz", "e.txt.xz!/e.txt"),
        (zstd(&payload), "e.txt.zst", "e.txt.zst!/e.txt"),
        (
            gzip(&payload),
            "innocent.pdf",
            "innocent.pdf!/innocent.pdf.out",
        ),
    ] {
        assert_eicar_at(&scan(&bytes, name), path);
    }
}

#[test]
fn eicar_inside_ustar_pax_and_gnu_tars_is_found() {
    let long = format!("{}/eicar.txt", "deep-directory-name".repeat(8));
    for format in [TarFormat::Ustar, TarFormat::Pax, TarFormat::Gnu] {
        let name = if matches!(format, TarFormat::Ustar) {
            "x/eicar.txt"
        } else {
            &long
        };
        let archive = tar(&[("notes.txt", b"hi"), (name, &eicar())], format);
        assert_eicar_at(&scan(&archive, "t.tar"), &format!("t.tar!/{name}"));
    }
}

#[test]
fn eicar_in_a_tar_gz_is_found_through_both_layers() {
    let archive = gzip(&tar(&[("bin/eicar.com", &eicar())], TarFormat::Ustar));
    let report = scan(&archive, "release.tar.gz");
    assert_eicar_at(&report, "release.tar.gz!/release.tar!/bin/eicar.com");
    assert_eq!(members(&report).scanned, 2);
}

#[test]
fn eicar_in_a_zip_in_a_zip_names_both() {
    let inner = zip(&[("eicar.txt", &eicar())], CompressionMethod::Deflated);
    let outer = zip(&[("2026/inner.zip", &inner)], CompressionMethod::Deflated);
    assert_eicar_at(
        &scan(&outer, "outer.zip"),
        "outer.zip!/2026/inner.zip!/eicar.txt",
    );
}

#[test]
fn eicar_in_a_gz_in_a_tar_in_a_zip_names_every_layer() {
    let tarball = tar(&[("logs/e.txt.gz", &gzip(&eicar()))], TarFormat::Gnu);
    let outer = zip(&[("backup.tar", &tarball)], CompressionMethod::Deflated);
    assert_eicar_at(
        &scan(&outer, "all.zip"),
        "all.zip!/backup.tar!/logs/e.txt.gz!/e.txt",
    );
}

/// An OLE compound file with a VBA project's streams, as Office writes them.
fn vba_project() -> Vec<u8> {
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_storage("/VBA").unwrap();
    let mut stream = file.create_stream("/VBA/_VBA_PROJECT").unwrap();
    stream.write_all(&[0xCC, 0x61, 0xFF, 0xFF, 0x00]).unwrap();
    drop(stream);
    let mut module = file.create_stream("/VBA/Module1").unwrap();
    module
        .write_all(b"Attribute VB_Name = \"Module1\"\r\nSub AutoOpen()\r\nEnd Sub\r\n")
        .unwrap();
    drop(module);
    file.flush().unwrap();
    file.into_inner().into_inner()
}

#[test]
fn a_macro_project_inside_an_xlsm_inside_a_zip_is_found_with_its_path() {
    let workbook = zip(
        &[
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/workbook.xml", b"<workbook/>"),
            ("xl/vbaProject.bin", &vba_project()),
        ],
        CompressionMethod::Deflated,
    );
    let outer = zip(&[("2026/q1.xlsm", &workbook)], CompressionMethod::Deflated);
    let report = scan(&outer, "invoices.zip");
    let found = places(&report, "airlock.Office_Document_With_Macros");
    assert!(
        found.contains(&"invoices.zip!/2026/q1.xlsm!/xl/vbaProject.bin".to_owned()),
        "{found:?}"
    );
    assert!(
        found.contains(&"invoices.zip!/2026/q1.xlsm".to_owned()),
        "{found:?}"
    );
    // The OLE file's own streams are members too.
    assert_eq!(members(&report).scanned, 1 + 3 + 2);
}

#[test]
fn an_ole_documents_streams_are_scanned_as_members() {
    let rules = compile(
        &[airlock_domain::ports::RuleFile {
            name: "vba.yar".into(),
            source: r#"rule autoopen { strings: $a = "Attribute VB_" $b = "AutoOpen" condition: $a at 0 and $b and filepath contains "!/VBA/" }"#.into(),
        }],
        "t",
    )
    .unwrap();
    let spooled = Spooled::Memory(vba_project());
    let report = scan_blocking(
        &rules,
        &spooled,
        &subject("old.xls"),
        ScanSettings::default(),
    )
    .unwrap();
    assert_eq!(places(&report, "vba.autoopen"), ["old.xls!/VBA/Module1"]);
    assert_eq!(
        places(&report, "airlock.Office_Document_With_Macros"),
        ["-"]
    );
}

#[test]
fn one_scan_timeout_covers_every_member_so_a_walk_past_it_stops_and_says_so() {
    let names: Vec<String> = (0..50).map(|n| format!("part-{n}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"text"[..])).collect();
    let archive = zip(&entries, CompressionMethod::Stored);
    let rules = compile(&[], "none").unwrap();
    // The walk's whole budget is gone by the time the first member comes up.
    let settings = ScanSettings {
        timeout: std::time::Duration::from_nanos(1),
        ..ScanSettings::default()
    };
    let report = scan_blocking(
        &rules,
        &Spooled::Memory(archive),
        &subject("many.zip"),
        settings,
    )
    .unwrap();
    let members = members(&report);
    assert_eq!(members.scanned, 0, "{report:?}");
    assert_eq!(
        members.unscanned,
        vec![SkipReason::ScanTimedOut { after_secs: 0 }]
    );
}

/// MS-OVBA compression with literal tokens only (valid, if no smaller): a flag byte
/// of zeros before every eight bytes, in chunks of 4096.
fn ovba_compress(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x01];
    for chunk in data.chunks(4096) {
        let mut tokens = Vec::new();
        for group in chunk.chunks(8) {
            tokens.push(0x00);
            tokens.extend_from_slice(group);
        }
        let header = 0xB000 | (tokens.len() as u16 + 2 - 3);
        out.extend_from_slice(&header.to_le_bytes());
        out.extend(tokens);
    }
    out
}

/// A legacy Word document's macro project as Office lays it out: `Macros/VBA/dir`
/// (compressed records naming each module's stream and where its source starts) and
/// `Macros/VBA/Module1` (compiled p-code, then the compressed source). `dir` replaces
/// the real directory when given.
fn word_document_with_macro(source: &str, dir: Option<Vec<u8>>) -> Vec<u8> {
    let record = |id: u16, data: &[u8]| {
        let mut bytes = id.to_le_bytes().to_vec();
        bytes.extend((data.len() as u32).to_le_bytes());
        bytes.extend(data);
        bytes
    };
    let pcode = [0xCCu8; 37];
    let mut listing = record(0x0001, &1u32.to_le_bytes());
    listing.extend(record(0x0003, &1252u16.to_le_bytes()));
    listing.extend(record(0x0004, b"Project"));
    listing.extend([0x09, 0x00, 0x04, 0x00, 0x00, 0x00, 1, 0, 0, 0, 2, 0]);
    listing.extend(record(0x000f, &1u16.to_le_bytes()));
    listing.extend(record(0x0013, &0xffffu16.to_le_bytes()));
    listing.extend(record(0x0019, b"Module1"));
    listing.extend(record(0x001a, b"Module1"));
    listing.extend(record(0x0031, &(pcode.len() as u32).to_le_bytes()));
    listing.extend(record(0x0021, &[]));
    listing.extend(record(0x002b, &[]));
    listing.extend(record(0x0010, &[]));
    let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    file.create_storage("/Macros").unwrap();
    file.create_storage("/Macros/VBA").unwrap();
    let mut stream = file.create_stream("/WordDocument").unwrap();
    stream.write_all(b"\xec\xa5 a document").unwrap();
    drop(stream);
    let mut stream = file.create_stream("/Macros/VBA/dir").unwrap();
    stream
        .write_all(&dir.unwrap_or_else(|| ovba_compress(&listing)))
        .unwrap();
    drop(stream);
    let mut module = file.create_stream("/Macros/VBA/Module1").unwrap();
    module.write_all(&pcode).unwrap();
    module.write_all(&ovba_compress(source.as_bytes())).unwrap();
    drop(module);
    file.flush().unwrap();
    file.into_inner().into_inner()
}

#[test]
fn a_macro_modules_source_is_decompressed_so_rules_see_the_code_not_its_compressed_form() {
    let rules = compile(
        &[airlock_domain::ports::RuleFile {
            name: "macros.yar".into(),
            source: r#"rule autoopen_shell { strings: $a = "Sub AutoOpen()" $b = "powershell -enc" condition: $a and $b and extension == ".vba" }"#.into(),
        }],
        "t",
    )
    .unwrap();
    let document = word_document_with_macro(
        "Attribute VB_Name = \"Module1\"\r\nSub AutoOpen()\r\n  Shell(\"powershell -enc SQBFAFgA\")\r\nEnd Sub\r\n",
        None,
    );
    let report = scan_blocking(
        &rules,
        &Spooled::Memory(document),
        &subject("letter.doc"),
        ScanSettings::default(),
    )
    .unwrap();
    assert_eq!(
        places(&report, "macros.autoopen_shell"),
        ["letter.doc!/Macros/VBA/Module1!/source.vba"]
    );
    assert!(members(&report).unscanned.is_empty(), "{report:?}");
}

#[test]
fn a_macro_project_that_cannot_be_read_is_named_as_not_scanned() {
    let damaged = word_document_with_macro("Sub AutoOpen()", Some(vec![0x01, 0x05, 0xB0, 0x01]));
    let report = scan(&damaged, "letter.doc");
    assert_eq!(
        members(&report).unscanned,
        vec![SkipReason::ArchiveCorrupt {
            path: "letter.doc!/Macros/VBA/dir".into(),
            detail: "VBA project: truncated".into(),
        }]
    );
}

fn pdf_with_object_stream(script: &[u8]) -> Vec<u8> {
    let mut objects = b"5 0 << /Type /Action /S ".to_vec();
    objects.extend_from_slice(script);
    objects.extend_from_slice(b" >>");
    let mut deflated = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    deflated.write_all(&objects).unwrap();
    let deflated = deflated.finish().unwrap();
    let mut pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /OpenAction 5 0 R >>\nendobj\n".to_vec();
    pdf.extend_from_slice(
        format!(
            "12 0 obj\n<< /Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length {} >>\nstream\n",
            deflated.len()
        )
        .as_bytes(),
    );
    pdf.extend_from_slice(&deflated);
    pdf.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
    pdf
}

#[test]
fn javascript_in_a_pdfs_flate_object_stream_is_found_in_that_object() {
    let report = scan(
        &pdf_with_object_stream(b"/JavaScript /JS (app.alert(1))"),
        "doc.pdf",
    );
    assert_eq!(
        places(&report, "airlock.PDF_With_Active_Content"),
        ["doc.pdf!/obj/12"]
    );
    let clean = scan(&pdf_with_object_stream(b"/GoTo /D [1 0 R]"), "doc.pdf");
    assert_eq!(
        places(&clean, "airlock.PDF_With_Active_Content"),
        Vec::<String>::new()
    );
    assert_eq!(members(&clean).scanned, 1);
}

#[test]
fn a_pdf_stream_through_hex_and_flate_is_decoded_in_order() {
    let mut deflated = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    deflated.write_all(b"<< /S /JavaScript >>").unwrap();
    let hex: String = deflated
        .finish()
        .unwrap()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let pdf =
        format!("%PDF-1.4\n7 0 obj\n<< /Filter [/AHx /Fl] >>\nstream\n{hex}>\nendstream\nendobj\n");
    assert_eq!(
        places(
            &scan(pdf.as_bytes(), "x.pdf"),
            "airlock.PDF_With_Active_Content"
        ),
        ["x.pdf!/obj/7"]
    );
}

#[test]
fn a_container_nested_past_the_depth_budget_is_named_not_opened() {
    let mut nested = zip(&[("eicar.txt", &eicar())], CompressionMethod::Deflated);
    for level in ["3.zip", "2.zip"] {
        nested = zip(&[(level, &nested)], CompressionMethod::Deflated);
    }
    let limits = ArchiveLimits {
        max_depth: 2,
        ..ArchiveLimits::default()
    };
    let report = scan_limited(&nested, "1.zip", limits);
    assert_eq!(places(&report, EICAR_RULE), Vec::<String>::new());
    assert_eq!(
        members(&report).unscanned,
        [SkipReason::ArchiveTooDeep {
            path: "1.zip!/2.zip!/3.zip".into(),
            limit: 2
        }]
    );
    // Within the default depth the same file is opened to the bottom.
    assert_eicar_at(&scan(&nested, "1.zip"), "1.zip!/2.zip!/3.zip!/eicar.txt");
}

#[test]
fn members_past_the_member_budget_are_named_and_the_rest_skipped() {
    let archive = zip(
        &[("a.txt", b"1"), ("b.txt", b"2"), ("c.txt", b"3")],
        CompressionMethod::Stored,
    );
    let limits = ArchiveLimits {
        max_members: 2,
        ..ArchiveLimits::default()
    };
    let tally = members(&scan_limited(&archive, "m.zip", limits));
    assert_eq!(tally.scanned, 2);
    assert_eq!(
        tally.unscanned,
        [SkipReason::ArchiveTooManyMembers {
            path: "m.zip!/c.txt".into(),
            limit: 2
        }]
    );
}

#[test]
fn expansion_past_the_total_budget_is_named_and_stops_the_walk() {
    let data = vec![b'a'; 4000];
    let archive = zip(
        &[("one.txt", &data), ("two.txt", &data)],
        CompressionMethod::Deflated,
    );
    let limits = ArchiveLimits {
        max_expanded_bytes: 5000,
        ..ArchiveLimits::default()
    };
    let tally = members(&scan_limited(&archive, "e.zip", limits));
    assert_eq!(tally.scanned, 2);
    assert_eq!(
        tally.unscanned,
        [SkipReason::ArchiveExpansionLimit {
            path: "e.zip!/two.txt".into(),
            limit: 5000
        }]
    );
}

#[test]
fn a_zip_bomb_of_zeros_breaks_the_ratio_budget() {
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let bomb = zip(&[("zeros.bin", &zeros)], CompressionMethod::Deflated);
    let report = scan(&bomb, "bomb.zip");
    assert_eq!(
        members(&report).unscanned,
        [SkipReason::ArchiveRatioLimit {
            path: "bomb.zip!/zeros.bin".into(),
            limit: 1000
        }]
    );
}

#[test]
fn an_encrypted_member_is_named_not_passed() {
    let options = SimpleFileOptions::default().with_aes_encryption(zip::AesMode::Aes256, "secret");
    let archive = zip_with(&[("eicar.txt", &eicar())], options);
    let tally = members(&scan(&archive, "locked.zip"));
    assert_eq!(tally.scanned, 0);
    assert_eq!(
        tally.unscanned,
        [SkipReason::ArchiveEncrypted {
            path: "locked.zip!/eicar.txt".into()
        }]
    );
}

#[test]
fn an_encrypted_pdf_is_named_not_read_as_damaged() {
    let mut pdf = pdf_with_object_stream(b"/GoTo");
    pdf.extend_from_slice(b"trailer\n<< /Root 1 0 R /Encrypt 9 0 R >>\n");
    let tally = members(&scan(&pdf, "locked.pdf"));
    assert_eq!(
        tally.unscanned,
        [SkipReason::ArchiveEncrypted {
            path: "locked.pdf".into()
        }]
    );
}

#[test]
fn a_truncated_archive_is_named_corrupt() {
    let archive = gzip(&tar(&[("a.txt", &vec![b'x'; 100_000])], TarFormat::Ustar));
    let truncated = &archive[..archive.len() / 2];
    let tally = members(&scan(truncated, "cut.tar.gz"));
    assert!(
        matches!(
            tally.unscanned.as_slice(),
            [SkipReason::ArchiveCorrupt { path, .. }] if path == "cut.tar.gz!/cut.tar"
        ),
        "{tally:?}"
    );
    let zip_archive = zip(&[("a.txt", b"hello")], CompressionMethod::Deflated);
    let tally = members(&scan(&zip_archive[..zip_archive.len() - 10], "cut.zip"));
    assert!(
        matches!(tally.unscanned.as_slice(), [SkipReason::ArchiveCorrupt { path, .. }] if path == "cut.zip"),
        "{tally:?}"
    );
}

#[test]
fn a_clean_archive_stays_clean_with_its_members_counted() {
    let inner = tar(
        &[("a.txt", b"alpha"), ("b.csv", b"x,y\n1,2\n")],
        TarFormat::Pax,
    );
    let archive = zip(
        &[("docs/readme.md", b"# hi"), ("data.tar.gz", &gzip(&inner))],
        CompressionMethod::Deflated,
    );
    let report = scan(&archive, "clean.zip");
    let ScanReport::Scanned {
        matched, flagged, ..
    } = &report
    else {
        panic!()
    };
    assert!(matched.is_empty() && flagged.is_empty(), "{report:?}");
    let tally = members(&report);
    assert_eq!(tally.scanned, 5);
    assert_eq!(tally.unscanned, []);
    assert!(
        report
            .reasons(airlock_domain::Unscannable::Reject)
            .is_empty()
    );
}

#[test]
fn a_member_spilled_to_disk_is_scanned_from_its_file() {
    let mut big = vec![b'.'; 3 * 1024 * 1024];
    big.extend_from_slice(b"TAIL-MARKER");
    // Stored: dots deflate past the ratio budget.
    let archive = zip(&[("big.txt", &big)], CompressionMethod::Stored);
    let rules = compile(
        &[airlock_domain::ports::RuleFile {
            name: "tail.yar".into(),
            source: r#"rule tail { strings: $a = "TAIL-MARKER" condition: $a and filepath contains "!/" and extension == ".txt" and owner == "tenant-a" }"#.into(),
        }],
        "t",
    )
    .unwrap();
    let settings = ScanSettings {
        memory_budget: 1024 * 1024,
        ..ScanSettings::default()
    };
    let spooled = Spooled::Memory(archive);
    let report = scan_blocking(&rules, &spooled, &subject("big.zip"), settings).unwrap();
    assert_eq!(places(&report, "tail.tail"), ["big.zip!/big.txt"]);
}

#[test]
fn an_executable_inside_an_archive_is_judged_by_its_own_name() {
    let mut elf = vec![0x7F, b'E', b'L', b'F', 2, 1, 1, 0];
    elf.resize(64, 0);
    let archive = zip(
        &[("tool", &elf), ("invoice.pdf", &elf)],
        CompressionMethod::Stored,
    );
    let report = scan(&archive, "tools.zip");
    assert_eq!(
        places(&report, "airlock.Executable_Disguised"),
        ["tools.zip!/invoice.pdf"]
    );
}
