//! Dev tokens: HS256 JWTs signed with the stack's own secret. They stand in for the
//! tokens API Gateway's JWT authorizer verifies in a deployment, and are checked the
//! same way: signature, algorithm, issuer, audience and expiry. The verified claims
//! are handed to the api handler exactly where the authorizer would put them.

use std::collections::HashMap;

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The issuer of dev tokens.
pub const ISSUER: &str = "airlock-local";
/// The audience of dev tokens.
pub const AUDIENCE: &str = "airlock";
/// The claim that names the tenant (the api handler's default).
pub const TENANT_CLAIM: &str = "tenant_id";

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three base64url parts of JSON.
    #[error("token is malformed")]
    Malformed,
    /// Not HS256.
    #[error("token algorithm is not HS256")]
    Algorithm,
    /// The signature does not match.
    #[error("token signature does not match")]
    Signature,
    /// Wrong issuer or audience.
    #[error("token was not issued for this API")]
    Audience,
    /// Past its `exp`.
    #[error("token has expired")]
    Expired,
}

/// Issues and verifies dev tokens.
#[derive(Clone)]
pub struct DevTokens {
    secret: Vec<u8>,
}

impl DevTokens {
    /// Tokens signed with `secret`.
    pub fn new(secret: Vec<u8>) -> Self {
        Self { secret }
    }

    fn mac(&self) -> Hmac<Sha256> {
        airlock_local::hmac_sha256(&self.secret)
    }

    /// A token for `tenant`, valid for `valid_for` from `now` (Unix seconds).
    pub fn issue(&self, tenant: &str, now: i64, valid_for: i64) -> String {
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": format!("dev-{tenant}"),
            TENANT_CLAIM: tenant,
            "iat": now,
            "exp": now + valid_for,
        });
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = self.mac();
        mac.update(format!("{header}.{payload}").as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{header}.{payload}.{signature}")
    }

    /// Verifies a token; returns its claims as strings, as API Gateway passes them.
    pub fn verify(&self, token: &str, now: i64) -> Result<HashMap<String, String>, TokenError> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: serde_json::Value = decode_json(header)?;
        if header["alg"] != "HS256" {
            return Err(TokenError::Algorithm);
        }
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(format!("{}.{payload}", token_head(token)).as_bytes());
        mac.verify_slice(&signature)
            .map_err(|_| TokenError::Signature)?;
        let claims: serde_json::Map<String, serde_json::Value> = decode_json(payload)?;
        if claims.get("iss").and_then(|v| v.as_str()) != Some(ISSUER)
            || claims.get("aud").and_then(|v| v.as_str()) != Some(AUDIENCE)
        {
            return Err(TokenError::Audience);
        }
        match claims.get("exp").and_then(serde_json::Value::as_i64) {
            Some(exp) if exp > now => {}
            _ => return Err(TokenError::Expired),
        }
        Ok(claims
            .into_iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect())
    }
}

fn token_head(token: &str) -> &str {
    token.split('.').next().unwrap_or_default()
}

fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_token_verifies_and_names_its_tenant() {
        let tokens = DevTokens::new(b"s".to_vec());
        let claims = tokens.verify(&tokens.issue("acme", 100, 60), 120).unwrap();
        assert_eq!(claims[TENANT_CLAIM], "acme");
        assert_eq!(claims["exp"], "160");
    }

    #[test]
    fn expired_forged_and_malformed_tokens_are_refused() {
        let tokens = DevTokens::new(b"s".to_vec());
        let token = tokens.issue("acme", 100, 60);
        assert_eq!(tokens.verify(&token, 160), Err(TokenError::Expired));
        let forged = DevTokens::new(b"other".to_vec()).issue("acme", 100, 60);
        assert_eq!(tokens.verify(&forged, 120), Err(TokenError::Signature));
        assert_eq!(tokens.verify("a.b", 120), Err(TokenError::Malformed));
        assert_eq!(tokens.verify("", 120), Err(TokenError::Malformed));
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            token.split('.').nth(1).unwrap()
        );
        assert_eq!(tokens.verify(&none_alg, 120), Err(TokenError::Algorithm));
    }

    #[test]
    fn a_token_with_its_claims_changed_is_refused() {
        let tokens = DevTokens::new(b"s".to_vec());
        let token = tokens.issue("acme", 100, 60);
        let parts: Vec<&str> = token.split('.').collect();
        let other = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"iss": ISSUER, "aud": AUDIENCE, TENANT_CLAIM: "evil", "exp": 999})
                .to_string(),
        );
        let tampered = format!("{}.{other}.{}", parts[0], parts[2]);
        assert_eq!(tokens.verify(&tampered, 120), Err(TokenError::Signature));
    }
}
