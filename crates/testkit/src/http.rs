//! The client's side of an upload over HTTP, against anything that serves the api with
//! bearer tokens (the local stack in process, or its binary): ask for an upload, then
//! send the bytes to the presigned URL exactly as the answer says to.

use reqwest::{Client, Response, StatusCode};
use serde_json::{Value, json};

/// `POST {base_url}/v1/files` for `name`, declared as `content_type` and `size` bytes,
/// with `token`; asserts 201 Created and answers the body (`file` and `upload`).
pub async fn create_upload(
    client: &Client,
    base_url: &str,
    token: &str,
    name: &str,
    content_type: &str,
    size: usize,
) -> Value {
    let response = client
        .post(format!("{base_url}/v1/files"))
        .bearer_auth(token)
        .json(&json!({"name": name, "content_type": content_type, "size": size}))
        .send()
        .await
        .expect("the api answers");
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.expect("a JSON body")
}

/// `bytes` PUT to the presigned `upload` (the `upload` object of a create answer) with
/// the headers it lists; `content-length` is left to the client, which sets it from
/// the body, and `host` to the URL.
pub async fn put_presigned(client: &Client, upload: &Value, bytes: Vec<u8>) -> Response {
    let url = upload["url"].as_str().expect("the upload has a URL");
    let mut request = client.put(url);
    let headers = upload["headers"]
        .as_object()
        .expect("the upload lists headers");
    for (name, value) in headers {
        if name != "content-length" && name != "host" {
            request = request.header(name, value.as_str().expect("a header value is text"));
        }
    }
    request
        .body(bytes)
        .send()
        .await
        .expect("the PUT is answered")
}

/// [`create_upload`] then [`put_presigned`] of `bytes`, asserting 200 OK for the PUT;
/// answers the create answer (the file's id is at `["file"]["id"]`).
pub async fn upload(
    client: &Client,
    base_url: &str,
    token: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> Value {
    let created = create_upload(client, base_url, token, name, content_type, bytes.len()).await;
    let response = put_presigned(client, &created["upload"], bytes.to_vec()).await;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    assert_eq!(status, StatusCode::OK, "{text}");
    created
}

/// The JSON answer to `GET {base_url}{path}` with `token`, whatever its status.
pub async fn get_json(client: &Client, base_url: &str, token: &str, path: &str) -> Value {
    let response = client
        .get(format!("{base_url}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .expect("the api answers");
    response.json().await.expect("a JSON body")
}

/// The body of a plain GET of `url` (a presigned download needs nothing else).
pub async fn get_bytes(client: &Client, url: &str) -> Vec<u8> {
    let response = client.get(url).send().await.expect("the GET is answered");
    let body = response.bytes().await.expect("the body is read");
    body.to_vec()
}
