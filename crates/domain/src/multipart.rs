//! Multipart uploads: how a file too large for one PUT is cut into parts, and how
//! the parts a store holds are checked against that plan before they are joined.
//!
//! The numbers are S3's: at most 10,000 parts, each from 5 MiB to 5 GiB except the
//! last, which may be smaller; one PUT takes at most 5 GiB. A plan is fixed when the
//! upload is created and kept in the catalog, so a client that crashed can ask for it
//! again and send only the parts the store does not hold yet.

use std::fmt;

use serde::{Deserialize, Serialize};

const MIB: u64 = 1024 * 1024;

/// The smallest part S3 accepts (but for the last one).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// The most parts one upload may have.
pub const MAX_PARTS: u32 = 10_000;
/// The most one PUT may carry: a file past it must go in parts.
pub const MAX_SINGLE_PUT: u64 = 5 * 1024 * MIB;
/// The largest object a multipart plan can describe.
pub const MAX_MULTIPART_SIZE: u64 = MAX_PART_SIZE * MAX_PARTS as u64;

/// A SHA-256 digest as lower-case hex, the form records and the API write it in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Hex(String);

/// Not 64 hexadecimal digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a SHA-256 is 64 hexadecimal digits")]
pub struct NotASha256;

impl Sha256Hex {
    /// Accepts 64 hex digits in either case; keeps them lower case.
    pub fn parse(raw: &str) -> Result<Self, NotASha256> {
        if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(NotASha256)
        }
    }

    /// The digest as S3's checksum headers carry it: base64 of the 32 bytes.
    pub fn to_base64(&self) -> String {
        use base64::Engine as _;
        let bytes = hex::decode(&self.0).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// The digest from S3's base64 form, if it is one.
    pub fn from_base64(raw: &str) -> Result<Self, NotASha256> {
        use base64::Engine as _;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|_| NotASha256)?;
        if bytes.len() != 32 {
            return Err(NotASha256);
        }
        Ok(Self(hex::encode(bytes)))
    }

    /// The hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Sha256Hex {
    type Error = NotASha256;
    fn try_from(raw: String) -> Result<Self, NotASha256> {
        Self::parse(&raw)
    }
}

impl From<Sha256Hex> for String {
    fn from(hex: Sha256Hex) -> Self {
        hex.0
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A multipart upload as the catalog keeps it beside the file's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartUpload {
    /// The store's id of the upload.
    pub upload_id: String,
    /// Bytes in every part but the last.
    pub part_size: u64,
    /// How many parts make the file.
    pub part_count: u32,
}

/// A file of this size cannot be cut into parts S3 accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a file of {size} bytes cannot be sent in at most {MAX_PARTS} parts of at most {MAX_PART_SIZE} bytes"
)]
pub struct TooLargeForParts {
    /// The file's size.
    pub size: u64,
}

/// The part size for a file of `size` bytes: `preferred` (kept within S3's bounds)
/// unless that would need more than [`MAX_PARTS`] parts, then the smallest whole
/// number of MiB that fits.
pub fn part_size_for(size: u64, preferred: u64) -> Result<u64, TooLargeForParts> {
    if size > MAX_MULTIPART_SIZE {
        return Err(TooLargeForParts { size });
    }
    let fewest = size.div_ceil(u64::from(MAX_PARTS)).div_ceil(MIB) * MIB;
    Ok(preferred.max(fewest).clamp(MIN_PART_SIZE, MAX_PART_SIZE))
}

impl MultipartUpload {
    /// The plan for a file of `size` bytes under the store's `upload_id`.
    pub fn plan(
        upload_id: String,
        size: u64,
        preferred_part_size: u64,
    ) -> Result<Self, TooLargeForParts> {
        let part_size = part_size_for(size, preferred_part_size)?;
        let part_count = u32::try_from(size.div_ceil(part_size).max(1))
            .map_err(|_| TooLargeForParts { size })?;
        Ok(Self {
            upload_id,
            part_size,
            part_count,
        })
    }

    /// The bytes part `number` must have in a file of `size` bytes; `None` for a
    /// number outside `1..=part_count`.
    pub fn part_length(&self, number: u32, size: u64) -> Option<u64> {
        if number == 0 || number > self.part_count {
            return None;
        }
        let start = u64::from(number - 1) * self.part_size;
        Some((size - start).min(self.part_size))
    }

    /// Checks the parts a store holds against the plan for a file of `size` bytes:
    /// every number from 1 to `part_count`, each of its planned length, nothing else.
    pub fn check_parts(&self, size: u64, parts: &[StoredPart]) -> Result<(), PartsProblem> {
        let mut problem = PartsProblem::default();
        let mut seen = vec![false; self.part_count as usize];
        for part in parts {
            match self.part_length(part.number, size) {
                None => problem.unexpected.push(part.number),
                Some(length) if length != part.size => problem.wrong_length.push(WrongLength {
                    number: part.number,
                    expected: length,
                    stored: part.size,
                }),
                Some(_) => {}
            }
            if let Some(slot) = seen.get_mut((part.number as usize).wrapping_sub(1)) {
                *slot = true;
            }
        }
        problem.missing = (1..=self.part_count)
            .filter(|number| !seen[*number as usize - 1])
            .collect();
        if problem.is_empty() {
            Ok(())
        } else {
            Err(problem)
        }
    }
}

