//! The layer, the extractors and per-route scopes, over real HTTP.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use common::{REALM, World, challenge, client, serve};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde::Deserialize;
use tokengate::testing::{FailingApiKeyStore, FailingRevocation};
use tokengate::time::{Duration, OffsetDateTime};
use tokengate::{
    ApiKeyVerifier, AuthError, Authenticator, FixedClock, RevocationStore, TokenBuilder,
};
use tokengate_axum::{Auth, AuthLayer, RequireScopes, VerifiedClaims};

async fn me(Auth(caller): Auth) -> String {
    format!("hello {}", caller.subject().unwrap_or("-"))
}

async fn maybe(caller: Option<Auth>) -> String {
    match caller {
        Some(Auth(p)) => format!("hello {}", p.subject().unwrap_or("-")),
        None => "hello stranger".to_owned(),
    }
}

/// The API: `/me` for anyone authenticated, `/orders` needs
/// `orders:read`, `POST /orders` needs `orders:write`.
fn api(layer: AuthLayer) -> Router {
    let read = Router::new()
        .route("/orders", get(|| async { "orders" }))
        .route_layer(RequireScopes::all("orders:read").unwrap());
    let write = Router::new()
        .route("/orders", post(|| async { "created" }))
        .route_layer(RequireScopes::all("orders:write").unwrap());
    Router::new()
        .route("/me", get(me))
        .merge(read)
        .merge(write)
        .layer(layer)
}

