//! An unsigned `Content-Encoding` on the local stack, as on S3: the PUT stores it
//! though nothing signed it, so ingest must refuse it; and every download answers with
//! the verified type, unencoded, as an attachment, whatever was stored.

use reqwest::StatusCode;

use crate::helpers::{TestStack, spawn_stack};

impl TestStack {
    /// Sends the upload's signed headers plus one the signature does not cover.
    async fn put_with_extra_header(
        &self,
        upload: &serde_json::Value,
        bytes: Vec<u8>,
        (name, value): (&str, &str),
    ) -> reqwest::Response {
        let mut request = self.client.put(upload["url"].as_str().unwrap());
        for (signed, value) in upload["headers"].as_object().unwrap() {
            if signed != "content-length" {
                request = request.header(signed, value.as_str().unwrap());
            }
        }
        request
            .header(name, value)
            .body(bytes)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_upload_stored_with_an_unsigned_content_encoding_is_rejected_naming_it() {
    let app = spawn_stack().await;
    // Stand-in for brotli of an executable: no magic bytes, nothing a rule matches.
    let compressed = b"\x1b\x03\x00\xf8\xa5\x40\x40\x01opaque bytes".to_vec();
    let created = app
        .create_upload(
            "acme",
            "data.bin",
            "application/octet-stream",
            compressed.len(),
        )
        .await;
    let id = created["file"]["id"].as_str().unwrap();

    let put = app
        .put_with_extra_header(&created["upload"], compressed, ("content-encoding", "br"))
        .await;

    // Accepted, as S3 accepts a header outside the signature.
    assert_eq!(put.status(), StatusCode::OK);
    let file = app.wait_for_status("acme", id, "REJECTED").await;
    assert_eq!(
        file["verdict"]["reasons"],
        serde_json::json!([{
            "code": "stored_headers_mismatch",
            "header": "content-encoding",
            "signed": null,
            "stored": "br"
        }])
    );
    let (status, _) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test]
async fn a_download_answers_with_the_declared_type_unencoded_as_an_attachment() {
    let app = spawn_stack().await;
    let id = app.clean_png().await;

    let (_, download) = app.get("acme", &format!("/v1/files/{id}/download")).await;
    let url = download["url"].as_str().unwrap();
    let response = app.client.get(url).send().await.unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("image/png"));
    assert_eq!(header("content-encoding").as_deref(), Some("identity"));
    let disposition = header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment;")
            && disposition.contains("filename*=UTF-8''pixel.png"),
        "{disposition}"
    );
    // The overrides are signed: a URL that drops one is refused.
    let stripped = url.replace("response-content-encoding=identity&", "");
    assert_ne!(stripped, url);
    let refused = app.client.get(&stripped).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}
