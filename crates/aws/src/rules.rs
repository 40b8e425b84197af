//! Scanning rules kept in the bucket under a prefix (`rules/` by default): every
//! `.yar` or `.yara` object there. A listing gives each object's ETag, so a warm
//! function learns whether the rules changed with one `ListObjectsV2` call and
//! downloads them only when they did.
//!
//! Precompiled rulesets live under `<prefix>.compiled/` (see `airlock_scan::precompiled`);
//! the listing leaves that folder out, and the functions that scan may write there
//! and nowhere else in the prefix (infra/template.yaml).

use airlock_domain::ports::{COMPILED_RULES_DIR, RuleFile, RuleSource, StoreError, rules_version};
use airlock_scan::{ScanSettings, Scanning};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

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
            let compiled = self.compiled_key("");
            found.extend(page.contents().iter().filter_map(|o| {
                let key = o.key()?;
                let is_rule = (key.ends_with(".yar") || key.ends_with(".yara"))
                    && !key.starts_with(&compiled);
                is_rule.then(|| (key.to_owned(), o.e_tag().unwrap_or_default().to_owned()))
            }));
        }
        Ok(found)
    }

    /// The key of precompiled blob `name`: in `.compiled/` under the prefix.
    fn compiled_key(&self, name: &str) -> String {
        let separator = if self.prefix.is_empty() || self.prefix.ends_with('/') {
            ""
        } else {
            "/"
        };
        format!("{}{separator}{COMPILED_RULES_DIR}/{name}", self.prefix)
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

    async fn load_compiled(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.compiled_key(name);
        let object = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&key)
            .send()
            .await
        {
            Ok(object) => object,
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 404) => {
                return Ok(None);
            }
            Err(e) => return Err(backend(e)),
        };
        let bytes = object.body.collect().await.map_err(backend)?.into_bytes();
        Ok(Some(bytes.to_vec()))
    }

    async fn save_compiled(&self, name: &str, blob: Vec<u8>) -> Result<(), StoreError> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(self.compiled_key(name))
            .body(ByteStream::from(blob))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }
}

fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(Box::new(e))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use airlock_domain::ports::{RuleFile, RuleSource, StoreError};
    use airlock_scan::LiveRules;

    use airlock_telemetry::metrics::Metric;
    use airlock_testkit::LogBuffer;

    /// One rule file that compiles and one that does not.
    struct OneGoodOneBroken;

    impl RuleSource for OneGoodOneBroken {
        async fn version(&self) -> Result<String, StoreError> {
            Ok("v1".into())
        }
        async fn load(&self) -> Result<(String, Vec<RuleFile>), StoreError> {
            Ok((
                "v1".into(),
                vec![
                    RuleFile {
                        name: "rules/good.yar".into(),
                        source: "rule fine { condition: false }".into(),
                    },
                    RuleFile {
                        name: "rules/broken.yar".into(),
                        source: "rule broken { condition: no_such_thing }".into(),
                    },
                ],
            ))
        }
    }

    #[test]
    fn the_scanners_left_out_metric_is_one_of_airlocks() {
        assert_eq!(
            Metric::from_name(airlock_scan::live::RULE_FILES_LEFT_OUT),
            Some(Metric::RuleFilesLeftOut)
        );
        assert_eq!(
            airlock_scan::live::METRICS_TARGET,
            airlock_telemetry::metrics::METRICS_TARGET
        );
    }

    #[tokio::test]
    async fn a_rule_file_left_out_is_named_in_the_log_and_counted_in_an_emf_metric() {
        let logs = LogBuffer::new();
        let _guard = logs.capture("airlock-ingest");

        let live = LiveRules::start(OneGoodOneBroken, std::time::Duration::from_secs(60))
            .await
            .unwrap();

        let rules = live.in_force().unwrap();
        assert_eq!(rules.in_force(), ["airlock.yar", "rules/good.yar"]);
        let lines = logs.lines();
        let emf = lines
            .iter()
            .find(|line| line.get("_aws").is_some())
            .expect("an EMF document");
        assert_eq!(emf["RuleFilesLeftOut"], 1.0, "{emf}");
        let named = lines.iter().any(|line| {
            line.to_string().contains("rules/broken.yar")
                && line.to_string().contains("no_such_thing")
                && line.get("_aws").is_none()
        });
        assert!(
            named,
            "the log names the file and the compiler's message: {lines:?}"
        );
    }
}