async fn get_with(url: &str, header: Option<&str>) -> reqwest::Response {
    let mut req = client().get(url);
    if let Some(h) = header {
        req = req.header(AUTHORIZATION, h);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn no_authorization_header_is_401_with_a_bare_challenge() {
    let w = World::new();
    let base = serve(api(AuthLayer::new(w.door.clone()))).await;
    let r = get_with(&format!("{base}/me"), None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(challenge(&r).as_deref(), Some(r#"Bearer realm="api""#));
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    assert_eq!(r.text().await.unwrap(), r#"{"error":"unauthorized"}"#);
}

#[tokio::test]
async fn basic_credentials_are_no_bearer_credentials_401() {
    let w = World::new();
    let base = serve(api(AuthLayer::new(w.door.clone()))).await;
    let r = get_with(&format!("{base}/me"), Some("Basic dXNlcjpwYXNz")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(challenge(&r).as_deref(), Some(r#"Bearer realm="api""#));
}

#[tokio::test]
async fn malformed_authorization_headers_are_400_invalid_request() {
    let w = World::new();
    let token = w.sign(&w.token());
    let base = serve(api(AuthLayer::new(w.door.clone()))).await;
    let url = format!("{base}/me");
    for bad in [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer \"abc\"",
        "Bearer a,b",
    ] {
        let r = get_with(&url, Some(bad)).await;
        assert_eq!(r.status(), 400, "{bad:?}");
        assert_eq!(
            challenge(&r).as_deref(),
            Some(r#"Bearer realm="api", error="invalid_request""#),
            "{bad:?}"
        );
        assert_eq!(r.text().await.unwrap(), r#"{"error":"invalid_request"}"#);
    }

    // Two Authorization headers, each valid alone.
    let r = client()
        .get(&url)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // Bytes that are not UTF-8 (obs-text) in the credential.
    let mut raw = b"Bearer ".to_vec();
    raw.extend_from_slice(&[0xff, 0xfe, b'a']);
    let r = client()
        .get(&url)
        .header(AUTHORIZATION, HeaderValue::from_bytes(&raw).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn lowercase_scheme_and_extra_spaces_are_accepted() {
    let w = World::new();
    let token = w.sign(&w.token());
    let base = serve(api(AuthLayer::new(w.door.clone()))).await;
    for header in [
        format!("bearer {token}"),
        format!("BEARER {token}"),
        format!("Bearer    {token}"),
    ] {
        let r = get_with(&format!("{base}/me"), Some(&header)).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.text().await.unwrap(), "hello user-1");
    }
}

/// `token` with one signature character changed (not the last, whose
/// unused bits could keep the bytes the same).
fn tamper(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let at = bytes.len() - 10;
    bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn invalid_expired_revoked_and_oversized_tokens_are_401_invalid_token() {
    let w = World::new();
    let base = serve(api(AuthLayer::new(w.door.clone()))).await;
    let url = format!("{base}/me");

    let good = w.sign(&w.token());
    let tampered = tamper(&good);
    let an_hour_ago = OffsetDateTime::now_utc().unix_timestamp() - 3600;
    let expired = w.sign(
        &w.token()
            .clock(Arc::new(FixedClock::at_unix(an_hour_ago - 60)))
            .lifetime(Duration::seconds(60)),
    );
    let revoked = w.sign(&w.token().jwt_id("revoked-1"));
    w.revocations
        .revoke_token("revoked-1", OffsetDateTime::now_utc() + Duration::hours(1))
        .unwrap();
    let other_audience = w.sign(&w.token().audience("https://elsewhere.test"));
    let unknown_api_key = "acme_test_0000000000000000000000000000000000000000000";
    let oversized = "a".repeat(16 * 1024);

    for (what, token) in [
        ("garbage", "a.b.c"),
        ("tampered", tampered.as_str()),
        ("expired", expired.as_str()),
        ("revoked", revoked.as_str()),
        ("another audience", other_audience.as_str()),
        ("unknown API key", unknown_api_key),
        ("16 KiB", oversized.as_str()),
    ] {
        let r = get_with(&url, Some(&format!("Bearer {token}"))).await;
        assert_eq!(r.status(), 401, "{what}");
        assert_eq!(
            challenge(&r).as_deref(),
            Some(r#"Bearer realm="api", error="invalid_token""#),
            "{what}"
        );
        assert_eq!(
            r.text().await.unwrap(),
            r#"{"error":"invalid_token"}"#,
            "{what}"
        );
    }
    let r = get_with(&url, Some(&format!("Bearer {good}"))).await;
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn missing_route_scope_is_403_naming_the_scope() {
    let w = World::new();
    let reader = w.sign(&w.token().scope("orders:read"));
    let base = serve(api(AuthLayer::new(w.door.clone()))).await;
    let url = format!("{base}/orders");

    let r = get_with(&url, Some(&format!("Bearer {reader}"))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "orders");

    let r = client()
        .post(&url)
        .header(AUTHORIZATION, format!("Bearer {reader}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        challenge(&r).as_deref(),
        Some(r#"Bearer realm="api", error="insufficient_scope", scope="orders:write""#)
    );
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"error":"insufficient_scope","scope":"orders:write"}"#
    );
}

#[tokio::test]
async fn api_keys_authenticate_at_the_same_layer_with_their_scopes() {
    let w = World::new();
    let key = w.api_key("billing", "orders:read");
    let base = serve(api(AuthLayer::new(w.door.clone()))).await;
    let bearer = format!("Bearer {key}");

    let r = get_with(&format!("{base}/me"), Some(&bearer)).await;
    assert_eq!(r.text().await.unwrap(), "hello billing");
    let r = get_with(&format!("{base}/orders"), Some(&bearer)).await;
    assert_eq!(r.status(), 200);
    let r = client()
        .post(format!("{base}/orders"))
        .header(AUTHORIZATION, &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);

    // The right shape, the wrong secret.
    let mut wrong = key.clone().into_bytes();
    let last = wrong.len() - 5;
    wrong[last] = if wrong[last] == b'a' { b'b' } else { b'a' };
    let r = get_with(
        &format!("{base}/me"),
        Some(&format!("Bearer {}", String::from_utf8(wrong).unwrap())),
    )
    .await;
    assert_eq!(r.status(), 401);
}

#[tokio::test]
async fn unavailable_stores_are_503_with_retry_after_and_no_challenge() {
    let w = World::new();
    // A revocation backend that is down, behind the access token check.
    let validator = tokengate::Validator::builder(w.ring.clone())
        .access_token_profile()
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .revocation(Arc::new(FailingRevocation))
        .build()
        .unwrap();
    // An API key store that is down.
    let keys = ApiKeyVerifier::new(w.format.clone(), Arc::new(FailingApiKeyStore::new()));
    let door = Arc::new(
        Authenticator::builder()
            .access_tokens(validator)
            .api_keys(keys)
            .realm(REALM)
            .build()
            .unwrap(),
    );
    let base = serve(api(AuthLayer::new(door))).await;
    let token = w.sign(&w.token());
    let key = w.api_key("billing", "orders:read");
    for credential in [token, key] {
        let r = get_with(&format!("{base}/me"), Some(&format!("Bearer {credential}"))).await;
        assert_eq!(r.status(), 503);
        assert_eq!(challenge(&r), None);
        assert_eq!(r.headers()["retry-after"].to_str().unwrap(), "5");
        assert_eq!(
            r.text().await.unwrap(),
            r#"{"error":"temporarily_unavailable"}"#
        );
    }
}

fn problem(e: &AuthError) -> Response {
    (
        StatusCode::OK, // the layer puts the real status back
        [("content-type", "application/problem+json")],
        format!(
            r#"{{"type":"https://errors.test/auth","status":{},"kind":"{}"}}"#,
            e.status(),
            e.cause().map_or("none", |c| c.kind().as_str())
        ),
    )
        .into_response()
}

#[tokio::test]
async fn a_custom_error_body_keeps_the_status_and_challenge() {
    let w = World::new();
    let base = serve(api(AuthLayer::new(w.door.clone()).error_body(problem))).await;
    let r = get_with(&format!("{base}/me"), Some("Bearer a.b.c")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        challenge(&r).as_deref(),
        Some(r#"Bearer realm="api", error="invalid_token""#)
    );
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    assert_eq!(
        r.text().await.unwrap(),
        r#"{"type":"https://errors.test/auth","status":401,"kind":"malformed"}"#
    );

    // A closure works as well.
    let base = serve(api(AuthLayer::new(w.door.clone()).error_body(
        |e: &AuthError| format!("refused: {}", e.status()).into_response(),
    )))
    .await;
    let r = get_with(&format!("{base}/me"), None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), "refused: 401");
}

#[tokio::test]
async fn optional_auth_lets_anonymous_requests_through_and_still_refuses_bad_credentials() {
    let w = World::new();
    let app = Router::new()
        .route("/maybe", get(maybe))
        .route("/me", get(me))
        .merge(
            Router::new()
                .route("/orders", get(|| async { "orders" }))
                .route_layer(RequireScopes::all("orders:read").unwrap()),
        )
        .layer(AuthLayer::new(w.door.clone()).optional());
    let base = serve(app).await;
    let token = w.sign(&w.token());

    let r = get_with(&format!("{base}/maybe"), None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "hello stranger");
    let r = get_with(&format!("{base}/maybe"), Some(&format!("Bearer {token}"))).await;
    assert_eq!(r.text().await.unwrap(), "hello user-1");

    // A credential that is presented must be good.
    let r = get_with(&format!("{base}/maybe"), Some("Bearer a.b.c")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        challenge(&r).as_deref(),
        Some(r#"Bearer realm="api", error="invalid_token""#)
    );
    let r = get_with(&format!("{base}/maybe"), Some("Bearer a b")).await;
    assert_eq!(r.status(), 400);

    // Routes that need a caller answer as the layer would.
    for path in ["/me", "/orders"] {
        let r = get_with(&format!("{base}{path}"), None).await;
        assert_eq!(r.status(), 401, "{path}");
        assert_eq!(challenge(&r).as_deref(), Some(r#"Bearer realm="api""#));
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Tenant {
    tenant: String,
}

#[tokio::test]
async fn extractors_read_the_applications_own_claims() {
    let w = World::new();
    async fn tenant(VerifiedClaims(claims): VerifiedClaims<Tenant>) -> String {
        format!(
            "{} of {}",
            claims.subject.unwrap_or_default(),
            claims.custom.tenant
        )
    }
    async fn who(Auth(p): Auth<Tenant>) -> String {
        format!(
            "{:?} {}",
            p.kind(),
            p.custom().map_or("no tenant", |t| t.tenant.as_str())
        )
    }
    async fn maybe_tenant(claims: Option<VerifiedClaims<Tenant>>) -> String {
        claims.map_or("anonymous".into(), |VerifiedClaims(c)| c.custom.tenant)
    }
    let app = Router::new()
        .route("/tenant", get(tenant))
        .route("/who", get(who))
        .route("/maybe-tenant", get(maybe_tenant))
        .layer(AuthLayer::new(w.door.clone()).claims::<Tenant>().optional());
    let base = serve(app).await;

    #[derive(serde::Serialize)]
    struct Out {
        tenant: &'static str,
    }
    let token = w
        .token()
        .custom(Out { tenant: "acme" })
        .sign(&w.ring.current())
        .unwrap();
    let bearer = format!("Bearer {token}");
    let r = get_with(&format!("{base}/tenant"), Some(&bearer)).await;
    assert_eq!(r.text().await.unwrap(), "user-1 of acme");
    let r = get_with(&format!("{base}/who"), Some(&bearer)).await;
    assert_eq!(r.text().await.unwrap(), "AccessToken acme");
    let r = get_with(&format!("{base}/maybe-tenant"), Some(&bearer)).await;
    assert_eq!(r.text().await.unwrap(), "acme");
    let r = get_with(&format!("{base}/maybe-tenant"), None).await;
    assert_eq!(r.text().await.unwrap(), "anonymous");

    // A token without the claims type's fields is not one of ours.
    let plain = w.sign(&w.token());
    let r = get_with(&format!("{base}/tenant"), Some(&format!("Bearer {plain}"))).await;
    assert_eq!(r.status(), 401);

    // An API key has no claims: the claims route refuses it, the
    // principal route takes it.
    let key = w.api_key("billing", "orders:read");
    let r = get_with(&format!("{base}/tenant"), Some(&format!("Bearer {key}"))).await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        challenge(&r).as_deref(),
        Some(r#"Bearer realm="api", error="invalid_token""#)
    );
    let r = get_with(&format!("{base}/who"), Some(&format!("Bearer {key}"))).await;
    assert_eq!(r.text().await.unwrap(), "ApiKey no tenant");
}

#[tokio::test]
async fn extractors_without_a_layer_are_a_server_error_not_a_pass() {
    let app = Router::new().route("/me", get(me)).merge(
        Router::new()
            .route("/orders", get(|| async { "orders" }))
            .route_layer(RequireScopes::all("orders:read").unwrap()),
    );
    let base = serve(app).await;
    for path in ["/me", "/orders"] {
        let r = get_with(&format!("{base}{path}"), Some("Bearer a.b.c")).await;
        assert_eq!(r.status(), 500, "{path}");
    }
}

#[tokio::test]
async fn a_template_token_builder_is_not_needed_for_api_key_only_doors() {
    // A door with API keys only: a JWT is not an API key, so it is invalid.
    let w = World::new();
    let door = Arc::new(
        Authenticator::builder()
            .api_keys(w.verifier())
            .realm(REALM)
            .build()
            .unwrap(),
    );
    let base = serve(api(AuthLayer::new(door))).await;
    let jwt = TokenBuilder::new()
        .issuer(common::ISSUER)
        .sign(&w.ring.current())
        .unwrap();
    let r = get_with(&format!("{base}/me"), Some(&format!("Bearer {jwt}"))).await;
    assert_eq!(r.status(), 401);
    let key = w.api_key("svc", "");
    let r = get_with(&format!("{base}/me"), Some(&format!("Bearer {key}"))).await;
    assert_eq!(r.status(), 200);
}
