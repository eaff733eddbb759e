//! The example's authorization server and protected API, with in-memory
//! stores (or, with `REDIS_URL` set, the shared stores of
//! `tokengate-redis`), and the walk through it that `--self-test` runs
//! (the integration tests run it too).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokengate::time::Duration;
use tokengate::{
    Algorithm, ApiKeyFormat, ApiKeyIssuer, ApiKeyStore, ApiKeyVerifier, Authenticator, Grant,
    InMemoryApiKeyStore, InMemoryRefreshStore, Introspector, KeyRing, NewApiKey, RefreshStore,
    RefreshTokens, Revocation, RevocationList, RevocationStore, ScopeSet, SigningKey, TokenBuilder,
    Validator,
};
use tokengate_axum::server::{
    JWKS_PATH, TokenEndpoint, introspection_router, jwks_router, revocation_router,
};
use tokengate_axum::{Auth, AuthLayer, RequireScopes};
use tokengate_redis::{
    RedisApiKeyStore, RedisConfig, RedisRefreshStore, RedisRevocationReplica, RedisRevocationStore,
};

pub(crate) const ISSUER: &str = "https://auth.example.test";
pub(crate) const AUDIENCE: &str = "https://orders.example.test";

/// The running demo: its router and the demo credentials it printed.
pub(crate) struct Demo {
    pub(crate) router: Router,
    /// The API key of OAuth client `demo-client` (scope `orders:read`).
    pub(crate) client_key: String,
    /// The API key of the resource server allowed to introspect.
    pub(crate) introspect_key: String,
    /// Where the state lives, for the banner.
    pub(crate) stores: String,
    /// The Redis replica's follower thread, kept running with the demo.
    _replica: Option<RedisRevocationReplica>,
}

/// Where the demo keeps its state.
struct Stores {
    ring: Arc<KeyRing>,
    /// Where revocations are written (refresh reuse, RFC 7009).
    revocation_writes: Arc<dyn RevocationStore>,
    /// What the validators read: the same list in memory, a local replica
    /// fed by the Redis stream in a fleet.
    revocation_reads: Arc<dyn Revocation>,
    api_keys: Arc<dyn ApiKeyStore>,
    refresh: Arc<dyn RefreshStore>,
    replica: Option<RedisRevocationReplica>,
    description: String,
}

impl Stores {
    fn memory() -> Result<Self, Error> {
        let revocations = Arc::new(RevocationList::new());
        Ok(Self {
            ring: Arc::new(KeyRing::new(SigningKey::generate(Algorithm::ES256)?)),
            revocation_writes: revocations.clone(),
            revocation_reads: revocations,
            api_keys: Arc::new(InMemoryApiKeyStore::new()),
            refresh: Arc::new(InMemoryRefreshStore::new()),
            replica: None,
            description: "in memory, new at every start".to_owned(),
        })
    }

