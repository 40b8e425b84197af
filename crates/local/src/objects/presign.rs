//! Presigned URLs: signing them for the api, and checking them as the local server
//! receives them, so it refuses what S3 would refuse.

use std::collections::BTreeMap;

use airlock_domain::{
    ContentType, FileName, ObjectKey, Sha256Hex, Timestamp,
    ports::{ObjectPresigner, PartToSign, PresignedRequest, StoreError, UploadToSign},
};
use hmac::{Hmac, Mac};
use percent_encoding::{NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use sha2::Sha256;

use super::FsObjectStore;
use crate::GrantError;

pub(super) const EXPIRES: &str = "X-Airlock-Expires";
pub(super) const LENGTH: &str = "X-Airlock-Length";
pub(super) const TYPE: &str = "X-Airlock-Type";
pub(super) const FILENAME: &str = "X-Airlock-Filename";
pub(super) const SIGNATURE: &str = "X-Airlock-Signature";
pub(super) const SIGNED_HEADERS: &str = "X-Airlock-SignedHeaders";
pub(super) const UPLOAD: &str = "X-Airlock-Upload";
pub(super) const PART: &str = "X-Airlock-Part";
pub(super) const CHECKSUM: &str = "X-Airlock-Checksum";
/// The headers an upload's signature covers; the server refuses a PUT without them.
pub(super) const UPLOAD_SIGNED_HEADERS: &str = "content-length;content-type;host;if-none-match";
/// The headers a part's signature covers.
pub(super) const PART_SIGNED_HEADERS: &str = "content-length;host;x-amz-checksum-sha256";
/// The query parameters a download may override the stored headers with (S3's names).
pub const RESPONSE_OVERRIDES: [&str; 3] = [
    "response-content-type",
    "response-content-encoding",
    "response-content-disposition",
];

/// What a verified presigned request allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    /// A PUT of exactly `length` bytes of `content_type`.
    Upload {
        /// The object key.
        key: String,
        /// Bytes the body must have.
        length: u64,
        /// The `content-type` header the request must carry.
        content_type: String,
    },
    /// A PUT of one part of a multipart upload.
    Part(PartGrant),
    /// A GET, saved under `file_name`.
    Download {
        /// The object key.
        key: String,
        /// The name for `content-disposition`.
        file_name: String,
        /// The signed `response-*` overrides (header name without the prefix, value).
        overrides: BTreeMap<String, String>,
    },
}

/// A PUT of one part of a multipart upload: exactly `length` bytes whose SHA-256 is
/// `sha256`, sent with that digest in `x-amz-checksum-sha256`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartGrant {
    /// The object key.
    pub key: String,
    /// The upload the part belongs to.
    pub upload_id: String,
    /// The part's number.
    pub number: u32,
    /// Bytes the body must have.
    pub length: u64,
    /// The digest the body must hash to.
    pub sha256: Sha256Hex,
}

impl PartGrant {
    /// Whether the `x-amz-checksum-sha256` a request carries is the signed one (S3
    /// refuses a request whose checksum header differs from what it signed).
    pub fn signed_checksum(&self, sent: Option<&str>) -> bool {
        sent == Some(self.sha256.to_base64().as_str())
    }
}

impl FsObjectStore {
    /// Signs a request; the signature covers every parameter that limits it.
    fn sign(&self, parts: &[&str]) -> String {
        let mut mac = self.mac();
        mac.update(parts.join("\n").as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    fn mac(&self) -> Hmac<Sha256> {
        crate::hmac_sha256(&self.inner.signing_key)
    }

    /// Checks a presigned request as the local server receives it: method, key (still
    /// percent-encoded as in the path) and query string.
    pub fn verify(
        &self,
        method: &str,
        key: &str,
        query: &str,
        now: Timestamp,
    ) -> Result<Grant, GrantError> {
        let params = parse_query(query);
        let param = |name: &'static str| {
            params
                .get(name)
                .map(String::as_str)
                .ok_or(GrantError::Malformed(name))
        };
        let expires = param(EXPIRES)?;
        let expires_at: i64 = expires
            .parse()
            .map_err(|_| GrantError::Malformed(EXPIRES))?;
        let signature =
            hex::decode(param(SIGNATURE)?).map_err(|_| GrantError::Malformed(SIGNATURE))?;
        let overrides: BTreeMap<String, String> = RESPONSE_OVERRIDES
            .iter()
            .filter_map(|name| {
                let value = params.get(*name)?;
                Some((
                    name.trim_start_matches("response-").to_owned(),
                    value.clone(),
                ))
            })
            .collect();
        let (parts, grant) = match method {
            "PUT" if params.contains_key(PART) => {
                let (upload_id, number, length, checksum) = (
                    param(UPLOAD)?,
                    param(PART)?,
                    param(LENGTH)?,
                    param(CHECKSUM)?,
                );
                if param(SIGNED_HEADERS)? != PART_SIGNED_HEADERS {
                    return Err(GrantError::Malformed(SIGNED_HEADERS));
                }
                let grant = Grant::Part(PartGrant {
                    key: key.to_owned(),
                    upload_id: upload_id.to_owned(),
                    number: number.parse().map_err(|_| GrantError::Malformed(PART))?,
                    length: length.parse().map_err(|_| GrantError::Malformed(LENGTH))?,
                    sha256: Sha256Hex::from_base64(checksum)
                        .map_err(|_| GrantError::Malformed(CHECKSUM))?,
                });
                let parts = vec![
                    "PART",
                    key,
                    expires,
                    upload_id,
                    number,
                    length,
                    checksum,
                    PART_SIGNED_HEADERS,
                ];
                (parts, grant)
            }
            "PUT" => {
                let length = param(LENGTH)?;
                let content_type = param(TYPE)?;
                if param(SIGNED_HEADERS)? != UPLOAD_SIGNED_HEADERS {
                    return Err(GrantError::Malformed(SIGNED_HEADERS));
                }
                let grant = Grant::Upload {
                    key: key.to_owned(),
                    length: length.parse().map_err(|_| GrantError::Malformed(LENGTH))?,
                    content_type: content_type.to_owned(),
                };
                (
                    vec![
                        "PUT",
                        key,
                        expires,
                        length,
                        content_type,
                        UPLOAD_SIGNED_HEADERS,
                    ],
                    grant,
                )
            }
            "GET" | "HEAD" => {
                let file_name = param(FILENAME)?;
                let mut parts = vec!["GET", key, expires, file_name];
                parts.extend(overrides.values().map(String::as_str));
                let grant = Grant::Download {
                    key: key.to_owned(),
                    file_name: file_name.to_owned(),
                    overrides: overrides.clone(),
                };
                (parts, grant)
            }
            _ => return Err(GrantError::Malformed("method")),
        };
        let mut mac = self.mac();
        mac.update(parts.join("\n").as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| GrantError::BadSignature)?;
        if now.timestamp() >= expires_at {
            return Err(GrantError::Expired);
        }
        Ok(grant)
    }

    fn url(&self, key: &str, params: &[(&str, &str)]) -> String {
        let query: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, NON_ALPHANUMERIC)))
            .collect();
        format!("{}/objects/{key}?{}", self.inner.base_url, query.join("&"))
    }
}

