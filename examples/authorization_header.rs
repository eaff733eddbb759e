//! The front door: from an HTTP `Authorization` header to a status code,
//! the way a web handler would use it. One `Authenticator` accepts both
//! JWT access tokens and API keys; every refusal comes with the status and
//! the RFC 6750 `WWW-Authenticate` challenge to send back.
//!
//! ```text
//! cargo run --example authorization_header
//! ```

use std::error::Error as StdError;
use std::sync::Arc;

use tokengate::api_key::{ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, InMemoryApiKeyStore};
use tokengate::{
    Algorithm, Authenticator, Clock, FixedClock, KeyRing, NewApiKey, RoleMap, ScopeRequirement,
    ScopeSet, SigningKey, SystemClock, TokenBuilder, Validator,
};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "orders-api";

/// A web handler, minus the web framework: the status, and either the
/// response body or the `WWW-Authenticate` header value.
fn handle(
    door: &Authenticator,
    authorization: Option<&str>,
    need: &ScopeRequirement,
) -> (u16, String) {
    match door.authenticate_for(authorization, need) {
        // `subject` is `None` for a client credentials token (no `sub`).
        Ok(caller) => (
            200,
            format!(
                "hello {} ({:?})",
                caller.subject().unwrap_or("client"),
                caller.kind()
            ),
        ),
        // `err.cause()` holds the precise reason (with a stable kind) for
        // the logs; the client only learns the error class.
        Err(err) => (err.status(), err.www_authenticate()),
    }
}

fn main() -> Result<(), Box<dyn StdError>> {
    // JWT access tokens, signed by the authorization server's key ring.
    let ring = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?));
    let validator = Validator::builder(Arc::clone(&ring))
        .access_token_profile()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()?;
    let access = TokenBuilder::new()
        .access_token()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .client_id("orders-web");

    // API keys, kept as digests in a store.
    let format = ApiKeyFormat::new("acme")?.environment("live")?;
    let keys = Arc::new(InMemoryApiKeyStore::new());
    let api_key = ApiKeyIssuer::new(format.clone()).issue_into(
        &*keys,
        NewApiKey::new("service-billing").scopes(ScopeSet::parse("orders:read")?),
    )?;

    let door = Authenticator::builder()
        .access_tokens(validator)
        .api_keys(ApiKeyVerifier::new(format, keys))
        .realm("orders")
        .build()?;

    // The routes' requirements: GET /orders needs orders:read; POST
    // /refunds needs the "admin" role, defined once as a set of scopes.
    let read = ScopeRequirement::all("orders:read")?;
    let roles = RoleMap::new().define("admin", "orders:read orders:write orders:refund")?;
    let admin = roles
        .requirement("admin")
        .ok_or("the admin role is undefined")?;

    let reader = access
        .clone()
        .subject("user-42")
        .scope("orders:read")
        .sign(&ring.current())?;
    let boss = access
        .clone()
        .subject("user-1")
        .scope("orders:read orders:write orders:refund")
        .sign(&ring.current())?;
    // A token minted an hour ago with the default 15-minute lifetime.
    let an_hour_ago = Arc::new(FixedClock::at_unix(SystemClock.now_unix() - 3600));
    let expired = access
        .clone()
        .clock(an_hour_ago)
        .subject("user-42")
        .scope("orders:read")
        .sign(&ring.current())?;

    let bearer = |credential: &str| format!("Bearer {credential}");
    // Each case with the status the route must answer.
    let cases: [(&str, Option<String>, &ScopeRequirement, u16); 9] = [
        (
            "GET /orders, JWT with orders:read",
            Some(bearer(&reader)),
            &read,
            200,
        ),
        (
            "GET /orders, API key with orders:read",
            Some(bearer(api_key.expose_secret())),
            &read,
            200,
        ),
        ("GET /orders, no Authorization header", None, &read, 401),
        (
            "GET /orders, Basic credentials",
            Some("Basic dXNlcjpwYXNz".to_owned()),
            &read,
            401,
        ),
        (
            "GET /orders, malformed header",
            Some("Bearer two words".to_owned()),
            &read,
            400,
        ),
        (
            "GET /orders, expired JWT",
            Some(bearer(&expired)),
            &read,
            401,
        ),
        (
            "POST /refunds (admin), JWT with orders:read only",
            Some(bearer(&reader)),
            &admin,
            403,
        ),
        (
            "POST /refunds (admin), API key with orders:read only",
            Some(bearer(api_key.expose_secret())),
            &admin,
            403,
        ),
        (
            "POST /refunds (admin), admin's JWT",
            Some(bearer(&boss)),
            &admin,
            200,
        ),
    ];
    for (n, (what, header, need, want)) in cases.iter().enumerate() {
        let (status, body) = handle(&door, header.as_deref(), need);
        if status != *want {
            return Err(format!("{what}: expected {want}, got {status} {body}").into());
        }
        let shown = if status == 200 {
            body
        } else {
            format!("WWW-Authenticate: {body}")
        };
        println!("{}. {what}: {status} {shown}", n + 1);
    }

    // The client sees the error class; the logs get the precise reason.
    let why = door
        .authenticate(Some(&bearer(&expired)))
        .err()
        .and_then(|e| e.cause().map(|c| c.kind().as_str()));
    println!("   (the server log for 6 says: {})", why.unwrap_or("-"));
    if why != Some("expired") {
        return Err(format!("the log reason for 6 should be expired, got {why:?}").into());
    }
    Ok(())
}
