//! The authorization server endpoints, over real HTTP.
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
use common::{World, challenge, client, serve};
use reqwest::header::AUTHORIZATION;
use serde_json::Value;
use tokengate::testing::FailingApiKeyStore;
use tokengate::time::Duration;
use tokengate::{ApiKeyVerifier, Grant, ScopeSet, TokenBuilder};
use tokengate_axum::server::{
    JWKS_PATH, TokenEndpoint, introspection_router, jwks_router, revocation_router,
};
use tokengate_axum::{Auth, AuthLayer, RequireScopes};

const FORM: &str = "application/x-www-form-urlencoded";

/// The authorization server and a protected API in one router.
fn app(w: &World) -> Router {
    let tokens = TokenEndpoint::new(
        w.verifier(),
        w.ring.clone(),
        TokenBuilder::new()
            .access_token()
            .issuer(common::ISSUER)
            .audience(common::AUDIENCE),
    )
    .client_token_lifetime(Duration::minutes(5))
    .refresh_tokens(w.refresh.clone());
    let api = Router::new()
        .route(
            "/api/me",
            get(|Auth(p): Auth| async move { p.subject().unwrap_or("-").to_owned() }),
        )
        .layer(AuthLayer::new(w.door.clone()));
    Router::new()
        .merge(jwks_router(w.ring.clone(), Duration::minutes(10)))
        .merge(tokens.router("/oauth/token"))
        .merge(introspection_router(
            "/oauth/introspect",
            w.introspector.clone(),
            AuthLayer::new(w.door.clone()),
            RequireScopes::all("tokens:introspect").unwrap(),
        ))
        .merge(revocation_router(
            "/oauth/revoke",
            w.introspector.clone(),
            w.verifier(),
        ))
        .merge(api)
}

async fn post_form(url: &str, basic: Option<(&str, &str)>, body: &str) -> reqwest::Response {
    let mut req = client()
        .post(url)
        .header("content-type", FORM)
        .body(body.to_owned());
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    req.send().await.unwrap()
}

/// A `refresh_token` grant for `rt`, narrowed to `scope` (form-encoded)
/// when given.
async fn post_refresh(
    url: &str,
    basic: Option<(&str, &str)>,
    rt: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut body = format!("grant_type=refresh_token&refresh_token={rt}");
    if let Some(scope) = scope {
        body.push_str("&scope=");
        body.push_str(scope);
    }
    post_form(url, basic, &body).await
}

