//! The local S3 endpoints: presigned PUT and GET of objects.
//!
//! Checked as S3 checks them: the signature (which covers key, expiry, length and
//! content type), the expiry, `content-type` and `content-length` equal to what was
//! signed, the body exactly that long, and no overwrite of an existing object (the
//! presigned PUT requires `if-none-match: *`, so a replayed URL cannot swap the bytes
//! of a file already verified). Like S3, a PUT's `content-encoding` is stored with
//! the object though nothing signed it, and a GET answers with the stored type and
//! encoding unless its signed `response-*` overrides say otherwise: so the attack an
//! unsigned encoding makes possible, and ingest's refusal of it, show here as on AWS.
//! Reads of objects whose status tag is not CLEAN are refused, as the deployed bucket
//! policy refuses them.

use airlock_domain::{
    FileName, FileStatus, ObjectKey, StoredPart,
    ports::{ChunkStream, PresignedRequest},
};
use airlock_local::{Grant, GrantError, LocalError, PartGrant};
use axum::{
    Router,
    body::Body,
    extract::{Path, RawQuery, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use futures_util::StreamExt;

use super::{AppState, problem::problem};

/// The object paths presigned URLs point at.
pub fn routes() -> Router<AppState> {
    Router::new().route("/objects/{*key}", get(get_object).put(put_object))
}

/// `PUT /objects/{*key}`.
pub async fn put_object(
    State(app): State<AppState>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (length, content_type) = match check_grant(&app, "PUT", &key, query.as_deref()) {
        Ok(Grant::Upload {
            length,
            content_type,
            ..
        }) => (length, content_type),
        Ok(Grant::Part(part)) => return put_part(&app, part, &headers, body).await,
        Ok(Grant::Download { .. }) => return denied("signature is not for an upload"),
        Err(refusal) => return denied(&refusal),
    };
    if header_text(&headers, header::CONTENT_TYPE) != Some(content_type.as_str()) {
        return denied("content-type differs from the signed one");
    }
    if let Some(refused) = length_refusal(&headers, length) {
        return refused;
    }
    if header_text(&headers, header::IF_NONE_MATCH) != Some("*") {
        return denied("the signed request requires if-none-match: *");
    }
    let encoding = header_text(&headers, header::CONTENT_ENCODING);
    match store_body(&app, &key, length, (&content_type, encoding), body).await {
        Ok(()) => {
            // As if the server failed once the object landed: S3 would still notify.
            airlock_faults::fault!("objects.between_commit_and_notification", |injected| {
                tracing::error!(error = %injected, "storing an upload failed");
                internal_error("storing the upload failed")
            });
            app.notifier.object_created(&key, length);
            StatusCode::OK.into_response()
        }
        Err(StoreFailure::Exists) => problem(
            StatusCode::PRECONDITION_FAILED,
            "Precondition Failed",
            "an object already exists under this key",
        ),
        Err(StoreFailure::Length(e)) => {
            problem(StatusCode::BAD_REQUEST, "Bad Request", &e.to_string())
        }
        Err(StoreFailure::Internal(e)) => {
            tracing::error!(error = %e, "storing an upload failed");
            internal_error("storing the upload failed")
        }
    }
}

/// `PUT /objects/{*key}?X-Airlock-Part=…`: one part of a multipart upload, kept
/// only with the signed length and a body hashing to the signed SHA-256, which the
/// client also sends as `x-amz-checksum-sha256` (S3 answers `BadDigest` otherwise).
async fn put_part(app: &AppState, part: PartGrant, headers: &HeaderMap, body: Body) -> Response {
    if let Some(refused) = length_refusal(headers, part.length) {
        return refused;
    }
    let checksum = headers
        .get(PresignedRequest::CHECKSUM_HEADER)
        .and_then(|v| v.to_str().ok());
    if !part.signed_checksum(checksum) {
        return denied("x-amz-checksum-sha256 differs from the signed one");
    }
    match store_part(app, part, body).await {
        Ok(stored) => (StatusCode::OK, [(header::ETAG, stored.etag)]).into_response(),
        Err(LocalError::NoSuchUpload(id)) => problem(
            StatusCode::NOT_FOUND,
            "No Such Upload",
            &format!("no multipart upload {id} for this key: it was completed or aborted"),
        ),
        Err(e @ LocalError::ChecksumMismatch { .. }) => {
            problem(StatusCode::BAD_REQUEST, "Bad Digest", &e.to_string())
        }
        Err(e @ LocalError::LengthMismatch { .. }) => {
            problem(StatusCode::BAD_REQUEST, "Bad Request", &e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, "storing a part failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "storing the part failed",
            )
        }
    }
}

async fn store_part(app: &AppState, part: PartGrant, body: Body) -> Result<StoredPart, LocalError> {
    let mut writer = app.store.begin_part(part).await?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| LocalError::Io(std::io::Error::other(e)))?;
        writer.write(&chunk).await?;
    }
    writer.commit().await
}

