//! A small authorization server and API, served on a loopback port.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;

use axum::Router;
use tokengate::{
    Algorithm, ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, Authenticator, InMemoryApiKeyStore,
    InMemoryRefreshStore, Introspector, KeyRing, NewApiKey, RefreshTokens, RevocationList,
    ScopeSet, SigningKey, TokenBuilder, Validator,
};

pub const ISSUER: &str = "https://auth.test";
pub const AUDIENCE: &str = "https://api.test";
pub const REALM: &str = "api";

/// Everything a test needs: the keys, the stores and the doors over them.
pub struct World {
    pub ring: Arc<KeyRing>,
    pub revocations: Arc<RevocationList>,
    pub api_keys: Arc<InMemoryApiKeyStore>,
    pub format: ApiKeyFormat,
    pub refresh: RefreshTokens,
    pub validator: Validator,
    pub door: Arc<Authenticator>,
    pub introspector: Arc<Introspector>,
}

impl World {
    pub fn new() -> Self {
        let ring = Arc::new(KeyRing::new(
            SigningKey::generate(Algorithm::ES256).unwrap(),
        ));
        let revocations = Arc::new(RevocationList::new());
        let api_keys = Arc::new(InMemoryApiKeyStore::new());
        let format = ApiKeyFormat::new("acme")
            .unwrap()
            .environment("test")
            .unwrap();
        let refresh = RefreshTokens::builder(
            Arc::new(InMemoryRefreshStore::new()),
            Arc::clone(&ring),
            TokenBuilder::new()
                .access_token()
                .issuer(ISSUER)
                .audience(AUDIENCE),
        )
        .revocation(revocations.clone())
        .build()
        .unwrap();
        let validator = refresh
            .validator_builder()
            .access_token_profile()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .build()
            .unwrap();
        let door = Arc::new(
            Authenticator::builder()
                .access_tokens(validator.clone())
                .api_keys(ApiKeyVerifier::new(format.clone(), api_keys.clone()))
                .realm(REALM)
                .build()
                .unwrap(),
        );
        let introspector = Arc::new(
            Introspector::builder()
                .access_tokens(validator.clone())
                .api_keys(ApiKeyVerifier::new(format.clone(), api_keys.clone()))
                .refresh_tokens(refresh.clone())
                .revocation(revocations.clone())
                .build()
                .unwrap(),
        );
        Self {
            ring,
            revocations,
            api_keys,
            format,
            refresh,
            validator,
            door,
            introspector,
        }
    }

    pub fn verifier(&self) -> ApiKeyVerifier {
        ApiKeyVerifier::new(self.format.clone(), self.api_keys.clone())
    }

    /// A new API key of `owner` with `scopes`; its secret.
    pub fn api_key(&self, owner: &str, scopes: &str) -> String {
        ApiKeyIssuer::new(self.format.clone())
            .issue_into(
                &*self.api_keys,
                NewApiKey::new(owner).scopes(ScopeSet::parse(scopes).unwrap()),
            )
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    /// The access token template of this issuer.
    pub fn token(&self) -> TokenBuilder {
        TokenBuilder::new()
            .access_token()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .subject("user-1")
            .client_id("web")
    }

    pub fn sign(&self, builder: &TokenBuilder) -> String {
        builder.sign(&self.ring.current()).unwrap()
    }
}

/// Serves `app` on 127.0.0.1:0; its base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    format!("http://{addr}")
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

/// The `WWW-Authenticate` value of a response, if any.
pub fn challenge(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
}