async fn error_of(r: reqwest::Response) -> String {
    assert_eq!(r.headers()["cache-control"].to_str().unwrap(), "no-store");
    let v: Value = r.json().await.unwrap();
    v["error"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn jwks_endpoint_publishes_the_ring_with_cache_control() {
    let w = World::new();
    let base = serve(app(&w)).await;
    let r = client()
        .get(format!("{base}{JWKS_PATH}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"].to_str().unwrap(),
        "public, max-age=600"
    );
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/jwk-set+json"
    );
    let doc: Value = r.json().await.unwrap();
    let keys = doc["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0]["kid"].as_str(), Some(w.ring.current().key_id()));
    assert!(keys[0].get("d").is_none(), "no private part");

    // A staged key shows at once, before it signs.
    w.ring
        .stage(tokengate::SigningKey::generate(tokengate::Algorithm::ES256).unwrap())
        .unwrap();
    let doc: Value = client()
        .get(format!("{base}{JWKS_PATH}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["keys"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn client_credentials_by_basic_and_by_form_issue_a_token_the_api_accepts() {
    let w = World::new();
    let key = w.api_key("reporting", "orders:read reports:write");
    let base = serve(app(&w)).await;
    let url = format!("{base}/oauth/token");

    let r = post_form(
        &url,
        Some(("reporting", &key)),
        "grant_type=client_credentials&scope=orders%3Aread",
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"].to_str().unwrap(), "no-store");
    assert_eq!(r.headers()["pragma"].to_str().unwrap(), "no-cache");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["scope"], "orders:read");
    assert!(body.get("refresh_token").is_none());
    let token = body["access_token"].as_str().unwrap();

    let r = client()
        .get(format!("{base}/api/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "reporting");

    // In the form instead, without a scope: every scope of the key.
    let r = post_form(
        &url,
        None,
        &format!("grant_type=client_credentials&client_id=reporting&client_secret={key}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["scope"], "orders:read reports:write");
}

#[tokio::test]
async fn token_endpoint_errors_follow_rfc6749_section_5_2() {
    let w = World::new();
    let key = w.api_key("reporting", "orders:read");
    let other = w.api_key("someone-else", "orders:read");
    let base = serve(app(&w)).await;
    let url = format!("{base}/oauth/token");
    let basic = Some(("reporting", key.as_str()));

    // invalid_request: no grant type, a repeated parameter, not a form,
    // two authentication methods, a refresh grant without its token.
    for body in [
        "scope=orders%3Aread",
        "grant_type=client_credentials&grant_type=client_credentials",
        "grant_type=refresh_token",
    ] {
        let r = post_form(&url, basic, body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(error_of(r).await, "invalid_request", "{body}");
    }
    let r = client()
        .post(&url)
        .basic_auth("reporting", Some(&key))
        .header("content-type", "application/json")
        .body(r#"{"grant_type":"client_credentials"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_request");
    let r = post_form(
        &url,
        basic,
        &format!("grant_type=client_credentials&client_secret={key}&client_id=reporting"),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_request");

    // invalid_client: none, a wrong key, a client id that is not the key's owner.
    let r = post_form(&url, None, "grant_type=client_credentials").await;
    assert_eq!(r.status(), 401);
    assert_eq!(challenge(&r).as_deref(), Some(r#"Basic realm="token""#));
    assert_eq!(error_of(r).await, "invalid_client");
    let forged = "acme_test_0000000000000000000000000000000000000000000";
    for (id, secret) in [("reporting", forged), ("reporting", other.as_str())] {
        let r = post_form(&url, Some((id, secret)), "grant_type=client_credentials").await;
        assert_eq!(r.status(), 401);
        assert_eq!(error_of(r).await, "invalid_client");
    }
    // The same in the form: another client's key under this client's id.
    let r = post_form(
        &url,
        None,
        &format!("grant_type=client_credentials&client_id=reporting&client_secret={other}"),
    )
    .await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_of(r).await, "invalid_client");
    // A form client_id naming another client than the Basic credentials,
    // and a client_secret without its client_id: invalid_request.
    for (auth, body) in [
        (
            basic,
            "grant_type=client_credentials&client_id=someone-else".to_owned(),
        ),
        (
            None,
            format!("grant_type=client_credentials&client_secret={key}"),
        ),
    ] {
        let r = post_form(&url, auth, &body).await;
        assert_eq!(r.status(), 400, "{body}");
        assert_eq!(error_of(r).await, "invalid_request", "{body}");
    }
    let r = client()
        .post(&url)
        .header(AUTHORIZATION, format!("Bearer {key}"))
        .header("content-type", FORM)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(error_of(r).await, "invalid_client");

    // unsupported_grant_type, invalid_scope, invalid_grant.
    let r = post_form(&url, basic, "grant_type=password&username=a&password=b").await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "unsupported_grant_type");
    for scope in ["orders%3Awrite", "orders%3Aread+admin", "bad%22scope"] {
        let r = post_form(
            &url,
            basic,
            &format!("grant_type=client_credentials&scope={scope}"),
        )
        .await;
        assert_eq!(r.status(), 400, "{scope}");
        assert_eq!(error_of(r).await, "invalid_scope", "{scope}");
    }
    let r = post_form(
        &url,
        basic,
        "grant_type=refresh_token&refresh_token=rt_not_a_real_token",
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_grant");

    // Only POST.
    let r = client().get(&url).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn token_endpoint_answers_503_when_the_client_store_is_down() {
    let w = World::new();
    let key = w.api_key("reporting", "orders:read");
    let tokens = TokenEndpoint::new(
        ApiKeyVerifier::new(w.format.clone(), Arc::new(FailingApiKeyStore::new())),
        w.ring.clone(),
        w.token(),
    );
    let base = serve(tokens.router("/oauth/token")).await;
    let r = post_form(
        &format!("{base}/oauth/token"),
        Some(("reporting", &key)),
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"].to_str().unwrap(), "5");
    assert_eq!(error_of(r).await, "temporarily_unavailable");
}

#[tokio::test]
async fn a_refresh_request_s_scope_narrows_the_access_token_and_never_widens_it() {
    let w = World::new();
    let key = w.api_key("web-client", "");
    let base = serve(app(&w)).await;
    let url = format!("{base}/oauth/token");
    let basic = Some(("web-client", key.as_str()));
    let first = w
        .refresh
        .login(
            Grant::new("user-7")
                .client_id("web-client")
                .scopes(ScopeSet::parse("orders:read orders:write").unwrap()),
        )
        .unwrap();
    let rt1 = first.refresh_token.expose_secret().to_owned();
    let scope_of = |access_token: &str| -> Value {
        let payload = access_token.split('.').nth(1).unwrap();
        let claims: Value =
            serde_json::from_slice(&tokengate::testing::b64_decode(payload.as_bytes()).unwrap())
                .unwrap();
        claims["scope"].clone()
    };

    // Wider than the family, or not a scope: invalid_scope, and the token
    // stays redeemable.
    for scope in ["orders%3Aread+admin", "bad%22scope", "+", "%20%20"] {
        let r = post_refresh(&url, basic, &rt1, Some(scope)).await;
        assert_eq!(r.status(), 400, "{scope}");
        assert_eq!(error_of(r).await, "invalid_scope", "{scope}");
    }

    // Narrower: this access token only.
    let r = post_refresh(&url, basic, &rt1, Some("orders%3Aread")).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        scope_of(body["access_token"].as_str().unwrap()),
        "orders:read"
    );
    let rt2 = body["refresh_token"].as_str().unwrap().to_owned();

    // The next refresh without `scope` has the family's scopes again.
    let r = post_refresh(&url, basic, &rt2, None).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        scope_of(body["access_token"].as_str().unwrap()),
        "orders:read orders:write"
    );
    let rt3 = body["refresh_token"].as_str().unwrap().to_owned();

    // A used token asking for what is not a scope is reuse all the same:
    // the family is revoked, rt3 with it.
    let r = post_refresh(&url, basic, &rt1, Some("bad%22scope")).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_grant");
    let r = post_refresh(&url, basic, &rt3, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_grant");
}

#[tokio::test]
async fn refresh_rotates_and_a_reused_token_revokes_the_family_and_its_access_tokens() {
    let w = World::new();
    let key = w.api_key("web-client", "");
    let thief = w.api_key("other-client", "");
    let base = serve(app(&w)).await;
    let url = format!("{base}/oauth/token");
    let basic = Some(("web-client", key.as_str()));

    let first = w
        .refresh
        .login(
            Grant::new("user-7")
                .client_id("web-client")
                .scopes(ScopeSet::parse("orders:read").unwrap()),
        )
        .unwrap();
    let rt1 = first.refresh_token.expose_secret().to_owned();

    // Another client cannot use it, and nothing changes.
    let r = post_refresh(&url, Some(("other-client", &thief)), &rt1, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_grant");

    // The client rotates it.
    let r = post_refresh(&url, basic, &rt1, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"].to_str().unwrap(), "no-store");
    let body: Value = r.json().await.unwrap();
    let rt2 = body["refresh_token"].as_str().unwrap().to_owned();
    let at2 = body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(rt1, rt2);
    assert_eq!(body["token_type"], "Bearer");
    let me = |token: String| {
        let base = base.clone();
        async move {
            client()
                .get(format!("{base}/api/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
        }
    };
    let r = me(at2.clone()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "user-7");

    // rt2 rotates once more; rt1 is a used token presented again.
    let r = post_refresh(&url, basic, &rt2, None).await;
    let at3 = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // rt1 again: its successor was used already, so no grace window
    // applies (whatever the clock says): reuse.
    let r = post_refresh(&url, basic, &rt1, None).await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_grant");

    // The family is revoked: its access tokens are refused by the API.
    for at in [at2, at3] {
        let r = me(at).await;
        assert_eq!(r.status(), 401);
        assert_eq!(
            challenge(&r).as_deref(),
            Some(r#"Bearer realm="api", error="invalid_token""#)
        );
    }
}

#[tokio::test]
async fn introspection_requires_an_authenticated_caller_with_the_scope() {
    let w = World::new();
    let resource_server = w.api_key("orders-api", "tokens:introspect");
    let unprivileged = w.api_key("someone", "orders:read");
    let base = serve(app(&w)).await;
    let url = format!("{base}/oauth/introspect");
    let token = w.sign(&w.token().scope("orders:read"));
    let body = format!("token={token}");

    let r = client()
        .post(&url)
        .header("content-type", FORM)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(challenge(&r).as_deref(), Some(r#"Bearer realm="api""#));

    let r = client()
        .post(&url)
        .bearer_auth(&unprivileged)
        .header("content-type", FORM)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        challenge(&r).as_deref(),
        Some(r#"Bearer realm="api", error="insufficient_scope", scope="tokens:introspect""#)
    );

    let r = client()
        .post(&url)
        .bearer_auth(&resource_server)
        .header("content-type", FORM)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"].to_str().unwrap(), "no-store");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["active"], true);
    assert_eq!(v["sub"], "user-1");
    assert_eq!(v["scope"], "orders:read");
    assert_eq!(v["token_type"], "Bearer");

    // Garbage is inactive, and says nothing else; no token is a bad request.
    let r = client()
        .post(&url)
        .bearer_auth(&resource_server)
        .header("content-type", FORM)
        .body("token=nonsense")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"active":false}"#);
    let r = client()
        .post(&url)
        .bearer_auth(&resource_server)
        .header("content-type", FORM)
        .body("token_type_hint=access_token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_request");
}

#[tokio::test]
async fn revocation_then_introspection_is_inactive_and_the_api_refuses_the_token() {
    let w = World::new();
    let client_key = w.api_key("reporting", "orders:read");
    let intruder = w.api_key("intruder", "");
    let resource_server = w.api_key("orders-api", "tokens:introspect");
    let base = serve(app(&w)).await;

    let issued: Value = post_form(
        &format!("{base}/oauth/token"),
        Some(("reporting", &client_key)),
        "grant_type=client_credentials",
    )
    .await
    .json()
    .await
    .unwrap();
    let token = issued["access_token"].as_str().unwrap().to_owned();
    let introspect = || async {
        client()
            .post(format!("{base}/oauth/introspect"))
            .bearer_auth(&resource_server)
            .header("content-type", FORM)
            .body(format!("token={token}"))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    };
    assert_eq!(introspect().await["active"], true);
    assert_eq!(introspect().await["client_id"], "reporting");

    let revoke = format!("{base}/oauth/revoke");
    // Not the token's client: refused, nothing revoked.
    let r = post_form(
        &revoke,
        Some(("intruder", &intruder)),
        &format!("token={token}"),
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "unauthorized_client");
    assert_eq!(introspect().await["active"], true);
    // No client authentication.
    let r = post_form(&revoke, None, &format!("token={token}")).await;
    assert_eq!(r.status(), 401);
    assert_eq!(error_of(r).await, "invalid_client");

    // The client revokes its token.
    let r = post_form(
        &revoke,
        Some(("reporting", &client_key)),
        &format!("token={token}&token_type_hint=access_token"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "");
    assert_eq!(introspect().await, serde_json::json!({ "active": false }));
    let r = client()
        .get(format!("{base}/api/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Unknown and already revoked tokens: 200 as well (RFC 7009 §2.2).
    for t in ["nonsense", token.as_str()] {
        let r = post_form(
            &revoke,
            Some(("reporting", &client_key)),
            &format!("token={t}"),
        )
        .await;
        assert_eq!(r.status(), 200, "{t}");
    }
    // No token: a bad request.
    let r = post_form(
        &revoke,
        Some(("reporting", &client_key)),
        "token_type_hint=x",
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_request");
}

#[tokio::test]
async fn revoking_a_refresh_token_ends_its_family_for_every_endpoint() {
    let w = World::new();
    let key = w.api_key("web-client", "");
    let resource_server = w.api_key("orders-api", "tokens:introspect");
    let base = serve(app(&w)).await;
    let pair = w
        .refresh
        .login(Grant::new("user-9").client_id("web-client"))
        .unwrap();
    let rt = pair.refresh_token.expose_secret().to_owned();

    let introspect = |t: String| {
        let base = base.clone();
        let rs = resource_server.clone();
        async move {
            client()
                .post(format!("{base}/oauth/introspect"))
                .bearer_auth(rs)
                .header("content-type", FORM)
                .body(format!("token={t}"))
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    let v = introspect(rt.clone()).await;
    assert_eq!(v["active"], true);
    assert_eq!(v["token_type"], "N_A");

    let r = post_form(
        &format!("{base}/oauth/revoke"),
        Some(("web-client", &key)),
        &format!("token={rt}"),
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(introspect(rt.clone()).await["active"], false);
    assert_eq!(introspect(pair.access_token.clone()).await["active"], false);
    let r = post_refresh(
        &format!("{base}/oauth/token"),
        Some(("web-client", &key)),
        &rt,
        None,
    )
    .await;
    assert_eq!(r.status(), 400);
    assert_eq!(error_of(r).await, "invalid_grant");
}
