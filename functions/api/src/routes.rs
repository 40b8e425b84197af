//! Route matching: which endpoint a method and path ask for, or why none does
//! (404 for an unknown path, 405 with the allowed methods for a known one).
//!
//! The templates are [`crate::ROUTES`] itself, so the router, the OpenAPI document
//! and the `allow` header all come from one list.

use aws_lambda_events::apigw::ApiGatewayV2httpRequest;

use crate::{ROUTES, error::ApiError};

/// The endpoint a request asks for; file routes carry the raw `{id}` segment, which
/// the handler validates (after the tenant check, so a bad id never outranks a 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route<'a> {
    /// `POST /v1/files`
    CreateFile,
    /// `GET /v1/files`
    ListFiles,
    /// `GET /v1/files/{id}`
    GetFile(&'a str),
    /// `GET /v1/files/{id}/download`
    DownloadFile(&'a str),
    /// `DELETE /v1/files/{id}`
    DeleteFile(&'a str),
    /// `POST /v1/files/{id}/rescan`
    RescanFile(&'a str),
    /// `GET /v1/usage`
    GetUsage,
    /// `POST /v1/files/{id}/parts`
    SignParts(&'a str),
    /// `GET /v1/files/{id}/parts`
    ListParts(&'a str),
    /// `POST /v1/files/{id}/complete`
    CompleteUpload(&'a str),
    /// `POST /v1/files/{id}/abort`
    AbortUpload(&'a str),
}

impl<'a> Route<'a> {
    /// The route for one entry of [`ROUTES`]; `None` only if the list gained an entry
    /// this match does not know, which the tests rule out.
    fn from_entry(method: &str, template: &str, id: Option<&'a str>) -> Option<Self> {
        let id = id.unwrap_or_default();
        Some(match (method, template) {
            ("POST", "/v1/files") => Self::CreateFile,
            ("GET", "/v1/files") => Self::ListFiles,
            ("GET", "/v1/files/{id}") => Self::GetFile(id),
            ("GET", "/v1/files/{id}/download") => Self::DownloadFile(id),
            ("DELETE", "/v1/files/{id}") => Self::DeleteFile(id),
            ("POST", "/v1/files/{id}/rescan") => Self::RescanFile(id),
            ("GET", "/v1/usage") => Self::GetUsage,
            ("POST", "/v1/files/{id}/parts") => Self::SignParts(id),
            ("GET", "/v1/files/{id}/parts") => Self::ListParts(id),
            ("POST", "/v1/files/{id}/complete") => Self::CompleteUpload(id),
            ("POST", "/v1/files/{id}/abort") => Self::AbortUpload(id),
            _ => return None,
        })
    }
}

impl Route<'_> {
    /// The `{id}` segment of a file route, for the request's log span.
    pub(crate) fn file_id(&self) -> Option<&str> {
        match *self {
            Self::GetFile(id)
            | Self::DownloadFile(id)
            | Self::DeleteFile(id)
            | Self::RescanFile(id)
            | Self::SignParts(id)
            | Self::ListParts(id)
            | Self::CompleteUpload(id)
            | Self::AbortUpload(id) => Some(id),
            Self::CreateFile | Self::ListFiles | Self::GetUsage => None,
        }
    }
}

/// Finds the route for a request.
pub(crate) fn resolve(request: &ApiGatewayV2httpRequest) -> Result<Route<'_>, ApiError> {
    let context = &request.request_context;
    let raw_path = request
        .raw_path
        .as_deref()
        .or(context.http.path.as_deref())
        .unwrap_or_default();
    let path = without_stage(raw_path, context.stage.as_deref());
    resolve_path(context.http.method.as_str(), path)
}

/// Matches a method and a path against [`ROUTES`].
fn resolve_path<'a>(method: &str, path: &'a str) -> Result<Route<'a>, ApiError> {
    let mut allowed: Vec<&str> = Vec::new();
    for (route_method, template) in ROUTES {
        let Some(id) = match_template(template, path) else {
            continue;
        };
        if *route_method == method {
            return Route::from_entry(route_method, template, id).ok_or(ApiError::NoRoute);
        }
        allowed.push(route_method);
    }
    if allowed.is_empty() {
        return Err(ApiError::NoRoute);
    }
    allowed.sort_unstable();
    allowed.dedup();
    Err(ApiError::MethodNotAllowed {
        method: method.to_owned(),
        allow: allowed.join(", "),
    })
}

/// Whether `path` fits `template`, and the `{id}` segment if the template has one.
fn match_template<'a>(template: &str, path: &'a str) -> Option<Option<&'a str>> {
    let mut id = None;
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return Some(id),
            (Some("{id}"), Some(segment)) if !segment.is_empty() => id = Some(segment),
            (Some(literal), Some(segment)) if literal == segment => {}
            _ => return None,
        }
    }
}

/// On a named stage (not `$default`) API Gateway puts the stage name in front of the
/// path, so `/prod/v1/files` must be served as `/v1/files`. A path that already
/// matches a route is left alone, in case a stage is named like a path segment.
fn without_stage<'a>(path: &'a str, stage: Option<&str>) -> &'a str {
    let matches_a_route = ROUTES
        .iter()
        .any(|(_, template)| match_template(template, path).is_some());
    if matches_a_route {
        return path;
    }
    stage
        .filter(|stage| !stage.is_empty() && *stage != "$default")
        .and_then(|stage| path.strip_prefix('/')?.strip_prefix(stage))
        .filter(|rest| rest.starts_with('/'))
        .unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_route_resolves_to_its_own_endpoint() {
        for (method, template) in ROUTES {
            let path = template.replace("{id}", "01JCZ5K6Q2V1E7W8X9Y0Z1A2B3");
            let route = resolve_path(method, &path);
            assert!(route.is_ok(), "{method} {template} did not resolve");
        }
    }

    #[test]
    fn file_routes_capture_the_id_segment() {
        assert!(matches!(
            resolve_path("GET", "/v1/files/abc/download"),
            Ok(Route::DownloadFile("abc"))
        ));
        assert!(matches!(
            resolve_path("DELETE", "/v1/files/abc"),
            Ok(Route::DeleteFile("abc"))
        ));
    }

    #[test]
    fn a_known_path_with_another_method_lists_the_allowed_ones() {
        let Err(ApiError::MethodNotAllowed { allow, .. }) = resolve_path("PUT", "/v1/files/x")
        else {
            panic!("expected 405");
        };
        assert_eq!(allow, "DELETE, GET");
    }

    #[test]
    fn empty_segments_and_extra_segments_do_not_match() {
        for path in ["/v1/files/", "/v1/files//download", "/v1/usage/x", "", "/"] {
            assert!(
                matches!(resolve_path("GET", path), Err(ApiError::NoRoute)),
                "{path:?} matched"
            );
        }
    }

    #[test]
    fn a_named_stage_prefix_is_stripped_but_the_default_stage_is_not() {
        assert_eq!(without_stage("/prod/v1/files", Some("prod")), "/v1/files");
        assert_eq!(
            without_stage("/$default/v1/files", Some("$default")),
            "/$default/v1/files"
        );
        assert_eq!(without_stage("/v1/files", Some("v1")), "/v1/files");
        assert_eq!(without_stage("/production", Some("prod")), "/production");
    }
}