/// One part as a store holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPart {
    /// Its number, from 1.
    pub number: u32,
    /// Its bytes.
    pub size: u64,
    /// The store's ETag of the part, which completion names.
    pub etag: String,
    /// The part's SHA-256 as the store checked it on arrival; `None` where the
    /// store keeps none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256Hex>,
}

/// A part stored with another length than the plan gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrongLength {
    /// The part's number.
    pub number: u32,
    /// The length the plan gives it.
    pub expected: u64,
    /// The length stored.
    pub stored: u64,
}

/// Why the stored parts do not add up to the file, all of it at once so a client
/// can fix everything in one go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartsProblem {
    /// Numbers the plan has and the store does not.
    pub missing: Vec<u32>,
    /// Parts whose length is not the planned one.
    pub wrong_length: Vec<WrongLength>,
    /// Numbers past the plan.
    pub unexpected: Vec<u32>,
}

impl PartsProblem {
    fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.wrong_length.is_empty() && self.unexpected.is_empty()
    }
}

impl fmt::Display for PartsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut said = Vec::new();
        if !self.missing.is_empty() {
            said.push(format!("missing parts {}", ranges(&self.missing)));
        }
        for wrong in &self.wrong_length {
            said.push(format!(
                "part {} has {} bytes, not {}",
                wrong.number, wrong.stored, wrong.expected
            ));
        }
        if !self.unexpected.is_empty() {
            let numbers: Vec<_> = self.unexpected.iter().map(u32::to_string).collect();
            said.push(format!("parts past the plan: {}", numbers.join(", ")));
        }
        write!(
            f,
            "the stored parts do not add up to the file: {}",
            said.join("; ")
        )
    }
}

impl std::error::Error for PartsProblem {}

/// `1-3, 7, 9-10`: a long list of missing parts stays one readable line.
fn ranges(numbers: &[u32]) -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &n in numbers {
        match runs.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => runs.push((n, n)),
        }
    }
    runs.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(number: u32, size: u64) -> StoredPart {
        StoredPart {
            number,
            size,
            etag: format!("e{number}"),
            sha256: None,
        }
    }

    #[test]
    fn a_file_is_cut_into_parts_of_the_preferred_size_with_a_smaller_last_one() {
        let plan = MultipartUpload::plan("u".into(), 12 * MIB + 1, 5 * MIB).unwrap();
        assert_eq!((plan.part_size, plan.part_count), (5 * MIB, 3));
        assert_eq!(plan.part_length(1, 12 * MIB + 1), Some(5 * MIB));
        assert_eq!(plan.part_length(3, 12 * MIB + 1), Some(2 * MIB + 1));
        assert_eq!(plan.part_length(4, 12 * MIB + 1), None);
        assert_eq!(plan.part_length(0, 12 * MIB + 1), None);
    }

    #[test]
    fn parts_grow_so_that_the_largest_files_need_at_most_ten_thousand() {
        let size = 100 * 1024 * 1024 * MIB; // 100 TiB: past 10,000 parts of 5 GiB
        assert!(MultipartUpload::plan("u".into(), size, 8 * MIB).is_err());
        let size = 100 * 1024 * MIB; // 100 GiB
        let plan = MultipartUpload::plan("u".into(), size, 8 * MIB).unwrap();
        assert!(plan.part_count <= MAX_PARTS);
        assert_eq!(plan.part_size % MIB, 0);
        assert_eq!(plan.part_size, 11 * MIB);
        let plan = MultipartUpload::plan("u".into(), MAX_MULTIPART_SIZE, 8 * MIB).unwrap();
        assert_eq!(
            (plan.part_size, plan.part_count),
            (MAX_PART_SIZE, MAX_PARTS)
        );
    }

    #[test]
    fn a_preferred_size_below_s3s_minimum_is_raised_to_it() {
        assert_eq!(part_size_for(100 * MIB, 1), Ok(MIN_PART_SIZE));
    }

    #[test]
    fn parts_that_add_up_pass_and_every_flaw_is_named_at_once() {
        let size = 12 * MIB + 1;
        let plan = MultipartUpload::plan("u".into(), size, 5 * MIB).unwrap();
        let all = [part(1, 5 * MIB), part(2, 5 * MIB), part(3, 2 * MIB + 1)];
        assert_eq!(plan.check_parts(size, &all), Ok(()));
        let flawed = [part(2, 5 * MIB - 1), part(4, 1)];
        let problem = plan.check_parts(size, &flawed).unwrap_err();
        assert_eq!(problem.missing, vec![1, 3]);
        assert_eq!(problem.unexpected, vec![4]);
        assert_eq!(
            problem.to_string(),
            format!(
                "the stored parts do not add up to the file: missing parts 1, 3; part 2 has {} bytes, not {}; parts past the plan: 4",
                5 * MIB - 1,
                5 * MIB
            )
        );
    }

    #[test]
    fn a_sha256_is_kept_lower_case_and_round_trips_through_s3s_base64() {
        let upper = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
        let digest = Sha256Hex::parse(upper).unwrap();
        assert_eq!(digest.as_str(), upper.to_ascii_lowercase());
        assert_eq!(
            digest.to_base64(),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(Sha256Hex::from_base64(&digest.to_base64()), Ok(digest));
        assert_eq!(Sha256Hex::parse("abc"), Err(NotASha256));
        assert_eq!(Sha256Hex::parse(&"g".repeat(64)), Err(NotASha256));
        assert_eq!(Sha256Hex::from_base64("AAAA"), Err(NotASha256));
    }

    #[test]
    fn missing_runs_are_written_as_ranges() {
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), "1-3, 7, 9-10");
    }
}
