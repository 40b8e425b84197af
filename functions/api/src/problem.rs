//! Errors → responses: the one place that decides each error's HTTP status, and the
//! RFC 9457 `application/problem+json` body that tells the client about it.
//!
//! Client errors explain themselves in `detail`. Server errors are logged with their
//! whole source chain and told to the client only as "something failed", so no
//! internals leak.

use std::{error::Error, fmt};

use airlock_wire::Problem;
use aws_lambda_events::{apigw::ApiGatewayV2httpResponse, http::header};

use crate::{error::ApiError, reply::Reply};

/// Where problem types live; a slug is appended.
const PROBLEM_BASE: &str = "https://airlock.dev/problems/";

/// The title of the 404 for a path no route serves. The local stack answers the paths
/// outside the API with the same words, so a client meets one 404 wherever it asks.
pub const NO_ROUTE_TITLE: &str = "Not found";

/// The detail of that 404.
pub const NO_ROUTE_DETAIL: &str = "there is no such route";

/// When a tenant at one of its limits should ask again: uploads in flight usually
/// finish within a minute (and the rest expire at their deadline); sweep's next run
/// does re-scans waiting.
const RETRY_PENDING_AFTER_SECS: u64 = 60;

/// How an error is presented: status, a stable slug for `type`, and a short title.
struct Kind {
    status: u16,
    slug: &'static str,
    title: &'static str,
}

const fn kind(status: u16, slug: &'static str, title: &'static str) -> Kind {
    Kind {
        status,
        slug,
        title,
    }
}

impl ApiError {
    /// The only mapping from errors to HTTP statuses.
    fn kind(&self) -> Kind {
        match self {
            Self::NoRoute => kind(404, "not-found", NO_ROUTE_TITLE),
            Self::FileNotFound => kind(404, "file-not-found", "File not found"),
            Self::MethodNotAllowed { .. } => kind(405, "method-not-allowed", "Method not allowed"),
            Self::MissingTenant { .. } | Self::InvalidTenant { .. } => {
                kind(401, "unauthenticated", "Unauthenticated")
            }
            Self::BodyTooLarge { .. } => kind(413, "body-too-large", "Request body too large"),
            Self::BodyNotBase64(_) | Self::MalformedBody(_) => {
                kind(400, "malformed-body", "Malformed request body")
            }
            Self::InvalidField(_) => kind(400, "invalid-field", "Invalid field"),
            Self::UnknownParameter(_)
            | Self::RepeatedParameter(_)
            | Self::InvalidLimit { .. }
            | Self::InvalidStatus => kind(400, "invalid-query", "Invalid query parameter"),
            Self::InvalidCursor => kind(400, "invalid-cursor", "Invalid cursor"),
            Self::PolicyViolation(_) => kind(422, "policy-violation", "Upload breaks the policy"),
            Self::TooManyPending { .. } => {
                kind(429, "too-many-pending", "Too many pending uploads")
            }
            Self::TooManyRescans { .. } => {
                kind(429, "too-many-rescans", "Too many pending re-scans")
            }
            Self::NotDownloadable(_) => kind(409, "not-downloadable", "File not downloadable"),
            Self::NotDeletable(_) => kind(409, "not-deletable", "File not deletable"),
            Self::NotRescannable(_) => kind(409, "not-rescannable", "File not re-scannable"),
            Self::ConcurrentChange(_) => kind(409, "concurrent-change", "Concurrent change"),
            Self::InvalidSha256(_) | Self::PartsPerRequest { .. } => {
                kind(400, "invalid-field", "Invalid field")
            }
            Self::TooLargeForParts(_) => kind(422, "too-large", "File too large"),
            Self::PartNumberOutOfPlan { .. } => {
                kind(422, "part-not-in-plan", "Part not in the plan")
            }
            Self::NotMultipart => kind(409, "not-multipart", "File not sent in parts"),
            Self::NotPending(_) => kind(409, "not-pending", "Upload is over"),
            Self::UploadWindowClosed => kind(409, "upload-window-closed", "Upload window closed"),
            Self::UploadGone => kind(409, "upload-gone", "Upload no longer exists"),
            Self::PartsDoNotAddUp(_) | Self::StoreRefusedParts(_) => {
                kind(409, "parts-do-not-add-up", "Parts do not add up")
            }
            Self::Catalog(_)
            | Self::Store(_)
            | Self::Ledger(_)
            | Self::TimeOverflow
            | Self::Encode(_) => kind(500, "internal", "Internal error"),
        }
    }
}

/// The response for an error, logging it first if it is the server's fault.
pub(crate) fn respond(error: &ApiError, request_id: &str) -> ApiGatewayV2httpResponse {
    let Kind {
        status,
        slug,
        title,
    } = error.kind();
    let detail = if status >= 500 {
        tracing::error!(request_id, error = %Chain(error), "request failed");
        format!("the request could not be served; retry later (request id {request_id:?})")
    } else {
        tracing::info!(request_id, status, error = %error, "request refused");
        error.to_string()
    };
    let problem = Problem {
        kind: format!("{PROBLEM_BASE}{slug}"),
        title: title.to_owned(),
        status,
        detail,
        reasons: match error {
            ApiError::PolicyViolation(reasons) => Some(reasons.clone()),
            _ => None,
        },
    };
    let mut reply = Reply::problem(status, &problem);
    if let ApiError::MethodNotAllowed { allow, .. } = error {
        reply = reply.header(header::ALLOW, allow.clone());
    }
    if let ApiError::TooManyPending { .. } | ApiError::TooManyRescans { .. } = error {
        reply = reply.header(header::RETRY_AFTER, RETRY_PENDING_AFTER_SECS.to_string());
    }
    reply.into_response()
}

/// An error and all its sources, `outer: inner: innermost`.
struct Chain<'a>(&'a dyn Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use airlock_domain::ports::CatalogError;

    use super::*;

    #[test]
    fn a_chain_lists_every_source() {
        let error = ApiError::Catalog(CatalogError::Backend("disk full".into()));
        assert_eq!(
            Chain(&error).to_string(),
            "the catalog failed: catalog failed: disk full"
        );
    }

    #[test]
    fn server_errors_do_not_tell_the_client_why() {
        let error = ApiError::Catalog(CatalogError::Backend("secret table name".into()));
        let response = respond(&error, "req-1");
        assert_eq!(response.status_code, 500);
        let Some(aws_lambda_events::encodings::Body::Text(body)) = response.body else {
            panic!("expected a text body");
        };
        assert!(!body.contains("secret"), "{body}");
        assert!(body.contains("req-1"), "{body}");
    }
}
