// Airlock's default ruleset, compiled into ingest and sweep.
//
// Every rule here works on the raw bytes (magic numbers, strings), with no module,
// so it runs in a few microseconds per kilobyte and needs nothing but the engine.
// External variables describe the item, so a rule can weigh what the bytes are
// against what the uploader claimed. Containers (zip, tar, gzip, PDF streams, OLE…)
// are opened and every member is scanned too, with its own values:
//   declared_type  the content type given when the upload was created (for members
//                  too: the upload's)
//   file_name      the name given when the upload was created; a member's own name
//   filename       the same (LOKI's and THOR's name for it)
//   filepath       the path through the containers: a.zip!/dir/b.txt for a member,
//                  the upload's name for the upload (so `filepath contains "!/"`
//                  tells a member)
//   extension      of the name, lower case, with its dot: .exe
//   filetype       the type the magic bytes say (application/pdf for a PDF's decoded
//                  streams, which are PDF syntax without a header)
//   owner          the tenant
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
        // A member is judged by its own name alone: the declared type is the upload's.
        (Airlock_Is_PE or Airlock_Is_ELF or Airlock_Is_MachO) and not (
            (filepath contains "!/" or declared_type matches /^application\/(octet-stream|x-(ms)?dos-?executable|x-msdownload|vnd\.microsoft\.portable-executable|x-executable|x-elf|x-sharedlib|x-mach[a-z-]*)$/) and
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
        // Names may hide letters as #xx escapes (/J#61vaScript): the scanner decodes
        // them and scans the document again as a member, so these strings see them.
    condition:
        // The header within the first KiB, read directly rather than searched for:
        // a string would be matched (and its matches kept) all through the file. A
        // decoded stream of a PDF (a member) has no header of its own: its filetype
        // says what it came from.
        any of them and
        (filetype == "application/pdf" or
         for any i in (0..1024) : (uint32be(i) == 0x25504446 and uint8(i + 4) == 0x2D))
}
