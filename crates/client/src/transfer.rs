//! The presigned requests: bytes go straight to the object store (S3, or the local
//! stack's endpoints), with exactly the headers the URL was signed for.

use airlock_wire::PresignedView;
use reqwest::{Method, RequestBuilder, Response};

use crate::{Client, ClientError};

/// Headers the HTTP client sets itself, from the body and the URL.
const SET_BY_THE_CLIENT: [&str; 2] = ["content-length", "host"];

impl Client {
    /// Sends `body`, of `length` bytes (exactly the signed length), to a presigned PUT:
    /// one whole file's `upload`, or one part's. The length is sent as
    /// `Content-Length` even for a streamed body, which stores refuse without one.
    pub async fn put(
        &self,
        presigned: &PresignedView,
        body: impl Into<reqwest::Body>,
        length: u64,
    ) -> Result<(), ClientError> {
        let request = self
            .presigned(Method::PUT, presigned)
            .header(reqwest::header::CONTENT_LENGTH, length)
            .body(body);
        self.send("sending the bytes", request).await.map(drop)
    }

    /// Starts a presigned GET (a download); the body is read from the answer as it
    /// streams.
    pub async fn fetch(&self, presigned: &PresignedView) -> Result<Response, ClientError> {
        let request = self.presigned(Method::GET, presigned);
        self.send("downloading", request).await
    }

    fn presigned(&self, method: Method, presigned: &PresignedView) -> RequestBuilder {
        let mut request = self.http().request(method, &presigned.url);
        for (name, value) in &presigned.headers {
            if !SET_BY_THE_CLIENT.contains(&name.to_ascii_lowercase().as_str()) {
                request = request.header(name, value);
            }
        }
        request
    }
}
