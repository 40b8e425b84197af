//! The API's routes, one method each, with the bearer token on every call.

use airlock_domain::FileStatus;
use airlock_wire::{
    CreateFileBody, CreatedFile, DownloadView, FileList, FileView, PartList, PartsToSign, Problem,
    SignedParts, UsageView,
};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

use crate::ClientError;

/// How much of an error body that is not a problem document is kept for the message.
const BODY_EXCERPT: usize = 300;

/// A client of one deployment (or local stack) for one tenant's token. Cheap to
/// clone: clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    token: String,
    http: reqwest::Client,
}

/// What `GET /v1/files` is asked for.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only files in this status.
    pub status: Option<FileStatus>,
    /// Page size (the API's default when `None`).
    pub limit: Option<usize>,
    /// Where the page starts: a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

impl Client {
    /// A client of the API at `base_url` (`http://127.0.0.1:8080`, or the API
    /// Gateway's URL) with a bearer `token`.
    pub fn new(base_url: &str, token: &str) -> Result<Self, ClientError> {
        let base_url = base_url.trim_end_matches('/');
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(ClientError::InvalidUrl {
                url: base_url.to_owned(),
            });
        }
        let http = reqwest::Client::builder()
            .build()
            .map_err(|source| ClientError::Transport {
                what: "building the HTTP client".to_owned(),
                source,
            })?;
        Ok(Self {
            base_url: base_url.to_owned(),
            token: token.to_owned(),
            http,
        })
    }

    /// The URL the client talks to.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The HTTP client, for the presigned transfers (`crate::transfer`).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `POST /v1/files`: a PENDING file and either one presigned PUT or a plan of parts.
    pub async fn create(&self, body: &CreateFileBody) -> Result<CreatedFile, ClientError> {
        let request = self.api(Method::POST, "/v1/files").json(body);
        self.json("creating the upload", request).await
    }

    /// `POST /v1/files/{id}/parts`: presigned PUTs for the parts named, each signed for
    /// its SHA-256 (at most `MAX_PARTS_PER_REQUEST` a call).
    pub async fn sign_parts(
        &self,
        id: &str,
        parts: &PartsToSign,
    ) -> Result<SignedParts, ClientError> {
        let request = self
            .api(Method::POST, &format!("/v1/files/{id}/parts"))
            .json(parts);
        self.json("presigning parts", request).await
    }

    /// `GET /v1/files/{id}/parts`: the parts stored and the numbers still missing.
    pub async fn list_parts(&self, id: &str) -> Result<PartList, ClientError> {
        let request = self.api(Method::GET, &format!("/v1/files/{id}/parts"));
        self.json("listing parts", request).await
    }

    /// `POST /v1/files/{id}/complete`: joins the parts (safe to ask again).
    pub async fn complete(&self, id: &str) -> Result<FileView, ClientError> {
        let request = self.api(Method::POST, &format!("/v1/files/{id}/complete"));
        self.json("completing the upload", request).await
    }

    /// `POST /v1/files/{id}/abort`: discards the parts.
    pub async fn abort(&self, id: &str) -> Result<FileView, ClientError> {
        let request = self.api(Method::POST, &format!("/v1/files/{id}/abort"));
        self.json("aborting the upload", request).await
    }

    /// `GET /v1/files/{id}`.
    pub async fn get(&self, id: &str) -> Result<FileView, ClientError> {
        let request = self.api(Method::GET, &format!("/v1/files/{id}"));
        self.json("reading the file", request).await
    }

    /// `GET /v1/files`: one page, newest first.
    pub async fn list(&self, filter: &ListFilter) -> Result<FileList, ClientError> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(status) = filter.status {
            query.push(("status", status.to_string()));
        }
        if let Some(limit) = filter.limit {
            query.push(("limit", limit.to_string()));
        }
        if let Some(cursor) = &filter.cursor {
            query.push(("cursor", cursor.clone()));
        }
        let request = self.api(Method::GET, "/v1/files").query(&query);
        self.json("listing files", request).await
    }

    /// `GET /v1/files/{id}/download`: the presigned GET of a CLEAN file.
    pub async fn download(&self, id: &str) -> Result<DownloadView, ClientError> {
        let request = self.api(Method::GET, &format!("/v1/files/{id}/download"));
        self.json("asking for the download", request).await
    }

    /// `DELETE /v1/files/{id}`: a decided file becomes DELETED, its bytes removed.
    pub async fn delete(&self, id: &str) -> Result<(), ClientError> {
        let request = self.api(Method::DELETE, &format!("/v1/files/{id}"));
        self.send("deleting the file", request).await.map(drop)
    }

    /// `POST /v1/files/{id}/rescan`: asks for the file to be scanned again.
    pub async fn rescan(&self, id: &str) -> Result<FileView, ClientError> {
        let request = self.api(Method::POST, &format!("/v1/files/{id}/rescan"));
        self.json("asking for a re-scan", request).await
    }

    /// `GET /v1/usage`: the tenant's counters by status.
    pub async fn usage(&self) -> Result<UsageView, ClientError> {
        let request = self.api(Method::GET, "/v1/usage");
        self.json("reading usage", request).await
    }

    fn api(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base_url))
            .bearer_auth(&self.token)
    }

    async fn json<T: DeserializeOwned>(
        &self,
        what: &str,
        request: RequestBuilder,
    ) -> Result<T, ClientError> {
        let response = self.send(what, request).await?;
        let bytes = response
            .bytes()
            .await
            .map_err(|source| transport(what, source))?;
        serde_json::from_slice(&bytes).map_err(|source| ClientError::Decode {
            what: what.to_owned(),
            source,
        })
    }

    /// Sends, and turns a connection failure or an error answer into the error.
    pub(crate) async fn send(
        &self,
        what: &str,
        request: RequestBuilder,
    ) -> Result<Response, ClientError> {
        let response = request.send().await.map_err(|source| {
            if source.is_connect() {
                ClientError::Unreachable {
                    url: self.base_url.clone(),
                    source,
                }
            } else {
                transport(what, source)
            }
        })?;
        if response.status().is_success() {
            Ok(response)
        } else {
            Err(refusal(what, response).await)
        }
    }
}

fn transport(what: &str, source: reqwest::Error) -> ClientError {
    ClientError::Transport {
        what: what.to_owned(),
        source,
    }
}

/// The error an answer that is not a success stands for.
async fn refusal(what: &str, response: Response) -> ClientError {
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<Problem>(&body) {
        Ok(problem) => ClientError::Problem {
            problem: Box::new(problem),
        },
        Err(_) => ClientError::Status {
            what: what.to_owned(),
            status,
            body: String::from_utf8_lossy(&body[..body.len().min(BODY_EXCERPT)]).into_owned(),
        },
    }
}
