//! Reading what a request carries: the tenant (from the verified token only), the
//! JSON body (size-limited before it is parsed) and the list query parameters.

use std::borrow::Cow;

use airlock_domain::{FileStatus, TenantId, form};
use aws_lambda_events::apigw::ApiGatewayV2httpRequest;
use base64::{Engine, engine::general_purpose::STANDARD};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Page size when the client names none.
const DEFAULT_LIMIT: usize = 50;
/// The largest page a client may ask for.
const MAX_LIMIT: usize = 100;

/// The caller's tenant, from the claims API Gateway's JWT authorizer verified.
/// Headers, query and body are never consulted: the client controls those.
pub(crate) fn tenant(request: &ApiGatewayV2httpRequest, claim: &str) -> Result<TenantId, ApiError> {
    let raw = request
        .request_context
        .authorizer
        .as_ref()
        .and_then(|authorizer| authorizer.jwt.as_ref())
        .and_then(|jwt| jwt.claims.get(claim))
        .ok_or_else(|| ApiError::MissingTenant {
            claim: claim.to_owned(),
        })?;
    TenantId::parse(raw).map_err(|source| ApiError::InvalidTenant {
        claim: claim.to_owned(),
        source,
    })
}

/// The body parsed as `T`. The size is checked on the decoded bytes before any
/// parsing, so an oversized body costs no parser work.
pub(crate) fn json_body<T: DeserializeOwned>(
    request: &ApiGatewayV2httpRequest,
    max_bytes: usize,
) -> Result<T, ApiError> {
    let raw = request.body.as_deref().unwrap_or_default();
    let bytes: Cow<'_, [u8]> = if request.is_base64_encoded {
        Cow::Owned(STANDARD.decode(raw).map_err(ApiError::BodyNotBase64)?)
    } else {
        Cow::Borrowed(raw.as_bytes())
    };
    if bytes.len() > max_bytes {
        return Err(ApiError::BodyTooLarge {
            size: bytes.len(),
            max: max_bytes,
        });
    }
    serde_json::from_slice(&bytes).map_err(ApiError::MalformedBody)
}

/// The parameters of `GET /v1/files`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListParams {
    /// Only files in this status.
    pub(crate) status: Option<FileStatus>,
    /// Page size.
    pub(crate) limit: usize,
    /// Where to continue, as the client got it.
    pub(crate) cursor: Option<String>,
}

/// Reads the list parameters. Unknown or repeated parameters are refused rather than
/// ignored, so a misspelt filter cannot silently list everything.
pub(crate) fn list_params(request: &ApiGatewayV2httpRequest) -> Result<ListParams, ApiError> {
    let mut status = None;
    let mut limit = None;
    let mut cursor = None;
    for (name, value) in query_pairs(request) {
        let slot = match name.as_ref() {
            "status" => &mut status,
            "limit" => &mut limit,
            "cursor" => &mut cursor,
            _ => return Err(ApiError::UnknownParameter(shortened(&name))),
        };
        if slot.replace(value).is_some() {
            return Err(ApiError::RepeatedParameter(name.into_owned()));
        }
    }
    let status = status
        .map(|raw| FileStatus::parse(&raw).ok_or(ApiError::InvalidStatus))
        .transpose()?;
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or(ApiError::InvalidLimit { max: MAX_LIMIT })?,
    };
    Ok(ListParams {
        status,
        limit,
        cursor: cursor.map(Cow::into_owned),
    })
}

/// The decoded query pairs. `rawQueryString` is preferred because it keeps repeated
/// parameters apart (`queryStringParameters` joins them with commas); the map is the
/// fallback for events that carry only it.
fn query_pairs(request: &ApiGatewayV2httpRequest) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    match request.raw_query_string.as_deref() {
        Some(raw) if !raw.is_empty() => form::pairs(raw).collect(),
        _ => request
            .query_string_parameters
            .iter()
            .map(|(name, value)| (Cow::Borrowed(name), Cow::Borrowed(value)))
            .collect(),
    }
}

/// Keeps a client-chosen name short enough to echo back.
fn shortened(raw: &str) -> String {
    raw.chars().take(40).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_query(raw: &str) -> ApiGatewayV2httpRequest {
        let mut request = ApiGatewayV2httpRequest::default();
        request.raw_query_string = Some(raw.to_owned());
        request
    }

    #[test]
    fn list_parameters_default_to_fifty_of_any_status() {
        let params = list_params(&with_query("")).expect("no parameters are fine");
        assert_eq!(
            params,
            ListParams {
                status: None,
                limit: 50,
                cursor: None
            }
        );
    }

    #[test]
    fn list_parameters_are_percent_decoded() {
        let params = list_params(&with_query("status=%43LEAN&limit=7&cursor=a%2Db"))
            .expect("valid parameters");
        assert_eq!(params.status, Some(FileStatus::Clean));
        assert_eq!(params.limit, 7);
        assert_eq!(params.cursor.as_deref(), Some("a-b"));
    }

    #[test]
    fn limits_outside_one_to_a_hundred_are_refused() {
        for raw in ["limit=0", "limit=101", "limit=-1", "limit=ten", "limit="] {
            assert!(
                matches!(
                    list_params(&with_query(raw)),
                    Err(ApiError::InvalidLimit { .. })
                ),
                "{raw} was accepted"
            );
        }
    }

    #[test]
    fn unknown_repeated_and_lower_case_parameters_are_refused() {
        assert!(matches!(
            list_params(&with_query("stauts=CLEAN")),
            Err(ApiError::UnknownParameter(name)) if name == "stauts"
        ));
        assert!(matches!(
            list_params(&with_query("limit=1&limit=2")),
            Err(ApiError::RepeatedParameter(name)) if name == "limit"
        ));
        assert!(matches!(
            list_params(&with_query("status=clean")),
            Err(ApiError::InvalidStatus)
        ));
    }
}
