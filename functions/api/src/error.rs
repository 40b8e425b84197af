//! Everything that can make a request fail, as one error type for this layer. Port
//! errors keep their source so the log shows the whole chain; which HTTP status each
//! variant becomes is decided in one place, [`crate::problem`].

use airlock_domain::{
    DomainError, FileStatus, Reason,
    ports::{CatalogError, LedgerError, StoreError},
};

/// Why a request was not served. The message is the problem's `detail` for client
/// errors, so it speaks to the client; server errors are only logged.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// No route has this path.
    #[error("{}", crate::problem::NO_ROUTE_DETAIL)]
    NoRoute,
    /// A route has this path, but not with this method.
    #[error("{method} is not allowed on this path; allowed: {allow}")]
    MethodNotAllowed {
        /// The method the client used.
        method: String,
        /// The methods the path does take, for the `allow` header.
        allow: String,
    },
    /// The authorizer passed no tenant claim (or no authorizer ran at all).
    #[error("the request carries no verified `{claim}` claim")]
    MissingTenant {
        /// The claim looked for.
        claim: String,
    },
    /// The tenant claim is present but is no valid tenant id.
    #[error("the `{claim}` claim is not a valid tenant id")]
    InvalidTenant {
        /// The claim looked at.
        claim: String,
        /// What is wrong with it.
        #[source]
        source: DomainError,
    },
    /// The body is larger than the API accepts.
    #[error("the request body has {size} bytes; at most {max} are accepted")]
    BodyTooLarge {
        /// Bytes sent (after base64 decoding).
        size: usize,
        /// The largest body accepted, in bytes (`Settings::max_body_bytes`).
        max: usize,
    },
    /// The gateway said the body was base64, and it was not.
    #[error("the request body is not valid base64")]
    BodyNotBase64(#[source] base64::DecodeError),
    /// The body is not JSON of the expected shape.
    #[error("the request body is not valid: {0}")]
    MalformedBody(#[source] serde_json::Error),
    /// A body field has the right type but an invalid value.
    #[error("{0}")]
    InvalidField(#[source] DomainError),
    /// A query parameter the route does not know.
    #[error("unknown query parameter `{0}`")]
    UnknownParameter(String),
    /// A query parameter given more than once.
    #[error("query parameter `{0}` is given more than once")]
    RepeatedParameter(String),
    /// `limit` is not a number in range.
    #[error("`limit` must be a whole number from 1 to {max}")]
    InvalidLimit {
        /// The largest limit accepted.
        max: usize,
    },
    /// `status` is not a status name.
    #[error("`status` must be one of PENDING, CLEAN, REJECTED, INFECTED, EXPIRED, DELETED")]
    InvalidStatus,
    /// The cursor was not made by this API for this tenant and this filter.
    #[error("invalid cursor")]
    InvalidCursor,
    /// No such file, or not the caller's; the two are indistinguishable on purpose.
    #[error("file not found")]
    FileNotFound,
    /// The upload request breaks the policy.
    #[error("the upload request breaks the policy: {}", join_reasons(.0))]
    PolicyViolation(Vec<Reason>),
    /// The tenant holds as many PENDING uploads as it may.
    #[error(
        "this tenant already has {max} uploads waiting for their bytes; send those, or wait for them to expire, then retry"
    )]
    TooManyPending {
        /// How many PENDING uploads a tenant may hold (`Settings::max_pending_uploads`).
        max: usize,
    },
    /// The tenant has as many re-scans asked for and not yet done as it may.
    #[error(
        "this tenant already has {max} re-scans waiting to be done; retry once sweep has done some"
    )]
    TooManyRescans {
        /// How many re-scans a tenant may have waiting (`Settings::max_pending_rescans`).
        max: usize,
    },
    /// Only CLEAN files may be downloaded.
    #[error("the file is {0}; only CLEAN files can be downloaded")]
    NotDownloadable(FileStatus),
    /// Files still waiting for (or past) their upload cannot be deleted.
    #[error("the file is {0}; only CLEAN, REJECTED or INFECTED files can be deleted")]
    NotDeletable(FileStatus),
    /// Only CLEAN files are re-scanned (the others are already kept from download).
    #[error("the file is {0}; only CLEAN files can be re-scanned")]
    NotRescannable(FileStatus),
    /// A SHA-256 field is not 64 hex digits.
    #[error("{0}")]
    InvalidSha256(#[source] airlock_domain::multipart::NotASha256),
    /// The file is too large for any plan of parts.
    #[error("{0}")]
    TooLargeForParts(#[source] airlock_domain::multipart::TooLargeForParts),
    /// A parts request asked for none, or for more than a page.
    #[error("ask for 1 to {max} parts at a time")]
    PartsPerRequest {
        /// The most parts one request may name.
        max: usize,
    },
    /// A part number outside the plan.
    #[error("part {number} is not in the plan: the file has parts 1 to {count}")]
    PartNumberOutOfPlan {
        /// The number asked for.
        number: u32,
        /// How many parts the plan has.
        count: u32,
    },
    /// A multipart route on a file sent in one PUT.
    #[error("the file is not sent in parts; PUT it with the URL it was created with")]
    NotMultipart,
    /// A multipart route on a file no longer waiting for its bytes.
    #[error("the file is {0}; its upload is over")]
    NotPending(FileStatus),
    /// The upload's deadline passed; sweep expires it.
    #[error("the upload window has closed; create the file again")]
    UploadWindowClosed,
    /// The store no longer has the upload, and no object stands in its place.
    #[error("the multipart upload no longer exists (aborted); create the file again")]
    UploadGone,
    /// The stored parts are not the planned ones.
    #[error("{0}; send the parts listed by GET /v1/files/{{id}}/parts, then complete again")]
    PartsDoNotAddUp(#[source] airlock_domain::PartsProblem),
    /// The store refused to join the parts.
    #[error("the store refused to join the parts: {0}")]
    StoreRefusedParts(String),
    /// The record kept changing under the request.
    #[error("the file changed while the request was being served; retry")]
    ConcurrentChange(#[source] CatalogError),
    /// The catalog failed.
    #[error("the catalog failed")]
    Catalog(#[from] CatalogError),
    /// The object store failed.
    #[error("the object store failed")]
    Store(#[from] StoreError),
    /// The usage ledger failed.
    #[error("the usage ledger failed")]
    Ledger(#[from] LedgerError),
    /// A configured duration pushed a time past what the calendar can hold.
    #[error("a configured duration overflows the time range")]
    TimeOverflow,
    /// A response body could not be encoded.
    #[error("the response could not be encoded")]
    Encode(#[source] serde_json::Error),
}

fn join_reasons(reasons: &[Reason]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
