//! A fleet on one Redis: a writer (the authorization server) and two API
//! servers, each with its own connections and local replicas, in one
//! process. It shows a revocation propagating, a refresh token reuse
//! revoking the family everywhere, and an API key revoked everywhere, and
//! checks each outcome (exit status 1 on a wrong one).
//!
//! ```text
//! cargo run -p tokengate-redis --example fleet
//! ```
//!
//! With `REDIS_URL` set (say `redis://127.0.0.1:6379/`, after
//! `redis-server --port 6379 &`), it uses that server under a fresh key
//! prefix; without it, it starts a throwaway `redis-server` on a free
//! loopback port (Debian: `apt-get install redis-server`).

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use tokengate::time::{Duration, OffsetDateTime};
use tokengate::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, Grant, KeyRing, NewApiKey, RefreshTokens,
    RevocationStore, ScopeSet, SigningKey, TokenBuilder, Validator,
};
use tokengate_redis::testing::RedisServer;
use tokengate_redis::{
    RedisApiKeyStore, RedisConfig, RedisRefreshStore, RedisRevocationReplica, RedisRevocationStore,
};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";

/// One API server: its own revocation replica and API key replica.
struct ApiServer {
    name: &'static str,
    validator: Validator,
    api_keys: ApiKeyVerifier,
    _replica: RedisRevocationReplica,
}

impl ApiServer {
    fn start(
        name: &'static str,
        config: &RedisConfig,
        ring: &Arc<KeyRing>,
        format: &ApiKeyFormat,
    ) -> Result<Self, Box<dyn StdError>> {
        let replica = RedisRevocationReplica::start(config)?;
        replica.wait_ready(StdDuration::from_secs(10))?;
        let validator = Validator::builder(Arc::clone(ring))
            .access_token_profile()
            .issuer(ISSUER)
            .audience(AUDIENCE)
            .revocation(replica.replica())
            .build()?;
        let keys = RedisApiKeyStore::connect(config)?.wait_ready(StdDuration::from_secs(10))?;
        Ok(Self {
            name,
            validator,
            api_keys: ApiKeyVerifier::new(format.clone(), Arc::new(keys)),
            _replica: replica,
        })
    }

    fn token(&self, token: &str) -> &'static str {
        match self.validator.validate(token) {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        }
    }

    fn api_key(&self, key: &str) -> &'static str {
        match self.api_keys.verify(key) {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        }
    }
}

/// Polls `check` on each server until it answers `want` (at most 5 s) and
/// returns how long each took.
fn until_all(
    servers: &[&ApiServer],
    want: &str,
    check: impl Fn(&ApiServer) -> &'static str,
) -> Result<Vec<(&'static str, StdDuration)>, String> {
    let start = Instant::now();
    let mut seen = Vec::new();
    for server in servers {
        loop {
            let got = check(server);
            if got == want {
                seen.push((server.name, start.elapsed()));
                break;
            }
            if start.elapsed() > StdDuration::from_secs(5) {
                return Err(format!("{} still says {got}, not {want}", server.name));
            }
            std::thread::sleep(StdDuration::from_micros(200));
        }
    }
    Ok(seen)
}

