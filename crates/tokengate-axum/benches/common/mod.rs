//! The door both benchmarks put in front of their route: a key ring of
//! one key, API keys in memory, and a token and a key to present.

use std::sync::Arc;

use tokengate::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, Authenticator, InMemoryApiKeyStore, KeyRing,
    NewApiKey, ScopeSet, SigningKey, TokenBuilder, Validator,
};

pub(crate) const ISSUER: &str = "https://auth.bench";
pub(crate) const AUDIENCE: &str = "https://api.bench";

/// A door over a key ring of `key` and API keys, its validator caching
/// verified tokens when `cache` is set; an access token (`iss`, `aud`,
/// `exp` and `nbf`: what the throughput peer checks too) and an API key.
pub(crate) fn door(key: SigningKey, cache: bool) -> (Arc<Authenticator>, String, String) {
    let ring = Arc::new(KeyRing::new(key));
    let mut validator = Validator::builder(Arc::clone(&ring))
        .access_token_profile()
        .issuer(ISSUER)
        .audience(AUDIENCE);
    if cache {
        validator = validator.cache_verified(10_000);
    }
    let format = ApiKeyFormat::new("bench").unwrap();
    let store = Arc::new(InMemoryApiKeyStore::new());
    let api_key = ApiKeyIssuer::new(format.clone())
        .issue_into(
            &*store,
            NewApiKey::new("svc").scopes(ScopeSet::parse("orders:read").unwrap()),
        )
        .unwrap()
        .expose_secret()
        .to_owned();
    let token = TokenBuilder::new()
        .access_token()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .subject("user-1")
        .client_id("web")
        .scope("orders:read")
        .not_before(tokengate::time::OffsetDateTime::now_utc())
        .lifetime(tokengate::time::Duration::hours(1))
        .sign(&ring.current())
        .unwrap();
    let door = Authenticator::builder()
        .access_tokens(validator.build().unwrap())
        .api_keys(ApiKeyVerifier::new(format, store))
        .build()
        .unwrap();
    (Arc::new(door), token, api_key)
}
