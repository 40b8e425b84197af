//! Deployment rules that import YARA-X's file-format modules, as community rule
//! collections do: a build without them refuses such a file whole.
#![allow(clippy::unwrap_used)]

use airlock_domain::ports::RuleFile;
use airlock_scan::{Subject, compile};
use airlock_testkit::scanning::{self, scan_as};

/// A minimal valid PE32 image, built field by field: a DOS header pointing at the
/// NT headers, a COFF header for one section, a PE32 optional header, one `.text`
/// section header, and the section's 512 bytes of raw data.
fn pe_with_one_section() -> Vec<u8> {
    let mut image = vec![0u8; 0x400];
    let put16 = |image: &mut Vec<u8>, at: usize, value: u16| {
        image[at..at + 2].copy_from_slice(&value.to_le_bytes());
    };
    let put32 = |image: &mut Vec<u8>, at: usize, value: u32| {
        image[at..at + 4].copy_from_slice(&value.to_le_bytes());
    };
    // DOS header: magic, and e_lfanew (where the NT headers start).
    image[..2].copy_from_slice(b"MZ");
    put32(&mut image, 0x3C, 0x40);
    // NT signature and COFF file header.
    image[0x40..0x44].copy_from_slice(b"PE\0\0");
    let coff = 0x44;
    put16(&mut image, coff, 0x014C); // Machine: i386
    put16(&mut image, coff + 2, 1); // NumberOfSections
    put16(&mut image, coff + 16, 0xE0); // SizeOfOptionalHeader
    put16(&mut image, coff + 18, 0x0102); // Characteristics: executable, 32-bit
    // PE32 optional header.
    let optional = coff + 20;
    put16(&mut image, optional, 0x010B); // Magic: PE32
    put32(&mut image, optional + 4, 0x200); // SizeOfCode
    put32(&mut image, optional + 16, 0x1000); // AddressOfEntryPoint
    put32(&mut image, optional + 20, 0x1000); // BaseOfCode
    put32(&mut image, optional + 28, 0x0040_0000); // ImageBase
    put32(&mut image, optional + 32, 0x1000); // SectionAlignment
    put32(&mut image, optional + 36, 0x200); // FileAlignment
    put16(&mut image, optional + 40, 4); // MajorOperatingSystemVersion
    put16(&mut image, optional + 48, 4); // MajorSubsystemVersion
    put32(&mut image, optional + 56, 0x2000); // SizeOfImage
    put32(&mut image, optional + 60, 0x200); // SizeOfHeaders
    put16(&mut image, optional + 68, 2); // Subsystem: Windows GUI
    put32(&mut image, optional + 92, 16); // NumberOfRvaAndSizes
    // The one section header, right after the optional header.
    let section = optional + 0xE0;
    image[section..section + 5].copy_from_slice(b".text");
    put32(&mut image, section + 8, 0x200); // VirtualSize
    put32(&mut image, section + 12, 0x1000); // VirtualAddress
    put32(&mut image, section + 16, 0x200); // SizeOfRawData
    put32(&mut image, section + 20, 0x200); // PointerToRawData
    put32(&mut image, section + 36, 0x6000_0020); // code, readable, executable
    image[0x200] = 0xC3; // ret
    image
}

const PE_RULE: &str = r#"
import "pe"

rule one_section_executable_named_as_a_document {
    condition:
        pe.is_pe and pe.number_of_sections == 1 and pe.sections[0].name == ".text"
        and filename matches /\.pdf$/
}
"#;

fn matched(bytes: &[u8], file_name: &str) -> Vec<String> {
    let rules = compile(
        &[RuleFile {
            name: "community.yar".into(),
            source: PE_RULE.into(),
        }],
        "v1",
    )
    .unwrap();
    assert!(rules.left_out().is_empty(), "{:?}", rules.left_out());
    let subject = Subject {
        declared_type: "application/pdf".into(),
        file_name: file_name.into(),
        owner: "acme".into(),
    };
    scanning::matched(scan_as(&rules, &subject, bytes))
}

#[test]
fn a_rule_file_importing_pe_compiles_and_matches_a_pe_built_in_the_test() {
    let hits = matched(&pe_with_one_section(), "invoice.pdf");
    assert_eq!(
        hits,
        ["community.one_section_executable_named_as_a_document"]
    );
}

#[test]
fn the_pe_rule_needs_both_the_parsed_pe_and_the_file_name() {
    assert!(matched(&pe_with_one_section(), "setup.exe").is_empty());
    let mut not_pe = pe_with_one_section();
    not_pe[0x40..0x44].copy_from_slice(b"XX\0\0");
    assert!(matched(&not_pe, "invoice.pdf").is_empty());
}

#[test]
fn rule_files_may_import_every_module_of_a_standard_build() {
    for module in [
        "pe", "elf", "macho", "dotnet", "lnk", "zip", "dex", "crx", "math", "hash", "string",
        "time", "cuckoo",
    ] {
        let rules = compile(
            &[RuleFile {
                name: "imports.yar".into(),
                source: format!("import \"{module}\"\nrule uses_{module} {{ condition: false }}"),
            }],
            "v1",
        )
        .unwrap();
        assert!(
            rules.left_out().is_empty(),
            "{module}: {:?}",
            rules.left_out()
        );
    }
}