impl FsObjectStore {
    /// A presigned PUT of one part; the signature pins the upload, the number, the
    /// length and the digest (sent back by the client as `x-amz-checksum-sha256`).
    pub(super) fn sign_part(
        &self,
        part: PartToSign<'_>,
        expires_at: Timestamp,
    ) -> PresignedRequest {
        let key = &part.key.to_string();
        let expires = expires_at.timestamp().to_string();
        let (number, length) = (part.number.to_string(), part.length.to_string());
        let checksum = part.sha256.to_base64();
        let signature = self.sign(&[
            "PART",
            key,
            &expires,
            part.upload_id,
            &number,
            &length,
            &checksum,
            PART_SIGNED_HEADERS,
        ]);
        let url = self.url(
            key,
            &[
                (EXPIRES, &expires),
                (UPLOAD, part.upload_id),
                (PART, &number),
                (LENGTH, &length),
                (CHECKSUM, &checksum),
                (SIGNED_HEADERS, PART_SIGNED_HEADERS),
                (SIGNATURE, &signature),
            ],
        );
        PresignedRequest {
            url,
            method: "PUT",
            headers: PresignedRequest::part_headers(part.length, part.sha256),
            expires_at,
        }
    }
}

// Stricter than `airlock_domain::form`: a pair without `=` or with a value that is
// not UTF-8 is dropped rather than kept lossily, so `verify` reports that parameter
// as missing, the error the stack's object server has always given.
fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter_map(|(k, v)| {
            let spaced = v.replace('+', " ");
            let value = percent_decode_str(&spaced).decode_utf8().ok()?.into_owned();
            Some((k.to_owned(), value))
        })
        .collect()
}

impl ObjectPresigner for FsObjectStore {
    async fn presign_upload(
        &self,
        upload: UploadToSign<'_>,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let (key, content_type) = (upload.key.to_string(), upload.content_type);
        let expires = expires_at.timestamp().to_string();
        let length = upload.size.to_string();
        let signature = self.sign(&[
            "PUT",
            &key,
            &expires,
            &length,
            content_type.as_str(),
            UPLOAD_SIGNED_HEADERS,
        ]);
        let url = self.url(
            &key,
            &[
                (EXPIRES, &expires),
                (LENGTH, &length),
                (TYPE, content_type.as_str()),
                (SIGNED_HEADERS, UPLOAD_SIGNED_HEADERS),
                (SIGNATURE, &signature),
            ],
        );
        Ok(PresignedRequest {
            url,
            method: "PUT",
            headers: PresignedRequest::upload_headers(content_type, upload.size),
            expires_at,
        })
    }

    async fn presign_download(
        &self,
        key: &ObjectKey,
        _version: Option<&str>,
        file_name: &FileName,
        content_type: &ContentType,
        expires_at: Timestamp,
    ) -> Result<PresignedRequest, StoreError> {
        let key = key.to_string();
        let expires = expires_at.timestamp().to_string();
        let disposition = file_name.content_disposition();
        // In the order verify() reads them back (sorted by name).
        let overrides = [
            ("response-content-disposition", disposition.as_str()),
            ("response-content-encoding", "identity"),
            ("response-content-type", content_type.as_str()),
        ];
        let mut parts = vec!["GET", key.as_str(), &expires, file_name.as_str()];
        parts.extend(overrides.iter().map(|(_, value)| *value));
        let signature = self.sign(&parts);
        let mut params = vec![(EXPIRES, expires.as_str()), (FILENAME, file_name.as_str())];
        params.extend(overrides);
        params.push((SIGNATURE, &signature));
        let url = self.url(&key, &params);
        Ok(PresignedRequest {
            url,
            method: "GET",
            headers: BTreeMap::new(),
            expires_at,
        })
    }
}
