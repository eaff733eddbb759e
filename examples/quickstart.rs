//! The five-minute tour: issue a token, publish the keys, validate the
//! token the way an API server would, and watch forgeries fail. Then the
//! second kind of credential: an API key, issued once and kept as a digest.
//!
//! ```text
//! cargo run --example quickstart
//! ```

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokengate::api_key::{ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, InMemoryApiKeyStore};
use tokengate::{
    Algorithm, KeyRing, KeySetStore, NewApiKey, ScopeSet, SigningKey, TokenBuilder, Validator,
};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";

/// The application's own claims, carried next to the registered ones.
#[derive(Debug, Serialize, Deserialize)]
struct AppClaims {
    tenant: String,
    role: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 1. The issuer holds its signing keys in a ring so they can rotate.
    let ring = KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?);
    let key = ring.current();
    println!("1. issuer key: {} (kid {})", key.algorithm(), key.key_id());

    // 2. Issue an access token (RFC 9068: `typ: at+jwt`, with `sub`,
    //    `client_id`, `iat` and a random `jti`): registered claims plus the
    //    application's own.
    let token = TokenBuilder::new()
        .access_token()
        .issuer(ISSUER)
        .subject("user-42")
        .audience(AUDIENCE)
        .client_id("web-app")
        .scope("orders:read orders:write")
        .custom(AppClaims {
            tenant: "acme".to_owned(),
            role: "admin".to_owned(),
        })
        .sign(&key)?;
    println!("2. token: {token}");

    // 3. What the issuer publishes at /.well-known/jwks.json.
    let jwks = ring.jwks().to_json();
    println!("3. /.well-known/jwks.json: {jwks}");

    // 4. The API server builds its validator from that published document
    //    alone: it never sees the private key. (A KeySetStore can be
    //    refreshed in place when the issuer rotates.)
    let store = Arc::new(KeySetStore::from_jwks(&jwks, None)?);
    //    The access token profile is a required choice like the issuer and
    //    audience: an ID token of the same issuer cannot pass for an access
    //    token (see 7).
    let validator = Validator::builder(Arc::clone(&store))
        .access_token_profile()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()?;
    let verified = validator.validate_with::<AppClaims>(&token, None)?;
    let claims = verified.claims();
    println!(
        "4. verified: sub={} scopes=[{}] tenant={} role={}",
        verified.subject().unwrap_or("-"),
        claims.scopes().collect::<Vec<_>>().join(", "),
        verified.custom().tenant,
        verified.custom().role,
    );

    // 5. Change one character of the payload: the signature no longer
    //    matches, whatever the change says.
    let tampered = tamper_payload(&token).ok_or("the token has no payload segment")?;
    match validator.validate_with::<AppClaims>(&tampered, None) {
        Ok(_) => return Err("a tampered token was accepted".into()),
        Err(err) => println!(
            "5. tampered token rejected: {} ({err})",
            expect(err.kind().as_str(), "invalid_signature")?
        ),
    }

    // 6. A genuine token presented to the wrong API is refused too.
    let billing = Validator::builder(Arc::clone(&store))
        .access_token_profile()
        .issuer(ISSUER)
        .audience("https://billing.example.com")
        .build()?;
    match billing.validate_with::<AppClaims>(&token, None) {
        Ok(_) => return Err("a token for another audience was accepted".into()),
        Err(err) => println!(
            "6. same token at https://billing.example.com rejected: {} ({err})",
            expect(err.kind().as_str(), "invalid_audience")?
        ),
    }

    // 7. An ID token from the same issuer, for the same audience, subject
    //    and client, signed by the same key: its `typ` says it is not an
    //    access token.
    let id_token = TokenBuilder::new()
        .typ("JWT")
        .issuer(ISSUER)
        .subject("user-42")
        .audience(AUDIENCE)
        .client_id("web-app")
        .sign(&key)?;
    match validator.validate(&id_token) {
        Ok(_) => return Err("an ID token passed as an access token".into()),
        Err(err) => println!(
            "7. ID token (typ JWT) presented as an access token: {} ({err})",
            expect(err.kind().as_str(), "invalid_type")?
        ),
    }

    // 8. The second kind of credential: an API key for a service. The
    //    plaintext is shown once; the store keeps only a digest of it.
    let format = ApiKeyFormat::new("acme")?.environment("live")?;
    let api_keys = Arc::new(InMemoryApiKeyStore::new());
    let api_key = ApiKeyIssuer::new(format.clone()).issue_into(
        &*api_keys,
        NewApiKey::new("service-billing").scopes(ScopeSet::parse("invoices:read")?),
    )?;
    let verifier = ApiKeyVerifier::new(format, api_keys);
    let checked = verifier.verify(api_key.expose_secret())?;
    println!(
        "8. API key {} verified: owner={} scopes=[{}]",
        api_key.display_prefix(),
        checked.owner(),
        checked.scopes().iter().collect::<Vec<_>>().join(", "),
    );

    // 9. A typo fails the key's built-in checksum: refused before any
    //    store lookup.
    let typo = mistype(api_key.expose_secret());
    match verifier.verify(&typo) {
        Ok(_) => return Err("a mistyped API key was accepted".into()),
        Err(err) => println!(
            "9. mistyped API key rejected: {} ({err})",
            expect(err.kind().as_str(), "malformed")?
        ),
    }

    println!("done.");
    Ok(())
}

/// Replaces the middle character of the payload segment with another
/// base64url character. (The middle one, not the last, so the segment stays
/// valid base64url and the signature check is what catches it.)
fn tamper_payload(token: &str) -> Option<String> {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = parts.get_mut(1)?;
    let mid = payload.len() / 2;
    let old = payload.get(mid..=mid)?;
    let new = if old == "A" { "B" } else { "A" };
    payload.replace_range(mid..=mid, new);
    Some(parts.join("."))
}

/// The key with its 21st character changed, as a person copying it might.
fn mistype(key: &str) -> String {
    key.chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (20, 'x') => 'y',
            (20, _) => 'x',
            _ => c,
        })
        .collect()
}

/// `got`, or an error (and a non-zero exit) when it is not `want`: the
/// example checks every outcome it prints.
fn expect<T: PartialEq + std::fmt::Debug>(got: T, want: T) -> Result<T, String> {
    if got == want {
        Ok(got)
    } else {
        Err(format!("expected {want:?}, got {got:?}"))
    }
}
