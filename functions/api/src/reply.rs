//! Building gateway responses: status, JSON body, and the headers every response
//! carries (content type, `nosniff`) or some do (`location`, `allow`, `no-store`).

use aws_lambda_events::{
    apigw::ApiGatewayV2httpResponse,
    encodings::Body,
    http::{HeaderMap, HeaderName, HeaderValue, header},
};
use serde::Serialize;

use crate::error::ApiError;

const JSON: &str = "application/json";
const PROBLEM_JSON: &str = "application/problem+json";

/// A response before it is turned into the gateway's type.
#[derive(Debug)]
pub(crate) struct Reply {
    status: u16,
    body: Option<String>,
    headers: Vec<(HeaderName, String)>,
}

impl Reply {
    /// A JSON body.
    pub(crate) fn json<T: Serialize>(status: u16, body: &T) -> Result<Self, ApiError> {
        let body = serde_json::to_string(body).map_err(ApiError::Encode)?;
        Ok(Self::with_body(status, body, JSON))
    }

    /// A problem body. Problems are built from plain strings and numbers, so encoding
    /// cannot fail in practice; if it ever did, a fixed body still says what happened.
    pub(crate) fn problem<T: Serialize>(status: u16, body: &T) -> Self {
        let body = serde_json::to_string(body).unwrap_or_else(|_| {
            format!(r#"{{"type":"about:blank","title":"Error","status":{status}}}"#)
        });
        Self::with_body(status, body, PROBLEM_JSON)
    }

    /// No body at all.
    pub(crate) fn no_content() -> Self {
        Self {
            status: 204,
            body: None,
            headers: Vec::new(),
        }
    }

    fn with_body(status: u16, body: String, content_type: &str) -> Self {
        Self {
            status,
            body: Some(body),
            headers: vec![(header::CONTENT_TYPE, content_type.to_owned())],
        }
    }

    /// Adds a header.
    pub(crate) fn header(mut self, name: HeaderName, value: String) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Marks a response that carries a presigned URL: no cache may keep a credential.
    pub(crate) fn no_store(self) -> Self {
        self.header(header::CACHE_CONTROL, "no-store".to_owned())
    }

    /// The gateway's response.
    pub(crate) fn into_response(self) -> ApiGatewayV2httpResponse {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        for (name, value) in self.headers {
            // Values are built from ids, methods and constants, all valid header
            // text; one that somehow is not is dropped rather than failing the reply.
            if let Ok(value) = HeaderValue::try_from(value) {
                headers.insert(name, value);
            }
        }
        let mut response = ApiGatewayV2httpResponse::default();
        response.status_code = i64::from(self.status);
        response.headers = headers;
        response.body = self.body.map(Body::Text);
        response.is_base64_encoded = false;
        response
    }
}
