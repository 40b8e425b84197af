//! Scanning rules kept in the bucket under a prefix (`rules/` by default): every
//! `.yar` or `.yara` object there. A listing gives each object's ETag, so a warm
//! function learns whether the rules changed with one `ListObjectsV2` call and
//! downloads them only when they did.

use airlock_domain::ports::{RuleFile, RuleSource, StoreError, rules_version};
use airlock_scan::{ScanSettings, Scanning};
use aws_sdk_s3::Client;

use crate::config::ScanConfig;

/// The scanner ingest and sweep build at cold start: the default rules plus the
/// bucket's, with the configured limits. Listing, downloading and compiling the rules
/// run in the background (see [`Scanning::start_in_background`]), so the cold start
/// does not wait for them; the first scan does, for what is left. Needs a tokio
/// runtime.
pub fn scanning(s3: Client, bucket: &str, config: ScanConfig) -> Scanning<S3RuleSource> {
    Scanning::start_in_background(
        S3RuleSource::new(s3, bucket, config.rules_prefix),
        config.rules_check_every,
        ScanSettings {
            memory_budget: config.memory_budget,
            timeout: config.timeout,
        },
        config.limits,
    )
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct S3RuleSource {
    client: Client,
    bucket: String,
    prefix: String,
}

impl S3RuleSource {
    /// Rules under `prefix` in `bucket`.
    pub fn new(client: Client, bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
            prefix: prefix.into(),
        }
    }

    /// The same, with a client built from the shared SDK configuration.
    pub fn from_sdk(
        sdk: &aws_config::SdkConfig,
        bucket: impl Into<String>,
        prefix: impl Into<String>,
    ) -> Self {
        Self::new(crate::s3_client(sdk), bucket, prefix)
    }

    /// `(key, etag)` of every rule object.
    async fn listing(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&self.prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(backend)?;
            found.extend(page.contents().iter().filter_map(|o| {
                let key = o.key()?;
                let is_rule = key.ends_with(".yar") || key.ends_with(".yara");
                is_rule.then(|| (key.to_owned(), o.e_tag().unwrap_or_default().to_owned()))
            }));
        }
        Ok(found)
    }

    async fn download(&self, key: &str) -> Result<String, StoreError> {
        let object = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(backend)?;
        let bytes = object.body.collect().await.map_err(backend)?.into_bytes();
        String::from_utf8(bytes.to_vec()).map_err(backend)
    }
}

fn version_of(listing: &[(String, String)]) -> String {
    rules_version(listing.iter().map(|(k, e)| (k.as_str(), e.as_str())))
}

impl RuleSource for S3RuleSource {
    async fn version(&self) -> Result<String, StoreError> {
        Ok(version_of(&self.listing().await?))
    }

    async fn load(&self) -> Result<(String, Vec<RuleFile>), StoreError> {
        let listing = self.listing().await?;
        let mut files = Vec::with_capacity(listing.len());
        for (key, _) in &listing {
            files.push(RuleFile {
                name: key.clone(),
                source: self.download(key).await?,
            });
        }
        Ok((version_of(&listing), files))
    }
}

fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(Box::new(e))
}
