//! The bytes tests upload, and the zip archives they wrap them in. Each is the smallest that the type sniffer and the default
//! rules take for what it stands for; none is harmful, and the EICAR file is put
//! together when asked for so that no file in the repository is the test signature.

/// A valid 1×1 PNG (67 bytes).
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\x0f\x04\0\x09\xfb\x03\xfd\xe3U\xf2\x9c\0\0\0\0IEND\xaeB`\x82";

/// The start of a 64-bit little-endian x86-64 ELF executable (magic, class, data,
/// version, type EXEC, machine, version), padded with zeros to `len` bytes: the sniffer
/// calls it `application/x-executable` and the disguise rule sees an ELF.
pub fn elf(len: usize) -> Vec<u8> {
    let mut bytes = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0\x01\0\0\0".to_vec();
    bytes.resize(len.max(bytes.len()), 0);
    bytes
}

/// The EICAR anti-malware test file (68 bytes), from two halves so this source is not
/// itself the signature a developer's own scanner would flag.
pub fn eicar() -> Vec<u8> {
    [
        r"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR",
        "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*",
    ]
    .concat()
    .into_bytes()
}

/// The default rule that matches [`eicar`], as a scan report names it.
pub const EICAR_RULE: &str = "airlock.EICAR_Test_File";

/// A zip archive of `entries` (name, bytes), each written with `options`.
pub fn zip_with(entries: &[(&str, &[u8])], options: zip::write::SimpleFileOptions) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in entries {
        writer
            .start_file(*name, options)
            .expect("a member can be started in memory");
        writer
            .write_all(bytes)
            .expect("a member can be written to memory");
    }
    writer
        .finish()
        .expect("the archive can be finished in memory")
        .into_inner()
}

/// A zip archive of `entries` (name, bytes), deflated as zip tools do by default.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, zip::write::SimpleFileOptions::default())
}

/// `len` bytes that no rule matches and no compressor shrinks (xorshift64 output, the
/// same for every run), made as they are read, so a test can write a file far larger
/// than it could hold.
pub struct Varied {
    left: usize,
    state: u64,
}

impl Varied {
    /// `len` bytes of it.
    pub fn new(len: usize) -> Self {
        Self {
            left: len,
            state: 0x2545_F491_4F6C_DD1D,
        }
    }
}

impl std::io::Read for Varied {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left);
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            chunk.copy_from_slice(&self.state.to_le_bytes()[..chunk.len()]);
        }
        self.left -= n;
        Ok(n)
    }
}
