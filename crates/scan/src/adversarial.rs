//! Inputs an uploader controls that push the default rules towards their worst case
//! (issue 19, "uploader-controlled scan time"), and community-style rule sets of any
//! size: the rules benchmark (`make bench`, section `rules`) and the scan crate's
//! regression test both build them here, so they measure the same thing.
//!
//! Each input repeats, for its whole length, what makes one default rule's patterns
//! or conditions work hardest: the magic numbers its conditions read, the atoms its
//! strings start with, the prefixes its regular expressions must extend.

/// A named adversarial input.
#[derive(Debug, Clone)]
pub struct Adversary {
    /// What it repeats.
    pub name: &'static str,
    /// The default rule it aims at.
    pub target: &'static str,
    /// The input itself, `len` bytes long as asked of [`inputs`].
    pub bytes: Vec<u8>,
}

/// `unit` repeated to `len` bytes, after `head` (the magic number that makes the
/// rule's condition look at the rest).
fn repeated(head: &[u8], unit: &[u8], len: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(len + unit.len());
    bytes.extend_from_slice(head);
    while bytes.len() < len {
        bytes.extend_from_slice(unit);
    }
    bytes.truncate(len);
    bytes
}

/// Every adversarial input, each `len` bytes long.
pub fn inputs(len: usize) -> Vec<Adversary> {
    let eicar = [
        r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR",
        "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat();
    let wide = |text: &str| -> Vec<u8> { text.bytes().flat_map(|b| [b, 0]).collect() };
    let ole_head = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
    let mut pe_head = vec![0u8; 0x48];
    pe_head[..2].copy_from_slice(b"MZ");
    pe_head[0x3C..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    pe_head[0x40..0x44].copy_from_slice(b"PE\0\0");
    let mut local_header = b"PK\x03\x04".to_vec();
    local_header.resize(30, b'A');
    local_header.extend_from_slice(&[b'a'; 190]);
    vec![
        Adversary {
            name: "repeated EICAR strings",
            target: "EICAR_Test_File",
            bytes: repeated(b"", eicar.as_bytes(), len),
        },
        Adversary {
            name: "repeated executable magic",
            target: "Executable_Disguised",
            bytes: repeated(&pe_head, b"MZ\x7fELF\xCF\xFA\xED\xFE", len),
        },
        Adversary {
            name: "repeated PDF headers",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"", b"%PDF-", len),
        },
        Adversary {
            name: "repeated /JavaScript fragments",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"%PDF-1.7\n", b"/JavaScript/JS(/JS</Launch", len),
        },
        Adversary {
            name: "repeated /JS names",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"%PDF-1.7\n", b"/JS/", len),
        },
        Adversary {
            name: "repeated #xx escapes",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"%PDF-1.7\n", b"/J#61#76#61#53#63#72#69#70#74", len),
        },
        Adversary {
            name: "escape prefixes with long name runs",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"%PDF-1.7\n/J#61v", b"aZ09#", len),
        },
        Adversary {
            name: "partial escapes",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"%PDF-1.7\n", b"/#4a#61#7/#4c#61#75", len),
        },
        Adversary {
            name: "escapes outside any name",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"%PDF-1.7\n(", b"#41", len),
        },
        Adversary {
            name: "one name of escapes",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"%PDF-1.7\n/", b"#4a#61#76", len),
        },
        Adversary {
            name: "repeated zip VBA names",
            target: "Office_Document_With_Macros",
            bytes: repeated(b"PK\x03\x04", b"vbaProject.bin VBAPROJECT.BIN ", len),
        },
        Adversary {
            name: "repeated OLE macro names",
            target: "Office_Document_With_Macros",
            bytes: repeated(
                ole_head,
                &[wide("_VBA_PROJECT"), wide("Macros")].concat(),
                len,
            ),
        },
        Adversary {
            name: "repeated zip local headers",
            target: "Archive_Nested_Deep",
            bytes: repeated(b"", &local_header, len),
        },
        Adversary {
            name: "repeated zip signatures",
            target: "Archive_Nested_Deep",
            bytes: repeated(b"", b"PK\x03\x04", len),
        },
        Adversary {
            name: "one byte",
            target: "PDF_With_Active_Content",
            bytes: repeated(b"", b"/", len),
        },
    ]
}

/// `count` rules in the style of community collections: text and hex strings with
/// wildcards and jumps, a bounded regular expression, and conditions on the `pe`
/// module, file size and string counts. Each rule is distinct, so nothing can be
/// shared between them.
pub fn community_style_rules(count: usize) -> String {
    let mut source = String::from("import \"pe\"\n\n");
    for i in 0..count {
        let family = i % 4;
        let condition = match family {
            0 => format!(
                "uint16(0) == 0x5A4D and pe.number_of_sections > {} and 2 of them",
                i % 7
            ),
            1 => format!("filesize < {}KB and any of them", 100 + i % 900),
            2 => format!("pe.is_pe and ($a or $c) and #b > {}", i % 3),
            _ => "all of them".to_owned(),
        };
        source.push_str(&format!(
            "rule community_{i} {{\n  meta:\n    author = \"bench\"\n    id = {i}\n  strings:\n    \
             $a = \"family-{i}-marker\" ascii wide nocase\n    \
             $b = {{ 4D 5A ?? ?? {:02X} {:02X} [2-8] {:02X} }}\n    \
             $c = /payload-{i}-[a-z]{{4,16}}\\.(exe|dll)/\n  condition:\n    {condition}\n}}\n\n",
            i % 256,
            (i / 256) % 256,
            (i * 7) % 256,
        ));
    }
    source
}