fn shown(seen: &[(&str, StdDuration)]) -> String {
    seen.iter()
        .map(|(name, d)| format!("{name} after {:.2} ms", d.as_secs_f64() * 1e3))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `got`, or an error (and a non-zero exit) when it is not `want`.
fn expect<T: PartialEq + std::fmt::Debug>(got: T, want: T) -> Result<T, String> {
    if got == want {
        Ok(got)
    } else {
        Err(format!("expected {want:?}, got {got:?}"))
    }
}

fn main() -> Result<(), Box<dyn StdError>> {
    // A server of our own, unless one is named.
    let (_server, url) = match std::env::var("REDIS_URL") {
        Ok(url) => (None, url),
        Err(_) => {
            let server = RedisServer::start().map_err(|e| {
                format!("cannot start redis-server ({e}): install it (apt-get install redis-server) or set REDIS_URL")
            })?;
            let url = server.url();
            (Some(server), url)
        }
    };
    let prefix = format!("fleet-example-{}", std::process::id());
    let config = RedisConfig::new(url.as_str()).prefix(prefix);
    println!("redis at {url}, keys under {{{}:…}}", config.key_prefix());

    // The writer: the authorization server. It signs, and writes
    // revocations, refresh families and API keys to Redis.
    let ring = Arc::new(KeyRing::new(
        SigningKey::generate(tokengate::Algorithm::EdDSA)?.with_key_id("k1"),
    ));
    let revocations: Arc<dyn RevocationStore> = Arc::new(RedisRevocationStore::new(&config)?);
    let refresh = RefreshTokens::builder(
        Arc::new(RedisRefreshStore::connect(&config)?),
        Arc::clone(&ring),
        TokenBuilder::new()
            .access_token()
            .issuer(ISSUER)
            .audience(AUDIENCE),
    )
    .revocation(Arc::clone(&revocations))
    .build()?;
    let format = ApiKeyFormat::new("acme")?.environment("live")?;
    let writer_keys =
        Arc::new(RedisApiKeyStore::connect(&config)?.wait_ready(StdDuration::from_secs(10))?);
    let writer_verifier = ApiKeyVerifier::new(format.clone(), writer_keys.clone());

    // Two API servers, each with its own connections and replicas.
    let b = ApiServer::start("server B", &config, &ring, &format)?;
    let c = ApiServer::start("server C", &config, &ring, &format)?;
    let servers = [&b, &c];

    // 1. A revocation written on the writer reaches both replicas.
    let token = TokenBuilder::new()
        .access_token()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .client_id("web-app")
        .subject("user-42")
        .jwt_id("stolen-1")
        .sign(&ring.current())?;
    until_all(&servers, "ok", |s| s.token(&token))?;
    revocations.revoke_token(
        "stolen-1",
        OffsetDateTime::now_utc() + Duration::minutes(15),
    )?;
    let seen = until_all(&servers, "revoked", |s| s.token(&token))?;
    println!("1. jti revoked on the writer: rejected by {}", shown(&seen));

    // 2. A refresh token replayed after its successor was used: the
    //    family is revoked, and so are its access tokens on every server.
    let login = refresh.login(
        Grant::new("user-7")
            .client_id("web-app")
            .scopes(ScopeSet::parse("orders:read")?),
    )?;
    let second = refresh.refresh(login.refresh_token.expose_secret(), Some("web-app"))?;
    let third = refresh.refresh(second.refresh_token.expose_secret(), Some("web-app"))?;
    until_all(&servers, "ok", |s| s.token(&third.access_token))?;
    let replay = match refresh.refresh(login.refresh_token.expose_secret(), Some("web-app")) {
        Ok(_) => return Err("a used refresh token was accepted".into()),
        Err(e) => expect(e.kind().as_str(), "refresh_token_reused")?,
    };
    let seen = until_all(&servers, "revoked", |s| s.token(&third.access_token))?;
    println!(
        "2. first refresh token replayed: {replay}; the family's newest access token rejected by {}",
        shown(&seen)
    );
    let latest = match refresh.refresh(third.refresh_token.expose_secret(), Some("web-app")) {
        Ok(_) => return Err("a token of a revoked family was accepted".into()),
        Err(e) => expect(e.kind().as_str(), "revoked")?,
    };
    println!("   the user's latest refresh token: {latest}");

    // 3. An API key issued on the writer works everywhere; revoked there,
    //    it is refused everywhere.
    let key = ApiKeyIssuer::new(format.clone()).issue_into(
        &*writer_keys,
        NewApiKey::new("service-billing").scopes(ScopeSet::parse("invoices:read")?),
    )?;
    let seen = until_all(&servers, "ok", |s| s.api_key(key.expose_secret()))?;
    println!(
        "3. API key {} accepted by {}",
        key.display_prefix(),
        shown(&seen)
    );
    expect(writer_verifier.revoke(key.id())?, true)?;
    let seen = until_all(&servers, "revoked", |s| s.api_key(key.expose_secret()))?;
    println!("   revoked on the writer: refused by {}", shown(&seen));
    println!("done");
    Ok(())
}
