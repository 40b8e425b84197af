//! Airlock's api function: the REST API behind API Gateway HTTP API (payload 2.0).
//!
//! [`Api::handle`] takes the gateway's event and always answers with a response:
//! success bodies are JSON, every failure is an `application/problem+json` body with
//! the status chosen in one place ([`problem`]). The handler is generic over the
//! ports it needs, so the same code runs on AWS and on the local stack.
//!
//! The tenant is read only from the claims the gateway's JWT authorizer verified,
//! never from anything the client sends alongside.

mod cursor;
mod dto;
mod error;
mod handlers;
mod multipart;
mod problem;
mod reply;
mod request;
mod routes;

use airlock_domain::{
    Policy,
    ports::{
        CatalogReader, CatalogWriter, Clock, ObjectMultipart, ObjectPresigner, ObjectRemover,
        UsageReader,
    },
};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use tracing::Instrument;

pub use crate::problem::{NO_ROUTE_DETAIL, NO_ROUTE_TITLE};
use crate::{error::ApiError, reply::Reply, routes::Route};

/// Every route the API serves, as `(method, path template)`. The OpenAPI document
/// lists exactly these (a test keeps the two in step).
pub const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/files"),
    ("GET", "/v1/files"),
    ("GET", "/v1/files/{id}"),
    ("GET", "/v1/files/{id}/download"),
    ("DELETE", "/v1/files/{id}"),
    ("POST", "/v1/files/{id}/rescan"),
    ("GET", "/v1/usage"),
    ("POST", "/v1/files/{id}/parts"),
    ("GET", "/v1/files/{id}/parts"),
    ("POST", "/v1/files/{id}/complete"),
    ("POST", "/v1/files/{id}/abort"),
];

/// What the api needs of the catalog, as one bound.
pub trait ApiCatalog: CatalogReader + CatalogWriter {}
impl<T: CatalogReader + CatalogWriter> ApiCatalog for T {}

/// What the api needs of the object store, as one bound: presigning, removal and
/// multipart uploads.
pub trait ApiStore: ObjectPresigner + ObjectRemover + ObjectMultipart {}
impl<T: ObjectPresigner + ObjectRemover + ObjectMultipart> ApiStore for T {}

/// How the API behaves; read once at cold start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    /// What uploads are accepted; checked when an upload is requested.
    pub policy: Policy,
    /// The JWT claim that names the caller's tenant.
    pub tenant_claim: String,
    /// How long a client has to send the bytes before the upload expires.
    pub upload_window: chrono::Duration,
    /// How long a presigned URL is valid (an upload URL never outlives the window).
    pub presign_ttl: chrono::Duration,
    /// The largest request body accepted, in bytes after base64 decoding.
    pub max_body_bytes: usize,
    /// How many PENDING uploads one tenant may hold at once, so one tenant cannot
    /// fill the catalog (and the scanners' queue) for everyone else.
    pub max_pending_uploads: usize,
    /// How many re-scans one tenant may have asked for and not yet had done: sweep
    /// re-scans a bounded number a run, so without it one tenant's requests would
    /// hold back everyone's.
    pub max_pending_rescans: usize,
    /// Files larger than this are sent in parts (at most 5 GiB: S3's limit for one
    /// PUT); up to it, in one PUT.
    pub multipart_threshold: u64,
    /// The part size a multipart plan starts from; larger files get larger parts,
    /// so none needs more than 10,000.
    pub part_size: u64,
    /// How long a client has to send a file in parts before it expires: parts can
    /// be resumed after a lost connection, so the window is wider than one PUT's.
    pub multipart_window: chrono::Duration,
}

/// The default [`ApiSettings::multipart_threshold`]: 64 MiB, past which one lost
/// connection would cost a client more than re-sending a part.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 64 * 1024 * 1024;
/// The default [`ApiSettings::part_size`]: 16 MiB.
pub const DEFAULT_PART_SIZE: u64 = 16 * 1024 * 1024;

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            tenant_claim: "tenant_id".to_owned(),
            upload_window: chrono::Duration::hours(1),
            presign_ttl: chrono::Duration::minutes(15),
            max_body_bytes: 16 * 1024,
            max_pending_uploads: 100,
            max_pending_rescans: 100,
            multipart_threshold: DEFAULT_MULTIPART_THRESHOLD,
            part_size: DEFAULT_PART_SIZE,
            multipart_window: chrono::Duration::hours(24),
        }
    }
}

/// The api handler and the ports it drives.
#[derive(Debug)]
pub struct Api<C, S, U, K> {
    catalog: C,
    store: S,
    usage: U,
    clock: K,
    settings: ApiSettings,
}

impl<C: ApiCatalog, S: ApiStore, U: UsageReader, K: Clock> Api<C, S, U, K> {
    /// Builds the handler once, at cold start.
    pub fn new(catalog: C, store: S, usage: U, clock: K, settings: ApiSettings) -> Self {
        Self {
            catalog,
            store,
            usage,
            clock,
            settings,
        }
    }

    /// Answers one request. Never fails and never panics: anything that goes wrong
    /// becomes a problem response (and, if it is the server's fault, an error log).
    pub async fn handle(&self, request: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        match self.dispatch(&request).await {
            Ok(reply) => reply.into_response(),
            Err(error) => {
                let request_id = request.request_context.request_id.as_deref();
                problem::respond(&error, request_id.unwrap_or_default())
            }
        }
    }

    async fn dispatch(&self, request: &ApiGatewayV2httpRequest) -> Result<Reply, ApiError> {
        // Routing comes first so that a wrong method gets its 405 even without a
        // token; the routes are public (openapi.json) so this reveals nothing.
        let route = routes::resolve(request)?;
        let tenant = request::tenant(request, &self.settings.tenant_claim)?;
        // Every line logged while serving names the tenant, and the file if any.
        let span =
            tracing::info_span!("request", tenant = %tenant, file_id = tracing::field::Empty);
        if let Some(id) = route.file_id() {
            span.record("file_id", id);
        }
        self.serve(route, tenant, request).instrument(span).await
    }

    async fn serve(
        &self,
        route: Route<'_>,
        tenant: airlock_domain::TenantId,
        request: &ApiGatewayV2httpRequest,
    ) -> Result<Reply, ApiError> {
        match route {
            Route::CreateFile => {
                let body = request::json_body(request, self.settings.max_body_bytes)?;
                self.create_file(tenant, body).await
            }
            Route::ListFiles => {
                let params = request::list_params(request)?;
                self.list_files(&tenant, params).await
            }
            Route::GetFile(id) => self.get_file(&tenant, id).await,
            Route::DownloadFile(id) => self.download_file(&tenant, id).await,
            Route::DeleteFile(id) => self.delete_file(&tenant, id).await,
            Route::RescanFile(id) => self.rescan_file(&tenant, id).await,
            Route::GetUsage => self.get_usage(&tenant).await,
            Route::SignParts(id) => {
                let body = request::json_body(request, self.settings.max_body_bytes)?;
                self.sign_parts(&tenant, id, body).await
            }
            Route::ListParts(id) => self.list_parts(&tenant, id).await,
            Route::CompleteUpload(id) => self.complete_upload(&tenant, id).await,
            Route::AbortUpload(id) => self.abort_upload(&tenant, id).await,
        }
    }
}
