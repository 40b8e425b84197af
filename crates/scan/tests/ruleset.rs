//! The default ruleset, rule by rule: each has a file it must match and one it must
//! not. The samples are built here from their formats' magic numbers, so no live
//! malware (and no EICAR file that would upset a developer's own scanner) is kept in
//! the repository.
#![allow(clippy::unwrap_used)]

use airlock_domain::ScanReport;
use airlock_scan::{
    BUILTIN_RULES, ScanSettings, Spooled, Subject, compile, scanner::scan_blocking,
};
use airlock_testkit::{
    samples::{EICAR_RULE, PNG, eicar, elf},
    scanning,
};

fn matched(bytes: &[u8], declared_type: &str, file_name: &str) -> Vec<String> {
    let rules = compile(&[], "none").unwrap();
    let subject = Subject {
        declared_type: declared_type.into(),
        file_name: file_name.into(),
        ..Subject::default()
    };
    let report = scanning::scan_as(&rules, &subject, bytes);
    match report {
        ScanReport::Scanned {
            mut matched,
            flagged,
            ..
        } => {
            matched.extend(flagged);
            matched
        }
        other => panic!("not scanned: {other:?}"),
    }
}

fn hits(rule: &str, bytes: &[u8], declared_type: &str, file_name: &str) -> bool {
    matched(bytes, declared_type, file_name).contains(&format!("airlock.{rule}"))
}

fn pe() -> Vec<u8> {
    let mut bytes = vec![0u8; 512];
    bytes[..2].copy_from_slice(b"MZ");
    bytes[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    bytes[0x80..0x84].copy_from_slice(b"PE\0\0");
    bytes
}

fn mach_o() -> Vec<u8> {
    let mut bytes = 0xFEED_FACFu32.to_le_bytes().to_vec();
    bytes.resize(256, 0);
    bytes
}

fn java_class() -> Vec<u8> {
    let mut bytes = b"\xCA\xFE\xBA\xBE\x00\x00\x00\x34".to_vec();
    bytes.resize(256, 0);
    bytes
}

/// A zip of stored (uncompressed) entries: local headers and data only, which is all
/// a byte scanner reads.
fn stored_zip(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = Vec::new();
    for (name, data) in entries {
        zip.extend_from_slice(b"PK\x03\x04\x14\0\0\0\0\0\0\0\0\0\0\0\0\0");
        zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(data.len() as u32).to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes());
        zip.extend_from_slice(name.as_bytes());
        zip.extend_from_slice(data);
    }
    zip.extend_from_slice(b"PK\x05\x06");
    zip.resize(zip.len() + 18, 0);
    zip
}

fn ole(streams: &str) -> Vec<u8> {
    let mut bytes = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    bytes.resize(512, 0);
    for unit in streams.encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    bytes.resize(1024, 0);
    bytes
}

#[test]
fn eicar_is_detected_at_the_start_of_a_small_file_only() {
    assert!(hits("EICAR_Test_File", &eicar(), "text/plain", "eicar.com"));
    let mut padded = eicar();
    padded.extend_from_slice(b"\r\n");
    assert!(hits("EICAR_Test_File", &padded, "text/plain", "eicar.txt"));
    let mut quoted = b"the signature is ".to_vec();
    quoted.extend(eicar());
    assert!(!hits("EICAR_Test_File", &quoted, "text/plain", "notes.txt"));
}

#[test]
fn executables_declared_as_something_else_are_detected() {
    assert!(hits(
        "Executable_Disguised",
        &elf(256),
        "image/png",
        "cat.png"
    ));
    assert!(hits(
        "Executable_Disguised",
        &pe(),
        "application/pdf",
        "invoice.pdf"
    ));
    assert!(hits(
        "Executable_Disguised",
        &mach_o(),
        "text/plain",
        "readme.txt"
    ));
}

#[test]
fn executables_named_as_documents_are_detected_even_when_declared_as_binary() {
    assert!(hits(
        "Executable_Disguised",
        &pe(),
        "application/octet-stream",
        "invoice.pdf"
    ));
}

#[test]
fn executables_that_say_what_they_are_pass() {
    assert!(!hits(
        "Executable_Disguised",
        &pe(),
        "application/vnd.microsoft.portable-executable",
        "setup.exe"
    ));
    assert!(!hits(
        "Executable_Disguised",
        &elf(256),
        "application/octet-stream",
        "tool"
    ));
    assert!(!hits(
        "Executable_Disguised",
        &mach_o(),
        "application/x-mach-binary",
        "app.dylib"
    ));
}

#[test]
fn a_java_class_is_not_mistaken_for_a_universal_binary() {
    assert!(!hits(
        "Executable_Disguised",
        &java_class(),
        "image/png",
        "a.png"
    ));
}

