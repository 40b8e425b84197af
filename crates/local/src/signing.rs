//! HMAC-SHA256 keyed with raw bytes: what the local store's presigned URLs, the
//! stack's dev tokens and its per-purpose key derivation all sign with.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A fresh HMAC-SHA256 under `key`, ready for `update`.
pub fn hmac_sha256(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length (long ones are hashed first), so this cannot fail.
    Hmac::<Sha256>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("hmac takes keys of any length"))
}
