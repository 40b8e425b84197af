//! The JSON bodies of Airlock's public API, as `functions/api/openapi.json` documents
//! them: what the api function reads and writes, and what its clients
//! (`crates/client`, the `airlock` command) send and read back. One definition for
//! both sides, so a field renamed on one side cannot silently go missing on the other.
//!
//! Depends on the domain crate only (its validated types deserialize by validating),
//! so a client gets the wire format without the handler, the Lambda event types or
//! the scanner.

mod create;
mod file;
mod parts;
mod problem;
mod stack_file;

pub use create::CreateFileBody;
pub use file::{
    CreatedFile, DownloadView, FileList, FileView, PresignedView, UnscannedView, UsageView,
};
pub use parts::{
    MAX_PARTS_PER_REQUEST, MultipartView, PartList, PartToSign, PartsToSign, SignedPart,
    SignedParts, StoredPartView,
};
pub use problem::Problem;
pub use stack_file::{STACK_FILE_NAME, StackFile};

/// A JSON Schema `integer` as a whole number, or `refusal` as the error: numbers
/// written with a zero fraction or an exponent (`2048.0`, `2e3`) are the same whole
/// number; anything with a real fraction, negative, or past 2^53 is refused.
fn whole<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
    refusal: &'static str,
) -> Result<u64, D::Error> {
    use serde::Deserialize;
    const EXACT_IN_F64: f64 = 9_007_199_254_740_992.0;
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(whole) = number.as_u64() {
        return Ok(whole);
    }
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (0.0..=EXACT_IN_F64).contains(&f) => Ok(f as u64),
        _ => Err(serde::de::Error::custom(refusal)),
    }
}
