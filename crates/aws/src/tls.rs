//! The HTTPS client every SDK client uses, and the roots of trust it checks AWS
//! endpoints against.
//!
//! It is the SDK's own client (`aws-smithy-http-client`: hyper, rustls, proxies from
//! the environment) with two choices of ours:
//! - rustls on ring rather than the SDK's default aws-lc, which is a C library that
//!   takes longer to build and adds about 2 MB to each binary;
//! - by default ([`TrustRoots::Amazon`]) only the Amazon Trust Services roots,
//!   compiled in from `certs/amazon-trust-services.pem`: every endpoint a function
//!   calls (S3, DynamoDB, EventBridge, STS) presents a chain to one of them. This is
//!   faster and narrower than the SDK's default, which reads and parses the
//!   platform's whole store when each client is built (here about 145 files, the
//!   largest part of a cold start, see BENCHMARKS.md), and trusts any public CA to
//!   speak for AWS.
//!
//! [`TrustRoots::System`] (`AIRLOCK_TLS_ROOTS=system`) trusts the platform's store as
//! the SDK does by default, for a TLS-inspecting proxy or an HTTPS endpoint override
//! with a CA of its own.

use std::{fmt, str::FromStr};

use aws_smithy_http_client::{
    Builder, ConnectorBuilder,
    proxy::ProxyConfig,
    tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode},
};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The Amazon Trust Services roots, PEM, with a comment naming each.
pub const AMAZON_TRUST_SERVICES_PEM: &str = include_str!("../certs/amazon-trust-services.pem");

/// Which certificate authorities the functions trust for AWS endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TrustRoots {
    /// Amazon Trust Services' roots alone, compiled in: nothing read from disk.
    #[default]
    Amazon,
    /// The platform's store, as the SDK loads it by default.
    System,
}

/// `AIRLOCK_TLS_ROOTS` holds something other than `amazon` or `system`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected amazon or system")]
pub struct UnknownTrustRoots;

impl FromStr for TrustRoots {
    type Err = UnknownTrustRoots;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "amazon" => Ok(Self::Amazon),
            "system" => Ok(Self::System),
            _ => Err(UnknownTrustRoots),
        }
    }
}

impl fmt::Display for TrustRoots {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Amazon => "amazon",
            Self::System => "system",
        })
    }
}

impl TrustRoots {
    /// The HTTPS client that trusts these roots.
    pub fn https_client(self) -> SharedHttpClient {
        https_client_trusting(self.trust_store())
    }

    fn trust_store(self) -> TrustStore {
        match self {
            Self::Amazon => {
                TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES_PEM.as_bytes())
            }
            // The platform's store, read once per process and cached by the client crate.
            Self::System => TrustStore::default(),
        }
    }
}

/// The SDK's default HTTPS client (hyper and rustls, proxies from the environment)
/// on ring, with `trust_store`.
fn https_client_trusting(trust_store: TrustStore) -> SharedHttpClient {
    let context = tls_context(trust_store);
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut connector = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(context.clone());
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

fn tls_context(trust_store: TrustStore) -> TlsContext {
    let builder = TlsContext::builder().with_trust_store(trust_store);
    // Building a context only stores its parts (it cannot fail today); should a later
    // release check them, the default context is the safe fallback, not a panic.
    builder.build().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_parses_both_words_and_refuses_others() {
        assert_eq!("amazon".parse(), Ok(TrustRoots::Amazon));
        assert_eq!("system".parse(), Ok(TrustRoots::System));
        assert_eq!("mozilla".parse::<TrustRoots>(), Err(UnknownTrustRoots));
        assert_eq!(TrustRoots::default().to_string(), "amazon");
    }

    /// Each certificate of the bundle with the SHA-256 fingerprint its comment names.
    fn certificates_and_named_fingerprints() -> Vec<(Vec<u8>, String)> {
        use base64::Engine;
        let mut found = Vec::new();
        let mut named = String::new();
        let mut body = String::new();
        for line in AMAZON_TRUST_SERVICES_PEM.lines() {
            if let Some(fingerprint) = line.strip_prefix("# SHA-256 ") {
                named = fingerprint.replace(':', "").to_lowercase();
            } else if line == "-----END CERTIFICATE-----" {
                let der = base64::engine::general_purpose::STANDARD
                    .decode(&body)
                    .unwrap();
                found.push((der, std::mem::take(&mut named)));
                body.clear();
            } else if !line.starts_with('#') && !line.starts_with("-----") {
                body.push_str(line.trim());
            }
        }
        found
    }

    #[test]
    fn every_compiled_in_root_has_the_fingerprint_its_comment_names() {
        use sha2::Digest;
        let certificates = certificates_and_named_fingerprints();
        assert_eq!(certificates.len(), 5, "Amazon Root CA 1-4 and Starfield G2");
        for (der, named) in certificates {
            assert_eq!(hex::encode(sha2::Sha256::digest(&der)), named);
        }
    }

    #[test]
    fn an_sdk_client_builds_on_either_trust_store() {
        // Building a client builds its connector, which parses every root and panics
        // on one that does not parse: this is the check that they all do.
        for roots in [TrustRoots::Amazon, TrustRoots::System] {
            let sdk = aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new("eu-west-1"))
                .http_client(roots.https_client())
                .build();
            let client = aws_sdk_s3::Client::new(&sdk);
            assert!(client.config().http_client().is_some(), "{roots}");
        }
    }
}