    /// Every instance started with the same `REDIS_URL` (and
    /// `DEMO_SIGNING_SECRET`) shares revocations, API keys and refresh
    /// families, and accepts the others' tokens: an HS256 key from the
    /// shared secret stands in for the key distribution a real fleet has.
    fn redis(url: &str) -> Result<Self, Error> {
        let secret = std::env::var("DEMO_SIGNING_SECRET")
            .unwrap_or_else(|_| "demo only: set DEMO_SIGNING_SECRET in a real fleet".to_owned());
        let key = SigningKey::hmac(Algorithm::HS256, secret.as_bytes())?.with_key_id("demo-hs256");
        let config = RedisConfig::new(url).prefix("tokengate-axum-demo");
        let replica = RedisRevocationReplica::start(&config)?;
        replica.wait_ready(std::time::Duration::from_secs(10))?;
        Ok(Self {
            ring: Arc::new(KeyRing::new(key)),
            revocation_writes: Arc::new(RedisRevocationStore::new(&config)?),
            revocation_reads: replica.replica(),
            api_keys: Arc::new(
                RedisApiKeyStore::connect(&config)?
                    .wait_ready(std::time::Duration::from_secs(10))?,
            ),
            refresh: Arc::new(RedisRefreshStore::connect(&config)?),
            replica: Some(replica),
            description: format!("shared on Redis at {url}, keys under {{tokengate-axum-demo:…}}"),
        })
    }
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Builds the demo with fresh keys and in-memory stores, or on the Redis
/// that `REDIS_URL` names.
pub(crate) fn build() -> Result<Demo, Error> {
    match std::env::var("REDIS_URL") {
        Ok(url) => build_on_redis(&url),
        Err(_) => build_on(Stores::memory()?),
    }
}

/// Builds the demo on the Redis at `url`: every instance built on it
/// shares revocations, API keys and refresh families.
pub(crate) fn build_on_redis(url: &str) -> Result<Demo, Error> {
    build_on(Stores::redis(url)?)
}

fn build_on(stores: Stores) -> Result<Demo, Error> {
    let ring = stores.ring;
    let api_keys = stores.api_keys;
    let format = ApiKeyFormat::new("demo")?.environment("test")?;
    let issuer = ApiKeyIssuer::new(format.clone());
    let client_key = issuer
        .issue_into(
            &*api_keys,
            NewApiKey::new("demo-client").scopes(ScopeSet::parse("orders:read")?),
        )?
        .expose_secret()
        .to_owned();
    let introspect_key = issuer
        .issue_into(
            &*api_keys,
            NewApiKey::new("orders-api").scopes(ScopeSet::parse("tokens:introspect")?),
        )?
        .expose_secret()
        .to_owned();
    let verifier = ApiKeyVerifier::new(format, api_keys);

    let access = TokenBuilder::new()
        .access_token()
        .issuer(ISSUER)
        .audience(AUDIENCE);
    let refresh = RefreshTokens::builder(stores.refresh, Arc::clone(&ring), access.clone())
        .revocation(stores.revocation_writes.clone())
        .build()?;
    let validator = Validator::builder(Arc::clone(&ring))
        .access_token_profile()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .revocation(stores.revocation_reads)
        // A client repeats its token on every call: a repeat skips the
        // signature check; revocation, expiry and the key are checked
        // on every request all the same.
        .cache_verified(10_000)
        .build()?;
    let door = Arc::new(
        Authenticator::builder()
            .access_tokens(validator.clone())
            .api_keys(verifier.clone())
            .realm("orders")
            .build()?,
    );
    let introspector = Arc::new(
        Introspector::builder()
            .access_tokens(validator)
            .api_keys(verifier.clone())
            .refresh_tokens(refresh.clone())
            .revocation(stores.revocation_writes)
            .build()?,
    );

    let api = Router::new()
        .route("/api/me", get(me))
        .merge(
            Router::new()
                .route("/api/orders", get(|| async { r#"["order-1","order-2"]"# }))
                .route_layer(RequireScopes::all("orders:read")?),
        )
        .merge(
            Router::new()
                .route(
                    "/api/orders",
                    post(|| async { (StatusCode::CREATED, "created") }),
                )
                .route_layer(RequireScopes::all("orders:write")?),
        )
        .layer(AuthLayer::new(Arc::clone(&door)));

    let router = Router::new()
        .merge(jwks_router(Arc::clone(&ring), Duration::minutes(5)))
        .merge(
            TokenEndpoint::new(verifier.clone(), Arc::clone(&ring), access)
                .refresh_tokens(refresh.clone())
                .router("/oauth/token"),
        )
        .merge(introspection_router(
            "/oauth/introspect",
            Arc::clone(&introspector),
            AuthLayer::new(door),
            RequireScopes::all("tokens:introspect")?,
        ))
        .merge(revocation_router("/oauth/revoke", introspector, verifier))
        .route("/demo/login", post(login).with_state(refresh))
        .merge(api);
    Ok(Demo {
        router,
        client_key,
        introspect_key,
        stores: stores.description,
        _replica: stores.replica,
    })
}

async fn me(Auth(caller): Auth) -> String {
    format!(
        "{{\"sub\":{:?},\"scope\":{:?}}}\n",
        caller.subject().unwrap_or(""),
        caller.scopes().to_string()
    )
}

/// Stands in for the application's real sign-in (a password check, an
/// authorization code): opens a refresh family of `demo-user` for
/// `demo-client`. Demo only: it checks nothing.
async fn login(State(refresh): State<RefreshTokens>, _headers: HeaderMap) -> Response {
    let grant = Grant::new("demo-user")
        .client_id("demo-client")
        .scopes(ScopeSet::parse("orders:read").unwrap_or_default());
    match tokio::task::spawn_blocking(move || refresh.login(grant)).await {
        Ok(Ok(pair)) => (
            [
                ("content-type", "application/json"),
                ("cache-control", "no-store"),
            ],
            serde_json::json!({
                "access_token": pair.access_token,
                "token_type": "Bearer",
                "expires_in": pair.expires_in,
                "refresh_token": pair.refresh_token.expose_secret(),
            })
            .to_string(),
        )
            .into_response(),
        _ => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// The walk through every endpoint: each line one request and what it
/// answered; an `Err` at the first unexpected answer.
pub(crate) async fn self_test(base: &str, demo: &Demo) -> Result<Vec<String>, String> {
    let http = reqwest::Client::new();
    let mut log = Vec::new();
    let form = "application/x-www-form-urlencoded";

    macro_rules! check {
        ($what:expr, $resp:expr, $status:expr) => {{
            let r: reqwest::Response = $resp.map_err(|e| format!("{}: {e}", $what))?;
            let status = r.status().as_u16();
            let challenge = r
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = r.text().await.map_err(|e| e.to_string())?;
            let line = match &challenge {
                Some(c) => format!("{status} {} (WWW-Authenticate: {c})", $what),
                None => format!("{status} {}", $what),
            };
            if status != $status {
                return Err(format!("expected {}, got {line}: {body}", $status));
            }
            log.push(line);
            (challenge, body)
        }};
    }
    fn field(body: &str, name: &str) -> Result<String, String> {
        let v: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
        v.get(name)
            .and_then(|f| f.as_str())
            .map(str::to_owned)
            .ok_or_else(|| format!("no {name} in {body}"))
    }

    check!(
        "GET /api/orders without a token",
        http.get(format!("{base}/api/orders")).send().await,
        401
    );
    let (_, body) = check!(
        "POST /oauth/token client_credentials (demo-client's API key, HTTP Basic)",
        http.post(format!("{base}/oauth/token"))
            .basic_auth("demo-client", Some(&demo.client_key))
            .header("content-type", form)
            .body("grant_type=client_credentials")
            .send()
            .await,
        200
    );
    let token = field(&body, "access_token")?;
    check!(
        "GET /api/orders with the token",
        http.get(format!("{base}/api/orders"))
            .bearer_auth(&token)
            .send()
            .await,
        200
    );
    let (challenge, _) = check!(
        "POST /api/orders with the token (no orders:write)",
        http.post(format!("{base}/api/orders"))
            .bearer_auth(&token)
            .send()
            .await,
        403
    );
    if !challenge.is_some_and(|c| c.contains(r#"scope="orders:write""#)) {
        return Err("the 403 challenge does not name orders:write".into());
    }
    check!(
        "POST /oauth/token with a scope the client does not hold",
        http.post(format!("{base}/oauth/token"))
            .basic_auth("demo-client", Some(&demo.client_key))
            .header("content-type", form)
            .body("grant_type=client_credentials&scope=orders%3Awrite")
            .send()
            .await,
        400
    );
    let (_, body) = check!(
        "POST /demo/login (a refresh family for demo-user)",
        http.post(format!("{base}/demo/login")).send().await,
        200
    );
    let first_refresh = field(&body, "refresh_token")?;
    let (_, body) = check!(
        "POST /oauth/token refresh_token",
        http.post(format!("{base}/oauth/token"))
            .basic_auth("demo-client", Some(&demo.client_key))
            .header("content-type", form)
            .body(format!(
                "grant_type=refresh_token&refresh_token={first_refresh}"
            ))
            .send()
            .await,
        200
    );
    let user_token = field(&body, "access_token")?;
    let second_refresh = field(&body, "refresh_token")?;
    check!(
        "GET /api/me with the refreshed access token",
        http.get(format!("{base}/api/me"))
            .bearer_auth(&user_token)
            .send()
            .await,
        200
    );
    check!(
        "POST /oauth/token refresh_token, the second one",
        http.post(format!("{base}/oauth/token"))
            .basic_auth("demo-client", Some(&demo.client_key))
            .header("content-type", form)
            .body(format!(
                "grant_type=refresh_token&refresh_token={second_refresh}"
            ))
            .send()
            .await,
        200
    );
    check!(
        "POST /oauth/token refresh_token, the first one again (reuse: family revoked)",
        http.post(format!("{base}/oauth/token"))
            .basic_auth("demo-client", Some(&demo.client_key))
            .header("content-type", form)
            .body(format!(
                "grant_type=refresh_token&refresh_token={first_refresh}"
            ))
            .send()
            .await,
        400
    );
    // On Redis the API validates against a replica that follows the
    // revocation within milliseconds: give it up to 2 s (in memory the
    // revocation is visible at once).
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(2);
    while tokio::time::Instant::now() < deadline {
        let seen = http
            .get(format!("{base}/api/me"))
            .bearer_auth(&user_token)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if seen.status().as_u16() == 401 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    check!(
        "GET /api/me with the family's access token",
        http.get(format!("{base}/api/me"))
            .bearer_auth(&user_token)
            .send()
            .await,
        401
    );
    let (_, body) = check!(
        "POST /oauth/introspect the client token (as orders-api)",
        http.post(format!("{base}/oauth/introspect"))
            .bearer_auth(&demo.introspect_key)
            .header("content-type", form)
            .body(format!("token={token}"))
            .send()
            .await,
        200
    );
    if !body.contains(r#""active":true"#) {
        return Err(format!("expected an active token: {body}"));
    }
    log.push(format!("    {body}"));
    check!(
        "POST /oauth/introspect without caller authentication",
        http.post(format!("{base}/oauth/introspect"))
            .header("content-type", form)
            .body(format!("token={token}"))
            .send()
            .await,
        401
    );
    check!(
        "POST /oauth/revoke the client token (as demo-client)",
        http.post(format!("{base}/oauth/revoke"))
            .basic_auth("demo-client", Some(&demo.client_key))
            .header("content-type", form)
            .body(format!("token={token}"))
            .send()
            .await,
        200
    );
    let (_, body) = check!(
        "POST /oauth/introspect the revoked token",
        http.post(format!("{base}/oauth/introspect"))
            .bearer_auth(&demo.introspect_key)
            .header("content-type", form)
            .body(format!("token={token}"))
            .send()
            .await,
        200
    );
    if body != r#"{"active":false}"# {
        return Err(format!("expected an inactive token: {body}"));
    }
    log.push(format!("    {body}"));
    check!(
        "GET /api/orders with the revoked token",
        http.get(format!("{base}/api/orders"))
            .bearer_auth(&token)
            .send()
            .await,
        401
    );
    check!(
        format!("GET {JWKS_PATH}"),
        http.get(format!("{base}{JWKS_PATH}")).send().await,
        200
    );
    Ok(log)
}
