//! Several issuers behind one layer, and an identity provider's key
//! rotation picked up while the request waits, over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use common::{AUDIENCE, World, challenge, client, serve};
use tokengate::keys::remote::{FetchOutcome, KeySetPolicy, cache_control_max_age};
use tokengate::time::Duration;
use tokengate::{
    Algorithm, Authenticator, JwkSetOptions, KeyRing, RemoteKeySet, SigningKey, TokenBuilder,
    Validator,
};
use tokengate_axum::server::{JWKS_PATH, jwks_router};
use tokengate_axum::{Auth, AuthLayer, Fetched, KeyRefresh, MultiIssuer, RemoteKeySetRefresh};

const A: &str = "https://a.test";
const B: &str = "https://b.test";

fn ring() -> Arc<KeyRing> {
    Arc::new(KeyRing::new(
        SigningKey::generate(Algorithm::ES256).unwrap(),
    ))
}

fn door_for(iss: &str, keys: impl tokengate::KeyStore + 'static) -> Arc<Authenticator> {
    let validator = Validator::builder(keys)
        .access_token_profile()
        .issuer(iss)
        .audience(AUDIENCE)
        .build()
        .unwrap();
    Arc::new(
        Authenticator::builder()
            .access_tokens(validator)
            .realm("api")
            .build()
            .unwrap(),
    )
}

fn token(iss: &str, sub: &str) -> TokenBuilder {
    TokenBuilder::new()
        .access_token()
        .issuer(iss)
        .audience(AUDIENCE)
        .subject(sub)
        .client_id("web")
}

fn api(layer: AuthLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|Auth(p): Auth| async move {
                format!(
                    "{} from {}",
                    p.subject().unwrap_or("-"),
                    p.issuer().unwrap_or("-")
                )
            }),
        )
        .layer(layer)
}

