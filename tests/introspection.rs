//! Token introspection (RFC 7662) and revocation (RFC 7009) through
//! [`Introspector`]: active JWT access tokens, API keys and refresh tokens
//! compared member by member with the RFC 7662 §2.2 JSON; everything
//! invalid answered with exactly `{"active":false}`; revocation of each
//! kind (and of junk, which succeeds); and failing stores, which
//! [`Introspector::try_introspect`] reports while
//! [`Introspector::introspect`] answers inactive.
//!
//! Time is pinned with a shared [`FixedClock`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tokengate::RevocationStore;
use tokengate::api_key::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyStore, ApiKeyVerifier, InMemoryApiKeyStore,
};
use tokengate::refresh::{RotateOutcome, RotateRequest};
use tokengate::testing::{
    FailingApiKeyStore, FailingRevocation, T0, clock, with_checksum, wrong_secret,
};
use tokengate::{
    Algorithm, Error, ErrorKind, FixedClock, Grant, InMemoryRefreshStore, IntrospectionResponse,
    Introspector, KeyRing, NewApiKey, RefreshRecord, RefreshStore, RefreshTokens, RevocationList,
    ScopeSet, SigningKey, TokenBuilder, TokenPair, Validator,
};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";
const INACTIVE: &str = r#"{"active":false}"#;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// An authorization server with every token kind, sharing one clock and
/// one revocation list.
struct Env {
    clock: Arc<FixedClock>,
    ring: Arc<KeyRing>,
    list: Arc<RevocationList>,
    validator: Validator,
    keys: ApiKeyIssuer,
    key_store: Arc<InMemoryApiKeyStore>,
    verifier: ApiKeyVerifier,
    refresh: RefreshTokens,
    door: Introspector,
}

