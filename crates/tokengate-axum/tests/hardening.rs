//! Attacks on the endpoints and the layer that an independent review
//! found, each tried against the real server: what a client may get, and
//! what it may revoke.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use axum::Router;
use axum::routing::get;
use common::{World, client, serve};
use reqwest::header::AUTHORIZATION;
use serde_json::Value;
use tokengate::danger::decode_claims_unverified;
use tokengate::time::Duration;
use tokengate::{NoCustomClaims, TokenBuilder};
use tokengate_axum::server::{TokenEndpoint, revocation_router};
use tokengate_axum::{Auth, AuthLayer};

const FORM: &str = "application/x-www-form-urlencoded";

async fn post(url: &str, basic: (&str, &str), body: &str) -> reqwest::Response {
    client()
        .post(url)
        .header("content-type", FORM)
        .basic_auth(basic.0, Some(basic.1))
        .body(body.to_owned())
        .send()
        .await
        .unwrap()
}

/// A template that carries grant claims (a default scope, a session, a
/// fixed jti) hands none of them to a client's token: a client asking for
/// no scope, or an empty one, gets exactly its grant, never the template's
/// `admin`; and every token has its own jti.
#[tokio::test]
async fn a_template_scope_never_reaches_a_client_credentials_token() {
    let w = World::new();
    let key = w.api_key("billing", "orders:read");
    let template = TokenBuilder::new()
        .access_token()
        .issuer(common::ISSUER)
        .audience(common::AUDIENCE)
        .scope("admin")
        .session_id("someone-elses-session")
        .jwt_id("fixed");
    let base = serve(TokenEndpoint::new(w.verifier(), w.ring.clone(), template).router("/t")).await;
    let url = format!("{base}/t");

    let r = post(
        &url,
        ("billing", &key),
        "grant_type=client_credentials&scope=admin",
    )
    .await;
    assert_eq!(r.status(), 400);
    let mut jtis = Vec::new();
    for (body, scope) in [
        ("grant_type=client_credentials&scope=+", None),
        ("grant_type=client_credentials", Some("orders:read")),
    ] {
        let r = post(&url, ("billing", &key), body).await;
        assert_eq!(r.status(), 200, "{body}");
        let v: Value = r.json().await.unwrap();
        let token = v["access_token"].as_str().unwrap();
        let claims = decode_claims_unverified::<NoCustomClaims>(token).unwrap();
        assert_eq!(claims.scope.as_deref(), scope, "{body}");
        assert_eq!(claims.session_id, None);
        jtis.push(claims.jwt_id.unwrap());
        let caller = w
            .door
            .authenticate(Some(&format!("Bearer {token}")))
            .unwrap();
        assert!(!caller.scopes().contains("admin"));
    }
    assert!(!jtis.iter().any(|j| j == "fixed"));
    assert_ne!(jtis[0], jtis[1]);
}

/// RFC 7009 §2.1: a client may revoke only its own credentials. Alice,
/// holding Bob's API key, cannot revoke it through the endpoint.
#[tokio::test]
async fn a_client_cannot_revoke_another_owners_api_key() {
    let w = World::new();
    let alice = w.api_key("alice", "orders:read");
    let bob = w.api_key("bob", "orders:read");
    let base = serve(revocation_router(
        "/revoke",
        w.introspector.clone(),
        w.verifier(),
    ))
    .await;
    let r = post(
        &format!("{base}/revoke"),
        ("alice", &alice),
        &format!("token={bob}"),
    )
    .await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "unauthorized_client");
    assert!(w.door.authenticate(Some(&format!("Bearer {bob}"))).is_ok());
    // Bob revoking his own key works.
    let r = post(
        &format!("{base}/revoke"),
        ("bob", &bob),
        &format!("token={bob}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert!(w.door.authenticate(Some(&format!("Bearer {bob}"))).is_err());
}

/// Two Authorization lines are one malformed field (400), also when the
/// first names another scheme and the layer lets anonymous callers in: a
/// broken credential is never read as no credential.
#[tokio::test]
async fn two_authorization_lines_are_400_even_in_optional_mode() {
    let w = World::new();
    let optional = Router::new()
        .route(
            "/maybe",
            get(|a: Option<Auth>| async move { if a.is_some() { "known" } else { "anon" } }),
        )
        .layer(AuthLayer::new(w.door.clone()).optional());
    let strict = Router::new()
        .route("/me", get(|| async { "x" }))
        .layer(AuthLayer::new(w.door.clone()));
    for (base, path) in [
        (serve(optional).await, "maybe"),
        (serve(strict).await, "me"),
    ] {
        let r = client()
            .get(format!("{base}/{path}"))
            .header(AUTHORIZATION, "Basic dXNlcjpwYXNz")
            .header(AUTHORIZATION, "Bearer not-a-valid-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{path}");
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(
            challenge.contains(r#"error="invalid_request""#),
            "{challenge}"
        );
    }
}

/// A setting on a clone of an endpoint applies to that clone.
#[tokio::test]
async fn token_endpoint_settings_apply_to_a_clone() {
    let w = World::new();
    let key = w.api_key("billing", "orders:read");
    let original = TokenEndpoint::new(
        w.verifier(),
        w.ring.clone(),
        TokenBuilder::new()
            .access_token()
            .issuer(common::ISSUER)
            .audience(common::AUDIENCE),
    );
    let _kept = original.clone();
    let short = original.client_token_lifetime(Duration::seconds(30));
    let base = serve(short.router("/t")).await;
    let r = post(
        &format!("{base}/t"),
        ("billing", &key),
        "grant_type=client_credentials",
    )
    .await;
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["expires_in"], 30);
}

/// A client's token never outlives the API key it was granted for.
#[tokio::test]
async fn a_client_token_expires_no_later_than_its_api_key() {
    let w = World::new();
    let key = tokengate::ApiKeyIssuer::new(w.format.clone())
        .issue_into(
            &*w.api_keys,
            tokengate::NewApiKey::new("billing")
                .scopes(tokengate::ScopeSet::parse("orders:read").unwrap())
                .lifetime(Duration::seconds(60)),
        )
        .unwrap();
    let key_exp = w
        .verifier()
        .verify(key.expose_secret())
        .unwrap()
        .expires_at()
        .unwrap();
    let base = serve(
        TokenEndpoint::new(
            w.verifier(),
            w.ring.clone(),
            TokenBuilder::new()
                .access_token()
                .issuer(common::ISSUER)
                .audience(common::AUDIENCE),
        )
        .router("/t"),
    )
    .await;
    let r = post(
        &format!("{base}/t"),
        ("billing", key.expose_secret()),
        "grant_type=client_credentials",
    )
    .await;
    let v: Value = r.json().await.unwrap();
    let token = v["access_token"].as_str().unwrap();
    let claims = decode_claims_unverified::<NoCustomClaims>(token).unwrap();
    assert_eq!(claims.expires_at, Some(key_exp.unix_timestamp()));
    let expires_in = v["expires_in"].as_i64().unwrap();
    assert!((55..=60).contains(&expires_in), "{expires_in}");
}