#[test]
fn office_documents_with_a_vba_project_are_detected() {
    let docm = stored_zip(&[
        ("[Content_Types].xml", b"<Types/>".to_vec()),
        ("word/vbaProject.bin", ole("_VBA_PROJECT")),
    ]);
    assert!(hits(
        "Office_Document_With_Macros",
        &docm,
        "application/octet-stream",
        "a.docm"
    ));
    assert!(hits(
        "Office_Document_With_Macros",
        &ole("_VBA_PROJECT"),
        "application/msword",
        "a.doc"
    ));
}

#[test]
fn office_documents_without_macros_pass() {
    let docx = stored_zip(&[
        ("[Content_Types].xml", b"<Types/>".to_vec()),
        ("word/document.xml", b"<w:document/>".to_vec()),
    ]);
    assert!(!hits(
        "Office_Document_With_Macros",
        &docx,
        "application/octet-stream",
        "a.docx"
    ));
    assert!(!hits(
        "Office_Document_With_Macros",
        &ole("WordDocument"),
        "application/msword",
        "a.doc"
    ));
}

#[test]
fn pdfs_with_javascript_or_a_launch_action_are_detected() {
    let js = b"%PDF-1.7\n1 0 obj << /OpenAction << /S /JavaScript /JS (app.alert(1)) >> >>\n";
    let launch = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /Launch /F (cmd.exe) >> >>\n";
    let escaped = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /J#61vaScript >> >>\n";
    let all_escaped = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /#4a#61#76aScript >> >>\n";
    let escaped_launch = b"%PDF-1.4\n1 0 obj << /OpenAction << /S /#4Ca#75nch >> >>\n";
    for pdf in [
        &js[..],
        &launch[..],
        &escaped[..],
        &all_escaped[..],
        &escaped_launch[..],
    ] {
        assert!(
            hits("PDF_With_Active_Content", pdf, "application/pdf", "a.pdf"),
            "{}",
            String::from_utf8_lossy(pdf)
        );
    }
}

#[test]
fn plain_pdfs_and_text_about_javascript_pass() {
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\n%%EOF\n";
    assert!(!hits(
        "PDF_With_Active_Content",
        pdf,
        "application/pdf",
        "a.pdf"
    ));
    let text = b"A note on /JavaScript and /Launch in PDF files.";
    assert!(!hits(
        "PDF_With_Active_Content",
        text,
        "text/plain",
        "a.txt"
    ));
}

#[test]
fn policy_rules_flag_and_malware_rules_match() {
    let rules = compile(&[], "none").unwrap();
    let scan = |bytes: &[u8], declared: &str| {
        scan_blocking(
            &rules,
            &Spooled::Memory(bytes.to_vec()),
            &Subject {
                declared_type: declared.into(),
                file_name: "x.png".into(),
                ..Subject::default()
            },
            ScanSettings::default(),
        )
        .unwrap()
    };
    let ScanReport::Scanned {
        matched, flagged, ..
    } = scan(&elf(256), "image/png")
    else {
        panic!()
    };
    assert!(matched.is_empty());
    assert_eq!(flagged, ["airlock.Executable_Disguised"]);
    let ScanReport::Scanned {
        matched, flagged, ..
    } = scan(&eicar(), "text/plain")
    else {
        panic!()
    };
    assert_eq!(matched, [EICAR_RULE]);
    assert!(flagged.is_empty());
}

#[test]
fn ordinary_files_match_no_rule() {
    assert!(matched(b"name,size\nreport,1\n", "text/csv", "a.csv").is_empty());
    assert!(matched(PNG, "image/png", "a.png").is_empty());
}

#[test]
fn every_rule_in_the_default_set_is_tested_here() {
    let tested = include_str!("ruleset.rs");
    for line in BUILTIN_RULES.lines().filter(|l| l.starts_with("rule ")) {
        let name = line
            .trim_start_matches("rule ")
            .split_whitespace()
            .next()
            .unwrap();
        assert!(
            tested.matches(&format!("\"{name}\"")).count() >= 2,
            "rule {name} needs a test that it matches and one that it does not"
        );
    }
}

#[test]
fn objects_spooled_to_disk_are_scanned_from_the_file() {
    let rules = airlock_scan::compile(
        &[airlock_domain::ports::RuleFile {
            name: "tail.yar".into(),
            source: r#"rule tail_marker { strings: $a = "TAIL-MARKER" condition: $a }"#.into(),
        }],
        "t",
    )
    .unwrap();
    let mut spool = airlock_scan::Spool::new(64 * 1024, u64::MAX);
    for _ in 0..64 {
        spool.push(&[b'.'; 16 * 1024]).unwrap();
    }
    spool.push(b"TAIL-MARKER").unwrap();
    let spooled = spool.finish().unwrap();
    assert!(matches!(spooled, Spooled::Disk(_)));
    let report = scanning::scan_bytes_alone(&rules, &spooled);
    assert_eq!(scanning::matched(report), ["tail.tail_marker"]);
}