fn env() -> Env {
    let clock = clock();
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .with_key_id("k1"),
        clock.clone(),
    ));
    let list = Arc::new(RevocationList::new());
    let validator = Validator::builder(ring.clone())
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .revocation(list.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap();
    let key_store = Arc::new(InMemoryApiKeyStore::new());
    let keys = ApiKeyIssuer::new(format.clone()).with_clock(clock.clone());
    let verifier = ApiKeyVerifier::new(format, key_store.clone()).with_clock(clock.clone());
    let refresh = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        ring.clone(),
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .revocation(list.clone())
    .reuse_grace(tokengate::time::Duration::ZERO)
    .idle_timeout(Duration::hours(1))
    .absolute_lifetime(Duration::hours(8))
    .clock(clock.clone())
    .build()
    .unwrap();
    let door = Introspector::builder()
        .access_tokens(validator.clone())
        .api_keys(verifier.clone())
        .refresh_tokens(refresh.clone())
        .revocation(list.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    Env {
        clock,
        ring,
        list,
        validator,
        keys,
        key_store,
        verifier,
        refresh,
        door,
    }
}

impl Env {
    fn builder(&self) -> TokenBuilder {
        TokenBuilder::new()
            .issuer(ISS)
            .subject("user-1")
            .audience(AUD)
            .lifetime(Duration::minutes(10))
            .clock(self.clock.clone())
    }

    fn jwt(&self, b: &TokenBuilder) -> String {
        b.sign(&self.ring.current()).unwrap()
    }

    fn api_key(&self, new: NewApiKey) -> String {
        self.keys
            .issue_into(&*self.key_store, new)
            .unwrap()
            .expose_secret()
            .to_owned()
    }

    fn login(&self, grant: Grant) -> TokenPair {
        self.refresh.login(grant).unwrap()
    }

    fn json(&self, token: &str) -> Value {
        serde_json::from_str(&self.door.introspect(token).to_json()).unwrap()
    }

    fn assert_inactive(&self, token: &str, what: &str) {
        let r = self.door.introspect(token);
        assert_eq!(r, IntrospectionResponse::inactive(), "{what}");
        assert_eq!(r.to_json(), INACTIVE, "{what}");
        assert_eq!(
            self.door.try_introspect(token).unwrap(),
            IntrospectionResponse::inactive(),
            "{what}"
        );
    }
}

/// Compares an introspection response member by member with `expected`:
/// the same member names, and each value equal in JSON type and value.
fn assert_members(actual: &Value, expected: &Value) {
    let (a, e) = (actual.as_object().unwrap(), expected.as_object().unwrap());
    let mut names_a: Vec<&String> = a.keys().collect();
    let mut names_e: Vec<&String> = e.keys().collect();
    names_a.sort();
    names_e.sort();
    assert_eq!(names_a, names_e, "member names of {actual}");
    for (name, want) in e {
        assert_eq!(&a[name], want, "member `{name}` of {actual}");
    }
}

/// A fresh, well-formed token of the same format with an unknown id.
fn unknown_like(token: &str, lead: &str) -> String {
    let body_len = token.len() - lead.len() - 6;
    with_checksum(&format!("{lead}{}", "Z".repeat(body_len)))
}

// ---------------------------------------------------------------------------
// Active tokens: the RFC 7662 §2.2 shape
// ---------------------------------------------------------------------------

#[test]
fn an_active_jwt_with_one_audience() {
    let e = env();
    let nbf = OffsetDateTime::from_unix_timestamp(T0 - 5).unwrap();
    let token = e.jwt(
        &e.builder()
            .jwt_id("jti-1")
            .scope("orders:read profile")
            .client_id("web")
            .not_before(nbf),
    );
    e.clock.advance(60);
    let r = e.door.introspect(&token);
    assert!(r.active);
    assert_members(
        &e.json(&token),
        &json!({
            "active": true,
            "scope": "orders:read profile",
            "client_id": "web",
            "token_type": "Bearer",
            "exp": T0 + 600,
            "iat": T0,
            "nbf": T0 - 5,
            "sub": "user-1",
            "aud": AUD,
            "iss": ISS,
            "jti": "jti-1",
        }),
    );
    assert_eq!(e.door.try_introspect(&token).unwrap(), r);
}

#[test]
fn an_active_jwt_with_several_audiences_lists_them_in_an_array() {
    let e = env();
    let token = e.jwt(
        &e.builder()
            .audiences([AUD, "https://billing.example.com"])
            .jwt_id("jti-2"),
    );
    let j = e.json(&token);
    assert_eq!(j["aud"], json!([AUD, "https://billing.example.com"]));
    assert!(j["aud"].is_array());
    // A single audience given as a list is still a string.
    let one = e.jwt(&e.builder().audiences([AUD]));
    assert_eq!(e.json(&one)["aud"], json!(AUD));
}

#[test]
fn an_active_jwt_without_optional_claims_omits_their_members() {
    let e = env();
    let token = e.jwt(&e.builder().without_jwt_id());
    assert_members(
        &e.json(&token),
        &json!({
            "active": true,
            "token_type": "Bearer",
            "exp": T0 + 600,
            "iat": T0,
            "sub": "user-1",
            "aud": AUD,
            "iss": ISS,
        }),
    );
}

#[test]
fn an_active_api_key() {
    let e = env();
    let key = e.api_key(
        NewApiKey::new("svc-billing")
            .name("export")
            .scopes(ScopeSet::parse("invoices:read invoices:export").unwrap())
            .lifetime(Duration::days(30)),
    );
    let id = e.verifier.verify(&key).unwrap().id().to_owned();
    e.clock.advance(3_600);
    assert_members(
        &e.json(&key),
        &json!({
            "active": true,
            "scope": "invoices:export invoices:read",
            "token_type": "Bearer",
            "exp": T0 + 30 * 86_400,
            "iat": T0,
            "sub": "svc-billing",
            "jti": id,
        }),
    );
    // A key without scopes or expiry: no `scope`, no `exp`.
    let bare = e.api_key(NewApiKey::new("svc-cron"));
    let bare_id = e.verifier.verify(&bare).unwrap().id().to_owned();
    assert_members(
        &e.json(&bare),
        &json!({
            "active": true,
            "token_type": "Bearer",
            "iat": T0 + 3_600,
            "sub": "svc-cron",
            "jti": bare_id,
        }),
    );
    // Introspection never echoes the key.
    assert!(!e.door.introspect(&key).to_json().contains(&key));
}

#[test]
fn an_active_refresh_token() {
    let e = env();
    let pair = e.login(
        Grant::new("alice")
            .client_id("mobile")
            .scopes(ScopeSet::parse("offline_access orders:read").unwrap()),
    );
    let token = pair.refresh_token.expose_secret();
    e.clock.advance(120);
    assert_members(
        &e.json(token),
        &json!({
            "active": true,
            "scope": "offline_access orders:read",
            "client_id": "mobile",
            "token_type": "N_A",
            // The idle timeout (1 h) ends before the absolute lifetime (8 h).
            "exp": T0 + 3_600,
            "iat": T0,
            "sub": "alice",
        }),
    );
    // Its rotated successor: issued later, expires later.
    let next = e.refresh.refresh(token, Some("mobile")).unwrap();
    let j = e.json(next.refresh_token.expose_secret());
    assert_eq!(j["iat"], json!(T0 + 120));
    assert_eq!(j["exp"], json!(T0 + 120 + 3_600));
    assert_eq!(j["token_type"], json!("N_A"));
    // Introspecting does not use the token up.
    assert!(
        e.refresh
            .refresh(next.refresh_token.expose_secret(), Some("mobile"))
            .is_ok()
    );
}

// ---------------------------------------------------------------------------
// Inactive: exactly {"active":false}
// ---------------------------------------------------------------------------

#[test]
fn anything_invalid_is_exactly_inactive() {
    let e = env();
    let good_jwt = e.jwt(&e.builder().scope("a"));
    let (input, _) = good_jwt.rsplit_once('.').unwrap();
    let other_key = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("k1");

    let expired = {
        e.clock.set_unix(T0 - 3_600);
        let t = e.jwt(&e.builder());
        e.clock.set_unix(T0);
        t
    };
    let revoked = e.jwt(&e.builder().jwt_id("revoked-1"));
    e.list
        .revoke_token(
            "revoked-1",
            tokengate::time::OffsetDateTime::from_unix_timestamp(T0 + 600).unwrap(),
        )
        .unwrap();
    let wrong_audience = e.jwt(&e.builder().audience("https://other.example.com"));

    let key = e.api_key(NewApiKey::new("svc"));
    let revoked_key = e.api_key(NewApiKey::new("svc"));
    e.verifier
        .revoke(e.verifier.verify(&revoked_key).unwrap().id())
        .unwrap();
    let expiring_key = e.api_key(NewApiKey::new("svc").lifetime(Duration::seconds(10)));

    let used = e.login(Grant::new("bob"));
    let next = e
        .refresh
        .refresh(used.refresh_token.expose_secret(), None)
        .unwrap();
    let logged_out = e.login(Grant::new("bob"));
    e.refresh
        .revoke(logged_out.refresh_token.expose_secret(), None)
        .unwrap();
    let live_refresh = e.login(Grant::new("bob"));
    let rt = live_refresh.refresh_token.expose_secret();

    let cases: Vec<(String, &str)> = vec![
        (String::new(), "empty string"),
        (" ".to_owned(), "a space"),
        ("garbage".to_owned(), "garbage"),
        ("a.b.c".to_owned(), "three junk segments"),
        (format!("{input}.{}", "A".repeat(86)), "wrong signature"),
        (
            e.builder().sign(&other_key).unwrap(),
            "another key, same kid",
        ),
        (format!("{good_jwt}="), "padded"),
        (format!(" {good_jwt}"), "leading space"),
        (expired, "expired"),
        (revoked, "revoked by jti"),
        (wrong_audience, "wrong audience"),
        (unknown_like(&key, "acme_live_"), "unknown API key"),
        (wrong_secret(&key), "API key with the wrong secret"),
        (key[..key.len() - 1].to_owned(), "truncated API key"),
        (revoked_key, "revoked API key"),
        (
            used.refresh_token.expose_secret().to_owned(),
            "used refresh token",
        ),
        (
            logged_out.refresh_token.expose_secret().to_owned(),
            "refresh token after logout",
        ),
        (unknown_like(rt, "rt_"), "unknown refresh token"),
        (wrong_secret(rt), "refresh token with the wrong secret"),
        (format!("{rt}x"), "refresh token too long"),
    ];
    for (token, what) in &cases {
        e.assert_inactive(token, what);
    }
    // Used refresh tokens stay inactive without revoking the family: the
    // successor of `used` is still live.
    assert!(e.json(next.refresh_token.expose_secret())["active"] == json!(true));

    // Time passes: the short-lived key and the idle refresh token expire.
    assert_eq!(e.json(&expiring_key)["active"], json!(true));
    e.clock.set_unix(T0 + 10);
    e.assert_inactive(&expiring_key, "expired API key");
    assert_eq!(e.json(rt)["active"], json!(true));
    e.clock.set_unix(T0 + 3_600);
    e.assert_inactive(rt, "refresh token past its idle timeout");
}

#[test]
fn an_introspector_answers_inactive_for_a_kind_it_does_not_know() {
    let e = env();
    let jwt = e.jwt(&e.builder());
    let key = e.api_key(NewApiKey::new("svc"));
    let pair = e.login(Grant::new("carol"));
    let rt = pair.refresh_token.expose_secret();
    let only_keys = Introspector::builder()
        .api_keys(e.verifier.clone())
        .build()
        .unwrap();
    assert_eq!(only_keys.introspect(&jwt).to_json(), INACTIVE);
    assert_eq!(only_keys.introspect(rt).to_json(), INACTIVE);
    assert!(only_keys.introspect(&key).active);
    let only_jwt = Introspector::builder()
        .access_tokens(e.validator.clone())
        .build()
        .unwrap();
    assert!(only_jwt.introspect(&jwt).active);
    assert_eq!(only_jwt.introspect(&key).to_json(), INACTIVE);
    assert_eq!(only_jwt.introspect(rt).to_json(), INACTIVE);
    // Nothing was revoked along the way.
    assert!(e.door.introspect(&jwt).active);
    assert!(e.door.introspect(&key).active);
    assert!(e.door.introspect(rt).active);
}

#[test]
fn a_jwt_past_its_exp_is_inactive_even_within_leeway() {
    let e = env();
    let token = e.jwt(&e.builder());
    // One second after exp; the validator's default leeway is 30 s.
    e.clock.set_unix(T0 + 601);
    e.assert_inactive(&token, "expired a second ago");
}

// ---------------------------------------------------------------------------
// Revocation (RFC 7009)
// ---------------------------------------------------------------------------

#[test]
fn revoking_an_access_token() {
    let e = env();
    let token = e.jwt(&e.builder().jwt_id("a-1"));
    let twin = e.jwt(&e.builder().jwt_id("a-2"));
    assert!(e.door.introspect(&token).active);
    e.door.revoke(&token, None).unwrap();
    e.assert_inactive(&token, "revoked access token");
    assert_eq!(
        e.validator.validate(&token).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    assert!(e.validator.validate(&twin).is_ok());
    assert_eq!(e.list.jti_count(), 1);
    // Revoking it again succeeds.
    e.door.revoke(&token, None).unwrap();
    assert_eq!(e.list.jti_count(), 1);
}

#[test]
fn revoking_an_access_token_without_jti_by_session_or_by_subject() {
    let e = env();
    // With `sid`: its session goes.
    let s1 = e.jwt(&e.builder().without_jwt_id().session_id("sess-1"));
    let s1_sibling = e.jwt(&e.builder().session_id("sess-1"));
    let s2 = e.jwt(&e.builder().without_jwt_id().session_id("sess-2"));
    e.door.revoke(&s1, None).unwrap();
    e.assert_inactive(&s1, "revoked by session");
    e.assert_inactive(&s1_sibling, "same session");
    assert!(e.door.introspect(&s2).active);

    // Neither `jti` nor `sid`: only by asking for the subject's every
    // token, issued so far (this second included); later ones pass.
    let bare = e.jwt(&e.builder().without_jwt_id().subject("dora"));
    let same_second = e.jwt(&e.builder().subject("dora"));
    let other_subject = e.jwt(&e.builder().without_jwt_id().subject("eve"));
    e.door.revoke_subject(&bare, None).unwrap();
    e.assert_inactive(&bare, "revoked by subject");
    e.assert_inactive(&same_second, "same subject, issued before");
    assert!(e.door.introspect(&other_subject).active);
    e.clock.advance(1);
    let later = e.jwt(&e.builder().without_jwt_id().subject("dora"));
    assert!(e.door.introspect(&later).active);
}

#[test]
fn revoking_a_refresh_token_revokes_its_family() {
    let e = env();
    let p1 = e.login(Grant::new("frank"));
    let p2 = e
        .refresh
        .refresh(p1.refresh_token.expose_secret(), None)
        .unwrap();
    let other = e.login(Grant::new("frank"));
    e.door
        .revoke(p2.refresh_token.expose_secret(), None)
        .unwrap();
    e.assert_inactive(p2.refresh_token.expose_secret(), "revoked refresh token");
    assert_eq!(
        e.refresh
            .refresh(p2.refresh_token.expose_secret(), None)
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    // The family's access tokens, through the shared list.
    for access in [&p1.access_token, &p2.access_token] {
        e.assert_inactive(access, "access token of the revoked family");
        assert_eq!(
            e.validator.validate(access).unwrap_err().kind(),
            ErrorKind::Revoked
        );
    }
    // Another family is untouched.
    assert!(
        e.door
            .introspect(other.refresh_token.expose_secret())
            .active
    );
    assert!(e.door.introspect(&other.access_token).active);
}

#[test]
fn revoking_an_api_key() {
    let e = env();
    let key = e.api_key(NewApiKey::new("svc"));
    let other = e.api_key(NewApiKey::new("svc"));
    e.door.revoke(&key, None).unwrap();
    e.assert_inactive(&key, "revoked API key");
    assert_eq!(
        e.verifier.verify(&key).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    let id = e.key_store.list_by_owner("svc").unwrap();
    assert_eq!(
        id.iter()
            .filter(|r| r.revoked_at == Some(OffsetDateTime::from_unix_timestamp(T0).unwrap()))
            .count(),
        1
    );
    assert!(e.door.introspect(&other).active);
    e.door.revoke(&key, None).unwrap();
}

#[test]
fn revoking_unknown_or_invalid_tokens_succeeds_and_changes_nothing() {
    let e = env();
    let jwt = e.jwt(&e.builder().jwt_id("keep"));
    let key = e.api_key(NewApiKey::new("svc"));
    let pair = e.login(Grant::new("gus"));
    let rt = pair.refresh_token.expose_secret();
    let expired = {
        e.clock.set_unix(T0 - 3_600);
        let t = e.jwt(&e.builder().jwt_id("old"));
        e.clock.set_unix(T0);
        t
    };
    let (input, _) = jwt.rsplit_once('.').unwrap();
    for junk in [
        String::new(),
        "garbage".to_owned(),
        format!("{input}.{}", "A".repeat(86)),
        expired,
        unknown_like(&key, "acme_live_"),
        wrong_secret(&key),
        unknown_like(rt, "rt_"),
        wrong_secret(rt),
    ] {
        assert!(e.door.revoke(&junk, None).is_ok(), "{junk:?}");
    }
    assert_eq!(e.list.jti_count(), 0);
    assert!(e.door.introspect(&jwt).active);
    assert!(e.door.introspect(&key).active);
    assert!(e.door.introspect(rt).active);
}

// ---------------------------------------------------------------------------
// Failing stores
// ---------------------------------------------------------------------------

fn down() -> Error {
    Error::store(std::io::Error::other("backend unavailable"))
}

#[derive(Debug)]
struct DownRefresh;

impl RefreshStore for DownRefresh {
    fn get(&self, _id: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        Err(down())
    }
    fn insert(&self, _record: RefreshRecord) -> Result<(), Error> {
        Ok(())
    }
    fn rotate(&self, _request: &RotateRequest) -> Result<RotateOutcome, Error> {
        Err(down())
    }
    fn revoke_family(
        &self,
        _family_id: &str,
        _at: tokengate::time::OffsetDateTime,
    ) -> Result<(), Error> {
        Err(down())
    }
    fn is_family_revoked(&self, _family_id: &str) -> Result<bool, Error> {
        Err(down())
    }
}

fn assert_internal<T: std::fmt::Debug>(r: Result<T, Error>, what: &str) {
    match r {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::StoreFailure, "{what}");
            assert!(e.is_internal(), "{what}");
        }
        Ok(v) => panic!("{what}: expected a store failure, got {v:?}"),
    }
}

#[test]
fn a_failing_store_is_an_error_for_try_introspect_and_inactive_for_introspect() {
    let e = env();
    // Tokens minted against the healthy stores, presented to an
    // introspector whose backends are down.
    let key = e.api_key(NewApiKey::new("svc"));
    let jwt = e.jwt(&e.builder());
    // The refresh store accepts inserts, so login works; lookups fail.
    let down_refresh = RefreshTokens::builder(
        Arc::new(DownRefresh),
        e.ring.clone(),
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .without_access_token_revocation()
    .reuse_grace(tokengate::time::Duration::ZERO)
    .clock(e.clock.clone())
    .build()
    .unwrap();
    let rt = down_refresh
        .login(Grant::new("hal"))
        .unwrap()
        .refresh_token
        .expose_secret()
        .to_owned();
    let down_validator = Validator::builder(e.ring.clone())
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .revocation(Arc::new(FailingRevocation))
        .clock(e.clock.clone())
        .build()
        .unwrap();
    let down_keys = ApiKeyVerifier::new(
        ApiKeyFormat::new("acme")
            .unwrap()
            .environment("live")
            .unwrap(),
        Arc::new(FailingApiKeyStore::new()),
    )
    .with_clock(e.clock.clone());
    let door = Introspector::builder()
        .access_tokens(down_validator)
        .api_keys(down_keys)
        .refresh_tokens(down_refresh)
        .revocation(e.list.clone())
        .clock(e.clock.clone())
        .build()
        .unwrap();

    for (token, what) in [
        (key.as_str(), "API key"),
        (jwt.as_str(), "JWT"),
        (rt.as_str(), "refresh token"),
    ] {
        assert_internal(door.try_introspect(token), what);
        assert_eq!(door.introspect(token).to_json(), INACTIVE, "{what}");
        // Revocation cannot be confirmed either: an error, not a silent Ok.
        assert_internal(door.revoke(token, None), what);
    }
    // Junk never reaches the backends: inactive and revocable without error.
    for junk in ["", "garbage", "acme_live_short", "rt_short"] {
        assert_eq!(door.try_introspect(junk).unwrap().to_json(), INACTIVE);
        door.revoke(junk, None).unwrap();
    }
}

// ---------------------------------------------------------------------------
// RFC 7009 §2.1: a client revokes only its own tokens
// ---------------------------------------------------------------------------

#[test]
fn revocation_refuses_another_clients_token() {
    let e = env();
    let access = e.jwt(&e.builder().jwt_id("jti-web").client_id("web"));
    let refresh = e.login(Grant::new("alice").client_id("web"));
    let rt = refresh.refresh_token.expose_secret();
    for (token, what) in [(access.as_str(), "access token"), (rt, "refresh token")] {
        for client in [Some("mobile"), None] {
            let err = e.door.revoke(token, client).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::WrongClient, "{what} by {client:?}");
            assert!(e.door.introspect(token).active, "{what} untouched");
        }
        e.door.revoke(token, Some("web")).unwrap();
        assert!(
            !e.door.introspect(token).active,
            "{what} revoked by its client"
        );
    }
}

// ---------------------------------------------------------------------------
// Routing by format: a parse, not a prefix
// ---------------------------------------------------------------------------

/// Refresh tokens of `e`'s keys and clock under `prefix`.
fn refresh_with_prefix(e: &Env, prefix: &str) -> RefreshTokens {
    RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        e.ring.clone(),
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .prefix(prefix)
    .revocation(e.list.clone())
    .clock(e.clock.clone())
    .build()
    .unwrap()
}

/// Introspects and revokes an API key and a refresh token through `door`,
/// whose API key lead starts with the refresh tokens' lead (or equals it).
fn both_kinds_are_routed(e: &Env, door: &Introspector, keys: &ApiKeyIssuer, rt: &RefreshTokens) {
    let key = keys
        .issue_into(&*e.key_store, NewApiKey::new("svc"))
        .unwrap();
    let key = key.expose_secret();
    let pair = rt.login(Grant::new("alice")).unwrap();
    let token = pair.refresh_token.expose_secret();
    assert!(token.starts_with(rt.format().lead()));
    assert!(key.starts_with(rt.format().lead()));

    let introspected = door.introspect(key);
    assert!(introspected.active, "the API key: {introspected:?}");
    assert_eq!(introspected.sub.as_deref(), Some("svc"));
    assert!(door.introspect(token).active, "the refresh token");
    // RFC 7009: revoking the API key revokes it.
    door.revoke(key, None).unwrap();
    assert!(!door.introspect(key).active, "the revoked API key");
    let keys_verifier =
        ApiKeyVerifier::new(keys.format().clone(), e.key_store.clone()).with_clock(e.clock.clone());
    assert_eq!(
        keys_verifier.verify(key).unwrap_err().kind(),
        ErrorKind::Revoked
    );
    door.revoke(token, None).unwrap();
    assert!(!door.introspect(token).active, "the revoked refresh token");
}

#[test]
fn an_api_key_whose_lead_starts_with_the_refresh_prefix_is_introspected_and_revoked() {
    let e = env();
    // Refresh tokens `acme_…`, API keys `acme_live_…`.
    let rt = refresh_with_prefix(&e, "acme");
    let door = Introspector::builder()
        .access_tokens(e.validator.clone())
        .api_keys(e.verifier.clone())
        .refresh_tokens(rt.clone())
        .revocation(e.list.clone())
        .clock(e.clock.clone())
        .build()
        .unwrap();
    both_kinds_are_routed(&e, &door, &e.keys, &rt);
}

#[test]
fn api_keys_and_refresh_tokens_with_the_same_lead_are_told_apart() {
    let e = env();
    // Both `rt_…`, of different lengths.
    let rt = refresh_with_prefix(&e, "rt");
    let format = ApiKeyFormat::new("rt").unwrap();
    assert_eq!(format.lead(), rt.format().lead());
    let keys = ApiKeyIssuer::new(format.clone()).with_clock(e.clock.clone());
    let verifier = ApiKeyVerifier::new(format, e.key_store.clone()).with_clock(e.clock.clone());
    let door = Introspector::builder()
        .access_tokens(e.validator.clone())
        .api_keys(verifier)
        .refresh_tokens(rt.clone())
        .revocation(e.list.clone())
        .clock(e.clock.clone())
        .build()
        .unwrap();
    both_kinds_are_routed(&e, &door, &keys, &rt);
}

#[test]
fn an_introspector_without_any_token_kind_is_refused_when_built() {
    let e = env();
    // It would answer every token inactive and "revoke" every one of them
    // without doing anything.
    let err = Introspector::builder()
        .revocation(e.list.clone())
        .clock(e.clock.clone())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
}

#[test]
fn overlapping_api_key_and_refresh_token_formats_are_refused_when_built() {
    let e = env();
    // Both `rt_` + 64 characters: one string would be both kinds.
    let rt = refresh_with_prefix(&e, "rt");
    let same_shape = ApiKeyFormat::new("rt").unwrap().secret_len(43).unwrap();
    assert!(same_shape.overlaps(rt.format()));
    let keys = ApiKeyVerifier::new(same_shape, e.key_store.clone());
    let err = Introspector::builder()
        .api_keys(keys.clone())
        .refresh_tokens(rt.clone())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
    // The same lead and length split differently is the same shape.
    let split = ApiKeyFormat::new("rt")
        .unwrap()
        .id_len(20)
        .unwrap()
        .secret_len(35)
        .unwrap();
    assert_eq!(split.key_len(), rt.format().key_len());
    let err = Introspector::builder()
        .api_keys(ApiKeyVerifier::new(split, e.key_store.clone()))
        .refresh_tokens(rt.clone())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
    // Each on its own is fine.
    Introspector::builder().api_keys(keys).build().unwrap();
    Introspector::builder().refresh_tokens(rt).build().unwrap();
}

// ---------------------------------------------------------------------------
// Revocation that cannot be done is an error, never a silent Ok
// ---------------------------------------------------------------------------

#[test]
fn revoking_an_access_token_without_a_revocation_store_is_refused() {
    let e = env();
    let door = Introspector::builder()
        .access_tokens(e.validator.clone())
        .api_keys(e.verifier.clone())
        .refresh_tokens(e.refresh.clone())
        .clock(e.clock.clone())
        .build()
        .unwrap();
    let token = e.jwt(&e.builder().jwt_id("a-1"));
    let err = door.revoke(&token, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
    assert!(err.is_configuration());
    assert!(door.introspect(&token).active, "not revoked");
    // Whatever the token: the answer does not depend on its validity.
    for other in ["garbage", &e.jwt(&e.builder().jwt_id("a-2").subject("eve"))] {
        assert_eq!(
            door.revoke(other, None).unwrap_err().kind(),
            ErrorKind::InvalidConfiguration
        );
    }
    assert_eq!(
        door.revoke_subject(&token, None).unwrap_err().kind(),
        ErrorKind::InvalidConfiguration
    );
    // API keys and refresh tokens have their own stores and still revoke.
    let key = e.api_key(NewApiKey::new("svc"));
    door.revoke(&key, None).unwrap();
    assert!(!door.introspect(&key).active);
    let pair = e.login(Grant::new("alice"));
    door.revoke(pair.refresh_token.expose_secret(), None)
        .unwrap();
    assert!(!door.introspect(pair.refresh_token.expose_secret()).active);
}

#[test]
fn revoking_an_access_token_without_jti_or_sid_is_refused() {
    let e = env();
    let bare = e.jwt(&e.builder().without_jwt_id().subject("dora"));
    let sibling = e.jwt(&e.builder().jwt_id("d-2").subject("dora"));
    let err = e.door.revoke(&bare, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingClaim);
    // Nothing was revoked: no subject-wide entry behind the caller's back.
    assert_eq!(e.list.subject_count(), 0);
    assert!(e.door.introspect(&bare).active);
    assert!(e.door.introspect(&sibling).active);
    // Taking back every token of the subject is a request of its own.
    e.door.revoke_subject(&bare, None).unwrap();
    assert_eq!(e.list.subject_count(), 1);
    assert!(!e.door.introspect(&bare).active);
    assert!(!e.door.introspect(&sibling).active);
    // Not even a subject: still refused, never a silent Ok.
    let anonymous = e.jwt(
        &TokenBuilder::new()
            .issuer(ISS)
            .audience(AUD)
            .lifetime(Duration::minutes(10))
            .clock(e.clock.clone())
            .without_jwt_id(),
    );
    assert_eq!(
        e.door.revoke(&anonymous, None).unwrap_err().kind(),
        ErrorKind::MissingClaim
    );
    assert_eq!(
        e.door.revoke_subject(&anonymous, None).unwrap_err().kind(),
        ErrorKind::MissingClaim
    );
}