async fn me(base: &str, token: &str) -> reqwest::Response {
    client()
        .get(format!("{base}/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn multi_issuer_picks_the_door_by_iss_and_never_trusts_it_for_the_keys() {
    let (ring_a, ring_b) = (ring(), ring());
    let w = World::new(); // API keys at the default door
    let issuers = MultiIssuer::new()
        .issuer(A, door_for(A, ring_a.clone()))
        .issuer(B, door_for(B, ring_b.clone()))
        .default_door(w.door.clone());
    let base = serve(api(AuthLayer::multi(issuers))).await;

    let from_a = token(A, "alice").sign(&ring_a.current()).unwrap();
    let from_b = token(B, "bob").sign(&ring_b.current()).unwrap();
    let r = me(&base, &from_a).await;
    assert_eq!(r.text().await.unwrap(), "alice from https://a.test");
    let r = me(&base, &from_b).await;
    assert_eq!(r.text().await.unwrap(), "bob from https://b.test");

    // Claims issuer B, signed with issuer A's key: B's door has no such key.
    let forged = token(B, "mallory").sign(&ring_a.current()).unwrap();
    let r = me(&base, &forged).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        challenge(&r).as_deref(),
        Some(r#"Bearer realm="api", error="invalid_token""#)
    );
    // An issuer nobody configured, signed with a key someone trusts.
    for iss in ["https://c.test", common::ISSUER] {
        let stranger = token(iss, "eve").sign(&ring_a.current()).unwrap();
        assert_eq!(me(&base, &stranger).await.status(), 401, "{iss}");
    }
    // The default door's own issuer and API keys still work.
    let own = w.sign(&w.token());
    assert_eq!(me(&base, &own).await.status(), 200);
    let key = w.api_key("svc", "");
    let r = me(&base, &key).await;
    assert_eq!(r.text().await.unwrap(), "svc from -");
    // No credentials: the default door's challenge.
    let r = client().get(format!("{base}/me")).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn the_door_is_chosen_by_iss_alone_so_each_issuer_s_own_rules_decide_the_rest() {
    // Issuer A allows 32 KiB tokens and reads scopes from `scp`; its
    // tokens carry a `scope` member of another shape. Choosing the door
    // reads `iss` only: neither the size nor the `scope` shape may send
    // the token to the default door.
    let (ring_a, ring_b) = (ring(), ring());
    let validator = Validator::builder(ring_a.clone())
        .access_token_profile()
        .issuer(A)
        .audience(AUDIENCE)
        .max_token_size(32 * 1024)
        .scope_claim("scp")
        .build()
        .unwrap();
    let door_a = Arc::new(
        Authenticator::builder()
            .access_tokens(validator)
            .realm("api")
            .build()
            .unwrap(),
    );
    let w = World::new();
    let issuers = MultiIssuer::new()
        .issuer(A, door_a)
        .issuer(B, door_for(B, ring_b))
        .default_door(w.door.clone());
    let base = serve(api(AuthLayer::multi(issuers))).await;

    // Signed by hand: the token builder refuses a custom `scope`.
    let now = tokengate::time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({
        "iss": A, "sub": "alice", "aud": AUDIENCE, "client_id": "web",
        "jti": "big-1", "iat": now, "exp": now + 300,
        "scope": 7, "pad": "x".repeat(12 * 1024),
    });
    let big = tokengate::jws::sign(
        claims.to_string().as_bytes(),
        &ring_a.current(),
        Some("at+jwt"),
    )
    .unwrap();
    assert!(big.len() > tokengate::DEFAULT_MAX_TOKEN_SIZE);
    let r = me(&base, &big).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "alice from https://a.test");
}

/// An identity provider: its key ring published at the JWKS path.
async fn identity_provider() -> (Arc<KeyRing>, String) {
    let ring = ring();
    let base = serve(jwks_router(ring.clone(), Duration::minutes(5))).await;
    (ring, format!("{base}{JWKS_PATH}"))
}

/// The application's fetch of the provider's JWK Set.
async fn fetch(url: String) -> Fetched {
    match client().get(url).send().await {
        Ok(r) if r.status() == 200 => {
            let max_age = r
                .headers()
                .get("cache-control")
                .and_then(|v| v.to_str().ok())
                .and_then(cache_control_max_age);
            match r.bytes().await {
                Ok(body) => Fetched::Document {
                    body: body.to_vec(),
                    max_age,
                },
                Err(e) => Fetched::Failed(e.to_string()),
            }
        }
        Ok(r) => Fetched::Failed(format!("status {}", r.status())),
        Err(e) => Fetched::Failed(e.to_string()),
    }
}

/// A remote key set loaded once from `url`, as a driver's first fetch.
async fn loaded(url: &str, policy: KeySetPolicy) -> Arc<RemoteKeySet> {
    let set = Arc::new(RemoteKeySet::new(policy, JwkSetOptions::new()).unwrap());
    let first = set.due().unwrap();
    let Fetched::Document { body, max_age } = fetch(url.to_owned()).await else {
        panic!("the provider is up");
    };
    set.complete(
        first,
        FetchOutcome::Document {
            body: &body,
            max_age,
        },
    );
    set
}

#[tokio::test]
async fn a_token_signed_with_a_key_rotated_in_at_the_provider_waits_for_one_refetch() {
    let (idp, url) = identity_provider().await;
    let mut policy = KeySetPolicy::default();
    policy.unknown_key_cooldown = Duration::ZERO;
    let set = loaded(&url, policy).await;
    let fetch_url = url.clone();
    let refresh = Arc::new(RemoteKeySetRefresh::new(set.clone(), move || {
        fetch(fetch_url.clone())
    }));
    let layer = AuthLayer::new(door_for(A, set.clone())).key_refresh(refresh.clone());
    let base = serve(api(layer)).await;

    let before = token(A, "alice").sign(&idp.current()).unwrap();
    assert_eq!(me(&base, &before).await.status(), 200);
    assert_eq!(set.status().fetches, 1);

    // The provider rotates without staging: the new key signs at once.
    idp.rotate(
        SigningKey::generate(Algorithm::ES256).unwrap(),
        Duration::hours(1),
    )
    .unwrap();
    let after = token(A, "alice").sign(&idp.current()).unwrap();
    let generation = refresh.generation();
    let r = me(&base, &after).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "alice from https://a.test");
    assert_eq!(set.status().fetches, 2, "exactly one refetch");
    assert!(refresh.generation() > generation);
}

#[tokio::test]
async fn made_up_key_ids_within_the_cooldown_are_refused_without_a_fetch() {
    let (idp, url) = identity_provider().await;
    let set = loaded(&url, KeySetPolicy::default()).await; // 30 s cooldown
    let fetch_url = url.clone();
    let refresh = Arc::new(RemoteKeySetRefresh::new(set.clone(), move || {
        fetch(fetch_url.clone())
    }));
    let base = serve(api(
        AuthLayer::new(door_for(A, set.clone())).key_refresh(refresh)
    ))
    .await;

    // A key the provider never published.
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    for _ in 0..5 {
        let forged = token(A, "mallory").sign(&attacker).unwrap();
        let r = me(&base, &forged).await;
        assert_eq!(r.status(), 401);
    }
    assert_eq!(set.status().fetches, 1, "no fetch for made-up kids");
    let good = token(A, "alice").sign(&idp.current()).unwrap();
    assert_eq!(me(&base, &good).await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwks_crate_driver_refetches_for_the_layer_on_a_rotation() {
    let (idp, url) = identity_provider().await;
    let mut policy = KeySetPolicy::default();
    policy.unknown_key_cooldown = Duration::ZERO;
    let jwks = tokio::task::spawn_blocking(move || {
        let jwks = tokengate_jwks::RemoteJwks::from_jwks_uri(url)
            .danger_allow_http()
            .policy(policy)
            .build()
            .unwrap();
        jwks.wait_ready(std::time::Duration::from_secs(10)).unwrap();
        jwks
    })
    .await
    .unwrap();
    let jwks = Arc::new(jwks);
    let layer = AuthLayer::new(door_for(A, jwks.key_set())).key_refresh(jwks.clone());
    let base = serve(api(layer)).await;

    let before = token(A, "alice").sign(&idp.current()).unwrap();
    assert_eq!(me(&base, &before).await.status(), 200);
    idp.rotate(
        SigningKey::generate(Algorithm::ES256).unwrap(),
        Duration::hours(1),
    )
    .unwrap();
    let after = token(A, "alice").sign(&idp.current()).unwrap();
    let r = me(&base, &after).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "alice from https://a.test");
}

#[tokio::test]
async fn each_issuer_of_a_multi_issuer_layer_refetches_its_own_key_set() {
    let ring_a = ring();
    let (idp_b, url_b) = identity_provider().await;
    let mut policy = KeySetPolicy::default();
    policy.unknown_key_cooldown = Duration::ZERO;
    let set_b = loaded(&url_b, policy).await;
    let refresh_b = Arc::new(RemoteKeySetRefresh::new(set_b.clone(), move || {
        fetch(url_b.clone())
    }));
    let issuers = MultiIssuer::new()
        .issuer(A, door_for(A, ring_a.clone()))
        .issuer_with_refresh(B, door_for(B, set_b.clone()), refresh_b);
    let base = serve(api(AuthLayer::multi(issuers))).await;

    idp_b
        .rotate(
            SigningKey::generate(Algorithm::ES256).unwrap(),
            Duration::hours(1),
        )
        .unwrap();
    let from_b = token(B, "bob").sign(&idp_b.current()).unwrap();
    let r = me(&base, &from_b).await;
    assert_eq!(r.text().await.unwrap(), "bob from https://b.test");
    assert_eq!(set_b.status().fetches, 2);

    // Issuer A's door has no refetch: a key A's ring does not hold stays
    // unknown, and B's set is not fetched for it.
    let stranger = SigningKey::generate(Algorithm::ES256).unwrap();
    let forged = token(A, "mallory").sign(&stranger).unwrap();
    assert_eq!(me(&base, &forged).await.status(), 401);
    assert_eq!(set_b.status().fetches, 2);
}