/// `GET /objects/{*key}`.
pub async fn get_object(
    State(app): State<AppState>,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (file_name, overrides) = match check_grant(&app, "GET", &key, query.as_deref()) {
        Ok(Grant::Download {
            file_name,
            overrides,
            ..
        }) => (file_name, overrides),
        Ok(Grant::Upload { .. } | Grant::Part(_)) => {
            return denied("signature is not for a download");
        }
        Err(refusal) => return denied(&refusal),
    };
    match app.store.status_tag(&key).await {
        Ok(Some(FileStatus::Clean)) => {}
        Ok(_) => return denied("object is not CLEAN"),
        Err(e) => {
            tracing::error!(error = %e, "reading an object tag failed");
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
                "reading the object failed",
            );
        }
    }
    let chunks = match app.store.open_raw(&key).await {
        Ok(chunks) => chunks,
        Err(_) => return problem(StatusCode::NOT_FOUND, "Not Found", "no such object"),
    };
    let stored = chunks.stored().clone();
    let answer_header =
        |name: &str, stored: Option<String>| overrides.get(name).cloned().or(stored);
    let content_type = answer_header("content-type", stored.content_type)
        .unwrap_or_else(|| "application/octet-stream".to_owned());
    let disposition =
        answer_header("content-disposition", None).unwrap_or_else(|| disposition(&file_name));
    let encoding = answer_header("content-encoding", stored.content_encoding);
    let stream = futures_util::stream::unfold(chunks, |mut chunks| async move {
        match chunks.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), chunks)),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e)), chunks)),
        }
    });
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        Body::from_stream(stream),
    )
        .into_response();
    if let Some(value) = encoding.and_then(|e| header::HeaderValue::from_str(&e).ok()) {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, value);
    }
    response
}

/// What the presigned request allows; why it is refused otherwise.
fn check_grant(
    app: &AppState,
    method: &str,
    key: &str,
    query: Option<&str>,
) -> Result<Grant, String> {
    if ObjectKey::parse(key).is_err() {
        return Err("key is outside the upload layout".to_owned());
    }
    app.store
        .verify(method, key, query.unwrap_or_default(), chrono::Utc::now())
        .map_err(|e: GrantError| e.to_string())
}

enum StoreFailure {
    Exists,
    Length(LocalError),
    Internal(LocalError),
}

async fn store_body(
    app: &AppState,
    key: &str,
    length: u64,
    (content_type, encoding): (&str, Option<&str>),
    body: Body,
) -> Result<(), StoreFailure> {
    let mut writer = app
        .store
        .begin_write(key, length)
        .await
        .map_err(StoreFailure::Internal)?
        .with_headers(Some(content_type), encoding);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| StoreFailure::Internal(LocalError::Io(std::io::Error::other(e))))?;
        writer.write(&chunk).await.map_err(StoreFailure::Length)?;
    }
    match writer.commit().await {
        Ok(_) => Ok(()),
        Err(e @ LocalError::LengthMismatch { .. }) => Err(StoreFailure::Length(e)),
        Err(LocalError::Io(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Err(StoreFailure::Exists)
        }
        Err(e) => Err(StoreFailure::Internal(e)),
    }
}

/// The refusal of a body whose `content-length` is missing (411) or not the signed
/// length; `None` when it is the signed one.
fn length_refusal(headers: &HeaderMap, length: u64) -> Option<Response> {
    match header_text(headers, header::CONTENT_LENGTH).map(str::parse::<u64>) {
        None => Some(problem(
            StatusCode::LENGTH_REQUIRED,
            "Length Required",
            "send content-length",
        )),
        Some(Ok(sent)) if sent == length => None,
        Some(_) => Some(denied("content-length differs from the signed one")),
    }
}

fn internal_error(detail: &str) -> Response {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal Server Error",
        detail,
    )
}

fn denied(detail: &str) -> Response {
    problem(StatusCode::FORBIDDEN, "Access Denied", detail)
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The disposition for a signed file name; the name was valid when it was signed.
fn disposition(file_name: &str) -> String {
    FileName::parse(file_name).map_or_else(
        |_| "attachment".to_owned(),
        |name| name.content_disposition(),
    )
}
