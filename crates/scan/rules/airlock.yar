// Airlock's default ruleset, compiled into ingest and sweep.
//
// Every rule here works on the raw bytes (magic numbers, strings), with no module,
// so it runs in a few microseconds per kilobyte and needs nothing but the engine.
// Two external variables describe the upload, so a rule can weigh what the bytes
// are against what the uploader claimed:
//   declared_type  the content type given when the upload was created
//   file_name      the name given when the upload was created
// A match makes the file INFECTED, unless the rule says `airlock_verdict = "reject"`:
// then the file is REJECTED (unwanted here, not malware), and a re-scan never turns
// an accepted file away for it.
// Each rule has a test file it must match and one it must not, in
// crates/scan/tests/ruleset.rs.

private rule Airlock_Is_PE {
    condition:
        filesize > 0x40 and uint16(0) == 0x5A4D and
        uint32(0x3C) < filesize - 4 and uint32(uint32(0x3C)) == 0x00004550
}

private rule Airlock_Is_ELF {
    condition:
        filesize > 0x34 and uint32(0) == 0x464C457F and uint8(4) >= 1 and uint8(4) <= 2
}

private rule Airlock_Is_MachO {
    condition:
        filesize > 0x1C and (
            uint32(0) == 0xFEEDFACE or uint32(0) == 0xFEEDFACF or
            uint32(0) == 0xCEFAEDFE or uint32(0) == 0xCFFAEDFE or
            // Universal binaries share 0xCAFEBABE with Java classes; a small
            // architecture count tells them apart.
            (uint32be(0) == 0xCAFEBABE and uint32be(4) > 0 and uint32be(4) < 20)
        )
}

rule EICAR_Test_File {
    meta:
        description = "The EICAR anti-malware test file: harmless, detected by every scanner"
    strings:
        $eicar = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
    condition:
        $eicar at 0 and filesize <= 128
}

rule Executable_Disguised {
    meta:
        description = "A Windows, Linux or macOS executable declared or named as something else"
        airlock_verdict = "reject"
    condition:
        (Airlock_Is_PE or Airlock_Is_ELF or Airlock_Is_MachO) and not (
            declared_type matches /^application\/(octet-stream|x-(ms)?dos-?executable|x-msdownload|vnd\.microsoft\.portable-executable|x-executable|x-elf|x-sharedlib|x-mach[a-z-]*)$/ and
            (file_name == "" or file_name matches /(^[^.]+|\.(exe|dll|sys|scr|com|elf|so|bin|out|dylib|app))$/i)
        )
}

rule Office_Document_With_Macros {
    meta:
        description = "An Office document that carries a VBA project (macros)"
    strings:
        // Office Open XML: the macro project is a part of the zip package.
        $ooxml_vba = "vbaProject.bin" nocase
        // Legacy OLE compound files name the project stream in UTF-16.
        $ole_vba = "_VBA_PROJECT" wide
        $ole_macros = "Macros" wide
    condition:
        (uint32(0) == 0x04034B50 and $ooxml_vba) or
        (uint32be(0) == 0xD0CF11E0 and uint32be(4) == 0xA1B11AE1 and ($ole_vba or $ole_macros))
}

rule PDF_With_Active_Content {
    meta:
        description = "A PDF that runs JavaScript or launches a program when opened"
    strings:
        $javascript = "/JavaScript"
        $js = /\/JS[\s\(<\[\/]/
        $launch = "/Launch"
        // Names may hide letters as #xx escapes: /J#61vaScript, /L#61unch. Only the
        // first letters are matched: a tail of any length would let an uploader make
        // every match as long as the file.
        $escaped = /\/((J|#[46][aA])(a|#[46]1)(v|#[57]6)|(L|#[46][cC])(a|#[46]1)(u|#[57]5)n)/
    condition:
        // The header within the first KiB, read directly rather than searched for:
        // a string would be matched (and its matches kept) all through the file.
        any of them and
        for any i in (0..1024) : (uint32be(i) == 0x25504446 and uint8(i + 4) == 0x2D)
}

rule Archive_Nested_Deep {
    meta:
        description = "A zip that nests archives three or more levels deep (visible when stored)"
        airlock_verdict = "reject"
        limitation = "Nesting inside compressed entries is not visible to a byte scan"
    strings:
        // A local file header (30 bytes) whose entry name ends in an archive extension.
        $archive_entry = /PK\x03\x04[\x00-\xff]{26}[^\x00\/]{0,200}\.(zip|jar|7z|rar|gz|tgz|bz2|xz|tar|cab)/ nocase
    condition:
        uint32(0) == 0x04034B50 and #archive_entry >= 3
}
