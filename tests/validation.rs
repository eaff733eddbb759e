//! Validation rules of [`tokengate::Validator`], each shown accepting and
//! rejecting: issuer and audience policies, `typ`, time claims at their exact
//! leeway boundaries, required claims, the RFC 9068 profile, the algorithm
//! allow-list, key lookup and rotation, size limits, strict claim types and
//! the header attacks (`crit`, `none`, embedded keys).
//!
//! Time is pinned with a shared [`FixedClock`]; tokens come from
//! [`TokenBuilder`] or, where the builder refuses, are signed by hand.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use tokengate::jwt::DEFAULT_LEEWAY;
use tokengate::testing::b64_encode;
use tokengate::testing::{T0, attacker_hmac_key, clock};
use tokengate::{
    Algorithm, AlgorithmSet, Claim, Error, ErrorKind, FixedClock, KeyRing, KeySetStore, Malformed,
    SigningKey, SingleKeyStore, TokenBuilder, Validator, ValidatorBuilder, Verified, VerifyingKey,
    jws,
};

const NOW: i64 = T0;
const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";
const RSA_SPKI_PEM: &str = include_str!("data/keys/rsa2048_spki.pem");

/// One Ed25519 key, a clock shared by issuer and validator, and helpers.
struct Env {
    key: SigningKey,
    clock: Arc<FixedClock>,
}

impl Env {
    fn new() -> Self {
        Self::with_key(SigningKey::generate(Algorithm::EdDSA).unwrap())
    }

    fn with_key(key: SigningKey) -> Self {
        Self {
            key,
            clock: clock(),
        }
    }

    /// A token template with `iss`, `sub` and `aud` set, on the shared clock.
    fn tokens(&self) -> TokenBuilder {
        TokenBuilder::new()
            .issuer(ISS)
            .subject("user-1")
            .audience(AUD)
            .clock(self.clock.clone())
    }

    /// A validator over this key expecting `ISS` and `AUD`, on the shared
    /// clock.
    fn validator(&self) -> ValidatorBuilder {
        self.bare_validator().issuer(ISS).audience(AUD)
    }

    /// A validator over this key with no issuer or audience policy yet.
    fn bare_validator(&self) -> ValidatorBuilder {
        Validator::builder(SingleKeyStore::new(self.key.verifying_key()))
            .danger_accept_any_type()
            .clock(self.clock.clone())
    }

    fn sign<T: Serialize>(&self, builder: &TokenBuilder<T>) -> String {
        builder.sign(&self.key).unwrap()
    }

    /// Signs a hand-written claims object with header `typ` `JWT`.
    fn raw(&self, claims: &Value) -> String {
        self.raw_typ(claims, Some("JWT"))
    }

    fn raw_typ(&self, claims: &Value, typ: Option<&str>) -> String {
        jws::sign(claims.to_string().as_bytes(), &self.key, typ).unwrap()
    }

    /// Signs a hand-written header and payload, byte for byte.
    fn compact(&self, header: &str, payload: &str) -> String {
        compact(header, payload, &self.key)
    }

    fn at(&self, unix: i64) -> &Self {
        self.clock.set_unix(unix);
        self
    }
}

/// `BASE64URL(header).BASE64URL(payload).BASE64URL(signature)` with the
/// header and payload exactly as given.
fn compact(header: &str, payload: &str, key: &SigningKey) -> String {
    let input = format!("{}.{}", b64_encode(header), b64_encode(payload));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64_encode(signature))
}

/// Claims that pass [`Env::validator`] at `NOW`.
fn good_claims() -> Value {
    json!({"iss": ISS, "sub": "user-1", "aud": AUD, "iat": NOW, "exp": NOW + 600})
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    claims[name] = value;
    claims
}

fn without(mut claims: Value, name: &str) -> Value {
    claims.as_object_mut().unwrap().remove(name);
    claims
}

#[track_caller]
fn accept(v: &Validator, token: &str) -> Verified {
    match v.validate(token) {
        Ok(verified) => verified,
        Err(e) => panic!("expected the token to validate, got {e:?}"),
    }
}

#[track_caller]
fn reject(v: &Validator, token: &str) -> Error {
    match v.validate(token) {
        Ok(verified) => panic!("expected a rejection, got {verified:?}"),
        Err(e) => e,
    }
}

#[track_caller]
fn kind(v: &Validator, token: &str) -> &'static str {
    reject(v, token).kind().as_str()
}

#[track_caller]
fn build_error(b: ValidatorBuilder) -> &'static str {
    match b.build() {
        Ok(v) => panic!("expected a build error, got {v:?}"),
        Err(e) => {
            assert!(e.is_configuration(), "{e:?}");
            e.kind().as_str()
        }
    }
}

#[track_caller]
fn assert_missing(err: Error, claim: &str) {
    match err {
        Error::MissingClaim(name) => assert_eq!(name, claim),
        other => panic!("expected missing claim `{claim}`, got {other:?}"),
    }
}

#[track_caller]
fn assert_bad_claim(err: Error, claim: &str) {
    match err {
        Error::Malformed(Malformed::Claim(name)) => assert_eq!(name, claim),
        other => panic!("expected malformed claim `{claim}`, got {other:?}"),
    }
}

/// An owned copy of a signing key's public half (via its JWK), for stores
/// that take `VerifyingKey` by value.
fn public(key: &SigningKey) -> VerifyingKey {
    VerifyingKey::from_jwk(&key.verifying_key().to_jwk().unwrap().to_json(), None).unwrap()
}

// ---------------------------------------------------------------------------
// Issuer
// ---------------------------------------------------------------------------

#[test]
fn issuer_policy_must_be_chosen_at_build() {
    let env = Env::new();
    assert_eq!(
        build_error(env.bare_validator().audience(AUD)),
        "invalid_configuration"
    );
    assert_eq!(
        build_error(
            env.bare_validator()
                .issuers(Vec::<String>::new())
                .audience(AUD)
        ),
        "invalid_configuration"
    );
    let v = env
        .bare_validator()
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    accept(&v, &env.sign(&env.tokens()));
}

#[test]
fn single_issuer_is_compared_exactly() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let verified = accept(&v, &env.sign(&env.tokens()));
    assert_eq!(verified.claims().issuer.as_deref(), Some(ISS));
    for wrong in [
        "https://AUTH.example.com",
        "HTTPS://auth.example.com",
        "https://auth.example.com/",
        "https://auth.example.co",
        "https://auth.example.com.evil.example",
        "https://auth.example.com:443",
        "http://auth.example.com",
        "https://evil.example/https://auth.example.com",
        " https://auth.example.com",
        "https://auth.example.com ",
        "https://auth.example.com\u{0}",
        "",
    ] {
        let token = env.sign(&env.tokens().issuer(wrong));
        assert_eq!(kind(&v, &token), "invalid_issuer", "{wrong:?}");
    }
}

#[test]
fn missing_issuer_is_a_missing_claim() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let err = reject(&v, &env.raw(&without(good_claims(), "iss")));
    assert_eq!(err.kind(), ErrorKind::MissingClaim);
    assert_missing(err, "iss");
    accept(&v, &env.raw(&good_claims()));
}

#[test]
fn several_issuers_accept_each_and_nothing_else() {
    let env = Env::new();
    let other = "https://login.example.org";
    let listed = env
        .bare_validator()
        .issuers([ISS, other])
        .audience(AUD)
        .build()
        .unwrap();
    let chained = env.validator().issuer(other).build().unwrap();
    for v in [&listed, &chained] {
        accept(v, &env.sign(&env.tokens()));
        accept(v, &env.sign(&env.tokens().issuer(other)));
        let third = env.sign(&env.tokens().issuer("https://login.example.net"));
        assert_eq!(kind(v, &third), "invalid_issuer");
        assert_eq!(
            kind(v, &env.raw(&without(good_claims(), "iss"))),
            "missing_claim"
        );
    }
}

#[test]
fn danger_accept_any_issuer_accepts_any_or_none() {
    let env = Env::new();
    let v = env
        .bare_validator()
        .danger_accept_any_issuer()
        .audience(AUD)
        .build()
        .unwrap();
    accept(&v, &env.sign(&env.tokens()));
    accept(
        &v,
        &env.sign(&env.tokens().issuer("https://anyone.example")),
    );
    accept(&v, &env.raw(&without(good_claims(), "iss")));
    // Other checks still apply.
    let wrong_aud = env.sign(&env.tokens().audience("https://other.example"));
    assert_eq!(kind(&v, &wrong_aud), "invalid_audience");
}

// ---------------------------------------------------------------------------
// Audience
// ---------------------------------------------------------------------------

#[test]
fn audience_policy_must_be_chosen_at_build() {
    let env = Env::new();
    assert_eq!(
        build_error(env.bare_validator().issuer(ISS)),
        "invalid_configuration"
    );
    assert_eq!(
        build_error(
            env.bare_validator()
                .issuer(ISS)
                .audiences(Vec::<&str>::new())
        ),
        "invalid_configuration"
    );
    assert_eq!(build_error(env.bare_validator()), "invalid_configuration");
}

#[test]
fn audience_as_string_or_array() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    // The builder writes one audience as a string.
    let one = accept(&v, &env.raw(&with(good_claims(), "aud", json!(AUD))));
    assert_eq!(one.claims().audience, Some(tokengate::Audience::from(AUD)));
    let array = env.raw(&with(
        good_claims(),
        "aud",
        json!(["https://other.example", AUD]),
    ));
    let verified = accept(&v, &array);
    assert!(verified.claims().has_audience(AUD));
    accept(
        &v,
        &env.sign(&env.tokens().audiences(["https://other.example", AUD])),
    );

    for wrong in [
        json!("https://other.example"),
        json!(["https://other.example"]),
        json!([]),
        json!("https://API.example.com"),
        json!("https://api.example.com/"),
        json!(["https://api.example.com/", "https://api.example.co"]),
    ] {
        let token = env.raw(&with(good_claims(), "aud", wrong.clone()));
        assert_eq!(kind(&v, &token), "invalid_audience", "{wrong}");
    }
    let err = reject(&v, &env.raw(&without(good_claims(), "aud")));
    assert_missing(err, "aud");
}

#[test]
fn several_audiences_any_of_by_default() {
    let env = Env::new();
    let second = "https://reports.example.com";
    let v = env
        .bare_validator()
        .issuer(ISS)
        .audiences([AUD, second])
        .build()
        .unwrap();
    accept(&v, &env.sign(&env.tokens().audience(AUD)));
    accept(&v, &env.sign(&env.tokens().audience(second)));
    accept(
        &v,
        &env.sign(&env.tokens().audiences(["https://x.example", second])),
    );
    let neither = env.sign(&env.tokens().audience("https://x.example"));
    assert_eq!(kind(&v, &neither), "invalid_audience");
}

#[test]
fn require_all_audiences_needs_every_one() {
    let env = Env::new();
    let second = "https://reports.example.com";
    let v = env
        .validator()
        .audience(second)
        .require_all_audiences()
        .build()
        .unwrap();
    accept(&v, &env.sign(&env.tokens().audiences([AUD, second])));
    accept(&v, &env.sign(&env.tokens().audiences([second, AUD])));
    accept(
        &v,
        &env.sign(&env.tokens().audiences([second, "https://x.example", AUD])),
    );
    for partial in [vec![AUD], vec![second], vec![AUD, "https://x.example"]] {
        let token = env.sign(&env.tokens().audiences(partial.clone()));
        assert_eq!(kind(&v, &token), "invalid_audience", "{partial:?}");
    }
    assert_eq!(
        kind(&v, &env.raw(&without(good_claims(), "aud"))),
        "missing_claim"
    );
}

#[test]
fn expect_no_audience_rejects_any_aud() {
    let env = Env::new();
    let v = env
        .bare_validator()
        .issuer(ISS)
        .expect_no_audience()
        .build()
        .unwrap();
    accept(&v, &env.raw(&without(good_claims(), "aud")));
    for aud in [json!(AUD), json!([AUD]), json!("anything"), json!([])] {
        let token = env.raw(&with(good_claims(), "aud", aud.clone()));
        let err = reject(&v, &token);
        assert!(matches!(err, Error::InvalidAudience), "{aud}: {err:?}");
        assert_eq!(err.kind().as_str(), "invalid_audience");
    }
}

#[test]
fn danger_accept_any_audience_accepts_any_aud_or_none() {
    let env = Env::new();
    let v = env
        .bare_validator()
        .issuer(ISS)
        .danger_accept_any_audience()
        .build()
        .unwrap();
    accept(&v, &env.raw(&without(good_claims(), "aud")));
    for aud in [
        json!(AUD),
        json!("https://other.example"),
        json!(["a", "b"]),
        json!([]),
    ] {
        let verified = accept(&v, &env.raw(&with(good_claims(), "aud", aud.clone())));
        assert!(verified.claims().audience.is_some(), "{aud}");
    }
    // Twins: `aud` is still strictly typed, the other checks still run,
    // and a validator naming its audience still refuses another's token.
    let bad = env.raw(&with(good_claims(), "aud", json!(42)));
    assert_eq!(kind(&v, &bad), "malformed");
    let wrong_iss = env.raw(&with(good_claims(), "iss", json!("https://evil.example")));
    assert_eq!(kind(&v, &wrong_iss), "invalid_issuer");
    let other = env.raw(&with(good_claims(), "aud", json!("https://other.example")));
    assert_eq!(
        kind(&env.validator().build().unwrap(), &other),
        "invalid_audience"
    );
}

// ---------------------------------------------------------------------------
// typ
// ---------------------------------------------------------------------------

#[test]
fn typ_is_compared_case_insensitively_with_optional_prefix() {
    let env = Env::new();
    let v = env.validator().typ("at+jwt").build().unwrap();
    let claims = with(good_claims(), "jti", json!("j1"));
    for typ in [
        "at+jwt",
        "AT+JWT",
        "At+Jwt",
        "application/at+jwt",
        "APPLICATION/AT+JWT",
    ] {
        let verified = accept(&v, &env.raw_typ(&claims, Some(typ)));
        assert_eq!(verified.header().typ(), Some(typ));
    }
    for typ in [
        "JWT",
        "jwt",
        "at+jwt ",
        "at-jwt",
        "application/jwt",
        "application/at+jwt+x",
        "xapplication/at+jwt",
        "application/application/at+jwt",
        "",
    ] {
        let token = env.raw_typ(&claims, Some(typ));
        assert!(matches!(reject(&v, &token), Error::InvalidType), "{typ:?}");
    }
    let untyped = env.raw_typ(&claims, None);
    assert_eq!(kind(&v, &untyped), "invalid_type");
    // Without a typ requirement, any typ and none pass.
    let lenient = env.validator().build().unwrap();
    accept(&lenient, &untyped);
    accept(&lenient, &env.raw_typ(&claims, Some("something-else")));
}

#[test]
fn typ_set_on_the_validator_also_accepts_its_prefixed_form() {
    let env = Env::new();
    let v = env.validator().typ("application/at+jwt").build().unwrap();
    let claims = good_claims();
    accept(&v, &env.raw_typ(&claims, Some("at+jwt")));
    assert_eq!(kind(&v, &env.raw_typ(&claims, Some("JWT"))), "invalid_type");
}

// ---------------------------------------------------------------------------
// exp required
// ---------------------------------------------------------------------------

#[test]
fn exp_is_required_by_default() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let endless = env.sign(&env.tokens().no_expiry());
    let err = reject(&v, &endless);
    assert_eq!(err.kind().as_str(), "missing_claim");
    assert_missing(err, "exp");
    accept(&v, &env.sign(&env.tokens()));
}

#[test]
fn danger_allow_missing_exp_accepts_endless_tokens_but_still_checks_exp() {
    let env = Env::new();
    let v = env.validator().danger_allow_missing_exp().build().unwrap();
    let endless = env.sign(&env.tokens().no_expiry());
    let short = env.sign(&env.tokens().lifetime(Duration::seconds(60)));
    env.at(NOW + 10 * 365 * 86_400);
    let verified = accept(&v, &endless);
    assert_eq!(verified.claims().expires_at, None);
    assert_eq!(kind(&v, &short), "expired");
}

// ---------------------------------------------------------------------------
// Time claims at their leeway boundaries
// ---------------------------------------------------------------------------

/// Checks the second before and at each boundary (`exp`, `nbf`, `iat` in
/// the future, maximum age) for a validator with `leeway` (default when
/// `None`).
fn check_time_boundaries(leeway: Option<Duration>) {
    let l = leeway.unwrap_or(DEFAULT_LEEWAY).whole_seconds();
    let env = Env::new();
    let configure = |b: ValidatorBuilder| match leeway {
        Some(d) => b.leeway(d),
        None => b,
    };
    let v = configure(env.validator()).build().unwrap();

    // exp: valid while now < exp + leeway.
    env.at(NOW);
    let token = env.sign(&env.tokens().lifetime(Duration::seconds(600)));
    let exp = NOW + 600;
    env.at(exp - 1);
    accept(&v, &token);
    env.at(exp + l - 1);
    accept(&v, &token);
    env.at(exp + l);
    match reject(&v, &token) {
        Error::Expired { exp: e, now } => assert_eq!((e, now), (exp, exp + l)),
        other => panic!("leeway {l}: expected expired, got {other:?}"),
    }
    env.at(exp + l + 1);
    assert_eq!(kind(&v, &token), "expired");

    // nbf: valid once now + leeway >= nbf.
    env.at(NOW);
    let nbf = NOW + 200;
    let token = env.sign(
        &env.tokens()
            .not_before(OffsetDateTime::from_unix_timestamp(nbf).unwrap()),
    );
    env.at(nbf - l);
    accept(&v, &token);
    env.at(nbf - l - 1);
    match reject(&v, &token) {
        Error::NotYetValid { nbf: n, now } => assert_eq!((n, now), (nbf, nbf - l - 1)),
        other => panic!("leeway {l}: expected not yet valid, got {other:?}"),
    }
    assert_eq!(kind(&v, &token), "not_yet_valid");

    // iat in the future: valid while iat <= now + leeway.
    let iat = NOW + 1_000;
    env.at(iat);
    let token = env.sign(&env.tokens());
    env.at(iat - l);
    accept(&v, &token);
    env.at(iat - l - 1);
    match reject(&v, &token) {
        Error::IssuedInFuture { iat: i, now } => assert_eq!((i, now), (iat, iat - l - 1)),
        other => panic!("leeway {l}: expected issued in future, got {other:?}"),
    }
    assert_eq!(kind(&v, &token), "issued_in_future");

    // Maximum age: valid while now - iat <= max_age + leeway.
    let max_age = 300;
    let aged = configure(env.validator().max_age(Duration::seconds(max_age)))
        .build()
        .unwrap();
    env.at(NOW);
    let token = env.sign(&env.tokens().lifetime(Duration::hours(2)));
    env.at(NOW + max_age + l);
    accept(&aged, &token);
    env.at(NOW + max_age + l + 1);
    match reject(&aged, &token) {
        Error::TokenTooOld {
            iat,
            now,
            max_age: m,
        } => {
            assert_eq!((iat, now, m), (NOW, NOW + max_age + l + 1, max_age));
        }
        other => panic!("leeway {l}: expected too old, got {other:?}"),
    }
    assert_eq!(kind(&aged, &token), "token_too_old");
    // The plain validator has no maximum age.
    accept(&v, &token);
}

#[test]
fn time_boundaries_with_the_default_leeway() {
    assert_eq!(DEFAULT_LEEWAY, Duration::seconds(30));
    check_time_boundaries(None);
}

#[test]
fn time_boundaries_with_a_custom_leeway() {
    check_time_boundaries(Some(Duration::seconds(5)));
    check_time_boundaries(Some(Duration::minutes(2)));
}

#[test]
fn time_boundaries_with_no_leeway() {
    check_time_boundaries(Some(Duration::ZERO));
}

#[test]
fn negative_leeway_or_max_age_is_a_build_error() {
    let env = Env::new();
    assert_eq!(
        build_error(env.validator().leeway(Duration::seconds(-1))),
        "invalid_configuration"
    );
    assert_eq!(
        build_error(env.validator().max_age(Duration::seconds(-1))),
        "invalid_configuration"
    );
}

#[test]
fn max_age_requires_iat() {
    let env = Env::new();
    let v = env
        .validator()
        .max_age(Duration::minutes(5))
        .build()
        .unwrap();
    assert_missing(reject(&v, &env.raw(&without(good_claims(), "iat"))), "iat");
    accept(&v, &env.raw(&good_claims()));
    // Without a maximum age, iat is optional.
    let plain = env.validator().build().unwrap();
    accept(&plain, &env.raw(&without(good_claims(), "iat")));
}

// ---------------------------------------------------------------------------
// Required claims and the RFC 9068 profile
// ---------------------------------------------------------------------------

#[test]
fn required_claims_are_enforced() {
    let env = Env::new();
    let cases = [
        (Claim::Subject, json!("user-1")),
        (Claim::JwtId, json!("id-1")),
        (Claim::Scope, json!("orders:read")),
        (Claim::ClientId, json!("client-1")),
        (Claim::NotBefore, json!(NOW - 10)),
        (Claim::IssuedAt, json!(NOW - 10)),
    ];
    for (claim, value) in cases {
        let v = env.validator().require(claim).build().unwrap();
        let name = claim.name();
        let bare = without(good_claims(), name);
        let err = reject(&v, &env.raw(&bare));
        assert_eq!(err.kind().as_str(), "missing_claim", "{name}");
        assert_missing(err, name);
        accept(&v, &env.raw(&with(bare, name, value)));
    }
    // Several requirements at once.
    let v = env
        .validator()
        .require(Claim::JwtId)
        .require(Claim::Scope)
        .build()
        .unwrap();
    let token = env.sign(&env.tokens().scope("a b"));
    accept(&v, &token);
    let token = env.sign(&env.tokens().scope("a b").without_jwt_id());
    assert_missing(reject(&v, &token), "jti");
}

#[test]
fn access_token_profile_rejects_id_token_like_jwts() {
    let env = Env::new();
    let v = env.validator().access_token_profile().build().unwrap();

    let proper = env.sign(&env.tokens().access_token().client_id("client-1"));
    let verified = accept(&v, &proper);
    assert_eq!(verified.header().typ(), Some("at+jwt"));
    assert_eq!(verified.claims().client_id.as_deref(), Some("client-1"));

    // An ID token: typ JWT, no client_id.
    let id_token = env.sign(&env.tokens());
    let err = reject(&v, &id_token);
    assert_eq!(err.kind().as_str(), "missing_claim");
    assert_missing(err, "client_id");
    // Even with client_id, typ JWT is not an access token.
    let typed_jwt = env.sign(&env.tokens().client_id("client-1"));
    assert_eq!(kind(&v, &typed_jwt), "invalid_type");
    // Every RFC 9068 claim is required, even if the header says at+jwt.
    let full = with(
        with(good_claims(), "client_id", json!("client-1")),
        "jti",
        json!("id-1"),
    );
    accept(&v, &env.raw_typ(&full, Some("at+jwt")));
    for name in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        let token = env.raw_typ(&without(full.clone(), name), Some("at+jwt"));
        assert_missing(reject(&v, &token), name);
    }
}

// ---------------------------------------------------------------------------
// Algorithm allow-list
// ---------------------------------------------------------------------------

#[test]
fn default_allow_list_is_the_stores_algorithms() {
    let hs = SigningKey::hmac(Algorithm::HS256, &[0x5a; 32])
        .unwrap()
        .with_key_id("hs");
    let hs_public = VerifyingKey::hmac(Algorithm::HS256, &[0x5a; 32])
        .unwrap()
        .with_key_id("hs");
    let es = SigningKey::generate(Algorithm::ES256).unwrap();
    let store = KeySetStore::new([hs_public, public(&es)]).unwrap();
    let env = Env::with_key(SigningKey::generate(Algorithm::EdDSA).unwrap());
    let v = Validator::builder(store)
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(env.clock.clone())
        .build()
        .unwrap();
    let expected: AlgorithmSet = [Algorithm::HS256, Algorithm::ES256].into_iter().collect();
    assert_eq!(v.algorithms(), expected);
    accept(&v, &env.tokens().sign(&hs).unwrap());
    accept(&v, &env.tokens().sign(&es).unwrap());
    for alg in [Algorithm::HS384, Algorithm::ES384, Algorithm::EdDSA] {
        let other = SigningKey::generate(alg).unwrap();
        let err = reject(&v, &env.tokens().sign(&other).unwrap());
        assert!(
            matches!(err, Error::AlgorithmNotAllowed(a) if a == alg),
            "{err:?}"
        );
        assert_eq!(err.kind().as_str(), "algorithm_not_allowed");
    }
}

#[test]
fn explicit_allow_list_narrows() {
    let hs = SigningKey::hmac(Algorithm::HS256, &[0x6b; 32]).unwrap();
    let es = SigningKey::generate(Algorithm::ES256).unwrap();
    let hs_public = VerifyingKey::hmac(Algorithm::HS256, &[0x6b; 32]).unwrap();
    let store = Arc::new(KeySetStore::new([hs_public, public(&es)]).unwrap());
    let env = Env::new();
    let v = Validator::builder(Arc::clone(&store))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(env.clock.clone())
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap();
    assert_eq!(v.algorithms(), AlgorithmSet::only(Algorithm::ES256));
    accept(&v, &env.tokens().sign(&es).unwrap());
    assert_eq!(
        kind(&v, &env.tokens().sign(&hs).unwrap()),
        "algorithm_not_allowed"
    );

    // Naming an algorithm the store lacks, or none, is a build error.
    for algs in [
        vec![Algorithm::RS256],
        vec![Algorithm::ES256, Algorithm::EdDSA],
        vec![],
    ] {
        let b = Validator::builder(Arc::clone(&store))
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .algorithms(algs);
        assert_eq!(build_error(b), "invalid_configuration");
    }
}

#[test]
fn hmac_signed_with_an_rsa_public_key_is_not_allowed() {
    // The classic key-confusion attack: sign HS256 with the verifier's RSA
    // public key as the HMAC secret.
    let rsa = VerifyingKey::from_pem(Algorithm::RS256, RSA_SPKI_PEM).unwrap();
    let kid = rsa.key_id().to_owned();
    let env = Env::new();
    let v = Validator::builder(SingleKeyStore::new(rsa))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(env.clock.clone())
        .build()
        .unwrap();
    for secret in [RSA_SPKI_PEM.as_bytes(), RSA_SPKI_PEM.trim().as_bytes()] {
        // `SigningKey::hmac` refuses a public key as the secret; the
        // attacker's own code does not.
        let forger = attacker_hmac_key(Algorithm::HS256, secret)
            .unwrap()
            .with_key_id(kid.clone());
        let forged = env.tokens().sign(&forger).unwrap();
        let err = reject(&v, &forged);
        assert!(matches!(err, Error::AlgorithmNotAllowed(Algorithm::HS256)));
    }
    let widened = Validator::builder(SingleKeyStore::new(
        VerifyingKey::from_pem(Algorithm::RS256, RSA_SPKI_PEM).unwrap(),
    ))
    .danger_accept_any_type()
    .issuer(ISS)
    .audience(AUD)
    .algorithms([Algorithm::RS256, Algorithm::HS256]);
    assert_eq!(build_error(widened), "invalid_configuration");
}

// ---------------------------------------------------------------------------
// Key lookup
// ---------------------------------------------------------------------------

/// `Error::UnknownKey` hands the application the token's `kid` (so it can
/// decide to refetch a JWK Set), cut to 128 bytes, and never puts it in the
/// message; a token without `kid` gives `None`. API keys and refresh
/// tokens not in their store are `unknown_credential`, not `unknown_key`
/// (`tests/api_keys.rs`, `tests/refresh.rs`).
#[test]
fn unknown_key_carries_the_kid_and_never_displays_it() {
    let env = Env::with_key(
        SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_key_id("k1"),
    );
    let v = env.validator().build().unwrap();
    let marker = "rotated-key-2026-11";
    let header = format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{marker}"}}"#);
    let err = reject(&v, &env.compact(&header, &good_claims().to_string()));
    assert_eq!(err.kind().as_str(), "unknown_key");
    assert_eq!(err.unknown_key_id(), Some(marker));
    assert!(matches!(&err, Error::UnknownKey { kid: Some(k) } if k == marker));
    assert_eq!(
        err.to_string(),
        "no key matches the token's key id and algorithm"
    );
    assert!(!format!("{err}").contains(marker));
    // A huge kid is kept only up to 128 bytes.
    let huge = "k".repeat(5_000);
    let header = format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{huge}"}}"#);
    let err = reject(&v, &env.compact(&header, &good_claims().to_string()));
    assert_eq!(err.unknown_key_id(), Some(&huge[..128]));
    assert!(!err.to_string().contains("kkkk"));
    // Without kid, with two candidate keys: no kid to report.
    let two = Validator::builder(
        KeySetStore::new([
            SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .with_key_id("a")
                .verifying_key(),
            SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .with_key_id("b")
                .verifying_key(),
        ])
        .unwrap(),
    )
    .danger_accept_any_type()
    .danger_accept_any_issuer()
    .expect_no_audience()
    .clock(clock())
    .build()
    .unwrap();
    let header = r#"{"alg":"ES256","typ":"JWT"}"#;
    let claims = json!({"exp": T0 + 600});
    let err = reject(&two, &env.compact(header, &claims.to_string()));
    assert!(matches!(err, Error::UnknownKey { kid: None }), "{err:?}");
    assert_eq!(err.unknown_key_id(), None);
}

#[test]
fn unknown_kid_is_unknown_key() {
    let env = Env::with_key(
        SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_key_id("k1"),
    );
    let v = env.validator().build().unwrap();
    accept(&v, &env.sign(&env.tokens()));
    // Another key under another kid.
    let stranger = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k2");
    let err = reject(&v, &env.tokens().sign(&stranger).unwrap());
    assert!(
        matches!(&err, Error::UnknownKey { kid: Some(k) } if k == "k2"),
        "{err:?}"
    );
    assert_eq!(err.kind().as_str(), "unknown_key");
    // The right signature under a kid the store does not know is refused
    // too: the kid selects the key.
    let header = r#"{"alg":"ES256","typ":"JWT","kid":"k1 "}"#;
    let token = env.compact(header, &good_claims().to_string());
    assert_eq!(kind(&v, &token), "unknown_key");
}

#[test]
fn token_without_kid_needs_a_sole_key_of_its_algorithm() {
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    let b = SigningKey::generate(Algorithm::ES256).unwrap();
    let header = r#"{"alg":"ES256","typ":"JWT"}"#;
    let payload = good_claims().to_string();
    let token_a = compact(header, &payload, &a);
    let clock = clock();
    let validator = |store: KeySetStore| {
        Validator::builder(store)
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .clock(clock.clone())
            .build()
            .unwrap()
    };

    let two = validator(KeySetStore::new([public(&a), public(&b)]).unwrap());
    assert_eq!(kind(&two, &token_a), "unknown_key");
    // With its kid the same signature is found.
    accept(
        &two,
        &compact(
            &format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{}"}}"#, a.key_id()),
            &payload,
            &a,
        ),
    );

    let one = validator(KeySetStore::new([public(&a)]).unwrap());
    let verified = accept(&one, &token_a);
    assert_eq!(verified.header().key_id(), None);
    // The sole key is still checked: b's signature does not pass.
    let token_b = compact(header, &payload, &b);
    assert_eq!(kind(&one, &token_b), "invalid_signature");

    // A sole key of another algorithm does not count.
    let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mixed = validator(KeySetStore::new([public(&a), public(&b), public(&ed)]).unwrap());
    assert_eq!(kind(&mixed, &token_a), "unknown_key");
    accept(
        &mixed,
        &compact(r#"{"alg":"EdDSA","typ":"JWT"}"#, &payload, &ed),
    );
}

#[test]
fn key_ring_rotation_keeps_the_previous_key_until_its_retirement() {
    let clock = clock();
    let first = SigningKey::generate(Algorithm::ES256).unwrap();
    let ring = Arc::new(KeyRing::with_clock(first, clock.clone()));
    let v = Validator::builder(Arc::clone(&ring))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(clock.clone())
        .build()
        .unwrap();
    let tokens = TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .lifetime(Duration::hours(1))
        .clock(clock.clone());
    let old = tokens.sign(&ring.current()).unwrap();
    accept(&v, &old);

    let retire = NOW + 600;
    ring.rotate(
        SigningKey::generate(Algorithm::ES256).unwrap(),
        Duration::seconds(retire - NOW),
    )
    .unwrap();
    let new = tokens.sign(&ring.current()).unwrap();
    accept(&v, &old);
    accept(&v, &new);
    clock.set_unix(retire - 1);
    accept(&v, &old);
    clock.set_unix(retire);
    let err = reject(&v, &old);
    assert!(matches!(err, Error::UnknownKey { .. }), "{err:?}");
    accept(&v, &new);
    clock.set_unix(retire + 1);
    assert_eq!(kind(&v, &old), "unknown_key");
    ring.prune();
    assert_eq!(kind(&v, &old), "unknown_key");
    accept(&v, &new);
}

#[test]
fn key_set_replace_while_validating_on_other_threads() {
    let a = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("a");
    let b = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("b");
    let store = Arc::new(KeySetStore::new([public(&a)]).unwrap());
    let clock = clock();
    let v = Validator::builder(Arc::clone(&store))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(clock.clone())
        .build()
        .unwrap();
    let tokens = TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .clock(clock.clone());
    let token_a = tokens.sign(&a).unwrap();
    let token_b = tokens.sign(&b).unwrap();
    accept(&v, &token_a);
    assert_eq!(kind(&v, &token_b), "unknown_key");

    let done = AtomicBool::new(false);
    let accepted = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                let mut rounds = 0;
                while !done.load(Ordering::SeqCst) || rounds < 50 {
                    for token in [&token_a, &token_b] {
                        match v.validate(token) {
                            Ok(_) => {
                                accepted.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(Error::UnknownKey { .. }) => {}
                            Err(e) => panic!("unexpected error during replace: {e:?}"),
                        }
                    }
                    rounds += 1;
                }
            });
        }
        for i in 0..300 {
            let keys = match i % 3 {
                0 => vec![public(&b)],
                1 => vec![public(&a), public(&b)],
                _ => vec![public(&a)],
            };
            store.replace(keys).unwrap();
            // A failed replace leaves the keys in place.
            assert!(store.replace([public(&a), public(&a)]).is_err());
        }
        done.store(true, Ordering::SeqCst);
    });
    assert!(accepted.load(Ordering::Relaxed) > 0);

    store.replace([public(&b)]).unwrap();
    assert_eq!(kind(&v, &token_a), "unknown_key");
    accept(&v, &token_b);
}

// ---------------------------------------------------------------------------
// Size limit
// ---------------------------------------------------------------------------

/// A valid token of exactly `len` bytes, padded through a custom claim (the
/// kid length is varied too, since base64url cannot hit every length).
fn token_of_len(env: &Env, len: usize) -> String {
    for kid_len in 1..8 {
        let key = SigningKey::hmac(Algorithm::HS256, &[0x77; 32])
            .unwrap()
            .with_key_id("k".repeat(kid_len));
        let base = env.tokens().jwt_id("fixed-id");
        let unpadded = base
            .clone()
            .custom(json!({ "pad": "" }))
            .sign(&key)
            .unwrap()
            .len();
        let start = (len.saturating_sub(unpadded) * 3 / 4).saturating_sub(8);
        for pad in start..len {
            let token = base
                .clone()
                .custom(json!({ "pad": "p".repeat(pad) }))
                .sign(&key)
                .unwrap();
            match token.len().cmp(&len) {
                std::cmp::Ordering::Less => {}
                std::cmp::Ordering::Equal => return token,
                std::cmp::Ordering::Greater => break,
            }
        }
    }
    panic!("no token of exactly {len} bytes");
}

#[test]
fn default_size_limit_is_8_kib() {
    let env = Env::with_key(
        SigningKey::hmac(Algorithm::HS256, &[0x77; 32])
            .unwrap()
            .with_key_id("k"),
    );
    let store = KeySetStore::new((1..8).map(|n| {
        VerifyingKey::hmac(Algorithm::HS256, &[0x77; 32])
            .unwrap()
            .with_key_id("k".repeat(n))
    }))
    .unwrap();
    let v = Validator::builder(store)
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(env.clock.clone())
        .build()
        .unwrap();
    let fits = token_of_len(&env, 8 * 1024);
    accept(&v, &fits);
    let over = token_of_len(&env, 8 * 1024 + 1);
    let err = reject(&v, &over);
    assert!(
        matches!(
            err,
            Error::TokenTooLarge {
                len: 8193,
                limit: 8192
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind().as_str(), "token_too_large");
    // Size is checked before shape: garbage over the limit is "too large".
    assert_eq!(kind(&v, &"a".repeat(8 * 1024 + 1)), "token_too_large");
    assert_eq!(kind(&v, &"a".repeat(8 * 1024)), "malformed");
}

#[test]
fn custom_size_limit() {
    let env = Env::new();
    let token = env.sign(&env.tokens().custom(json!({ "pad": "p".repeat(9_000) })));
    assert!(token.len() > 12_000);
    let default = env.validator().build().unwrap();
    assert_eq!(kind(&default, &token), "token_too_large");

    let exact = env.validator().max_token_size(token.len()).build().unwrap();
    accept(&exact, &token);
    let tight = env
        .validator()
        .max_token_size(token.len() - 1)
        .build()
        .unwrap();
    match reject(&tight, &token) {
        Error::TokenTooLarge { len, limit } => assert_eq!((len, limit), (token.len(), len - 1)),
        other => panic!("{other:?}"),
    }
    let small = env.sign(&env.tokens());
    let tiny = env.validator().max_token_size(100).build().unwrap();
    assert_eq!(kind(&tiny, &small), "token_too_large");

    for bad in [0, 1024 * 1024 + 1] {
        assert_eq!(
            build_error(env.validator().max_token_size(bad)),
            "invalid_configuration"
        );
    }
    env.validator().max_token_size(1024 * 1024).build().unwrap();
}

// ---------------------------------------------------------------------------
// Strict claim types
// ---------------------------------------------------------------------------

#[test]
fn numeric_dates_are_strictly_typed() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    for (name, value) in [
        ("exp", json!((NOW + 600).to_string())),
        ("exp", json!(-1)),
        ("exp", json!(-0.5)),
        ("exp", json!(null)),
        ("exp", json!(true)),
        ("exp", json!([NOW + 600])),
        ("exp", json!(253_402_300_800_i64)),
        ("nbf", json!(NOW.to_string())),
        ("nbf", json!(-5)),
        ("iat", json!(null)),
        ("iat", json!({"t": NOW})),
    ] {
        let token = env.raw(&with(good_claims(), name, value.clone()));
        let err = reject(&v, &token);
        assert_eq!(err.kind().as_str(), "malformed", "{name}: {value}");
        assert_bad_claim(err, name);
    }
}

#[test]
fn fractional_exp_is_accepted_and_truncated() {
    let env = Env::new();
    let v = env.validator().leeway(Duration::ZERO).build().unwrap();
    let exp = NOW + 10;
    let token = env.raw(&with(good_claims(), "exp", json!(exp as f64 + 0.9)));
    let verified = accept(&v, &token);
    assert_eq!(verified.claims().expires_at, Some(exp));
    env.at(exp - 1);
    accept(&v, &token);
    // Truncated, not rounded up: at `exp` the token is expired.
    env.at(exp);
    assert_eq!(kind(&v, &token), "expired");
}

#[test]
fn string_claims_and_audience_are_strictly_typed() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    for (name, value) in [
        ("aud", json!(42)),
        ("aud", json!({"aud": AUD})),
        ("aud", json!([[AUD]])),
        ("aud", json!([AUD, 1])),
        ("aud", json!(null)),
        ("iss", json!(1)),
        ("iss", json!([ISS])),
        ("sub", json!(null)),
        ("jti", json!(7)),
        ("scope", json!(["a", 1])),
        ("scope", json!({"a": "b"})),
        ("client_id", json!(false)),
    ] {
        let token = env.raw(&with(good_claims(), name, value.clone()));
        let err = reject(&v, &token);
        assert_eq!(err.kind().as_str(), "malformed", "{name}: {value}");
        assert_bad_claim(err, name);
    }
}

#[test]
fn duplicate_members_are_malformed() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let kid = env.key.key_id().to_owned();
    let payload = good_claims().to_string();
    let header = format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#);
    accept(&v, &env.compact(&header, &payload));

    for header in [
        format!(r#"{{"alg":"EdDSA","alg":"EdDSA","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","kid":"{kid}"}}"#),
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","typ":"JWT","typ":"at+jwt"}}"#),
        format!(r#"{{"alg":"EdDSA","\u0061lg":"none","kid":"{kid}"}}"#),
    ] {
        let err = reject(&v, &env.compact(&header, &payload));
        assert!(
            matches!(err, Error::Malformed(Malformed::DuplicateMember)),
            "{header}: {err:?}"
        );
    }
    let body = format!(r#""iss":"{ISS}","sub":"user-1","aud":"{AUD}","iat":{NOW}"#);
    for payload in [
        format!(r#"{{{body},"exp":{},"exp":{}}}"#, NOW + 600, NOW - 600),
        format!(r#"{{{body},"exp":{},"\u0065xp":{}}}"#, NOW + 600, NOW + 600),
        format!(
            r#"{{{body},"exp":{},"aud":"https://evil.example"}}"#,
            NOW + 600
        ),
        format!(r#"{{{body},"exp":{},"role":"a","role":"b"}}"#, NOW + 600),
    ] {
        let err = reject(&v, &env.compact(&header, &payload));
        assert!(
            matches!(err, Error::Malformed(Malformed::DuplicateMember)),
            "{payload}: {err:?}"
        );
        assert_eq!(err.kind().as_str(), "malformed");
    }
}

/// The application's claims type of the nested-duplicate tests: the roles
/// map a last-one-wins parser would fill with `admin: true`.
#[derive(Debug, Deserialize)]
struct RoleClaims {
    #[serde(default)]
    roles: std::collections::HashMap<String, bool>,
}

/// Validates `token` as each claims type an application might use and
/// returns the three errors (none of them may accept it).
#[track_caller]
fn reject_as_every_claims_type(v: &Validator, token: &str) -> [Error; 3] {
    [
        v.validate(token).map(|_| ()).unwrap_err(),
        v.validate_with::<RoleClaims>(token, None)
            .map(|_| ())
            .unwrap_err(),
        v.validate_with::<serde_json::Map<String, Value>>(token, None)
            .map(|_| ())
            .unwrap_err(),
    ]
}

/// RFC 7519 §4 and RFC 7515 §5.2: member names are unique in every object
/// of the header and claims, not only at the top level. The registered
/// claims are read by the crate and the custom claims by serde, which keeps
/// the last of two members: `{"roles":{"admin":false,"admin":true}}` must
/// not reach the application as an administrator, whatever its claims type.
#[test]
fn nested_duplicate_members_are_duplicate_member_for_every_claims_type() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let kid = env.key.key_id().to_owned();
    let header = format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#);
    let body = format!(
        r#""iss":"{ISS}","sub":"user-1","aud":"{AUD}","iat":{NOW},"exp":{}"#,
        NOW + 600
    );
    // Controls: the same shapes without the repeat pass for every type.
    let fine = format!(r#"{{{body},"roles":{{"admin":false,"user":true}}}}"#);
    let token = env.compact(&header, &fine);
    accept(&v, &token);
    let roles = v.validate_with::<RoleClaims>(&token, None).unwrap();
    assert_eq!(roles.custom().roles.get("admin"), Some(&false));
    v.validate_with::<serde_json::Map<String, Value>>(&token, None)
        .unwrap();

    for payload in [
        format!(r#"{{{body},"roles":{{"admin":false,"admin":true}}}}"#),
        format!(r#"{{{body},"roles":{{"admin":false,"\u0061dmin":true}}}}"#),
        format!(r#"{{{body},"ext":{{"a":{{"roles":{{"admin":false,"admin":true}}}}}}}}"#),
        format!(r#"{{{body},"ext":[{{"x":1}},{{"x":1,"x":2}}]}}"#),
        format!(r#"{{{body},"aud2":[[{{"k":1,"k":1}}]]}}"#),
        // Inside a registered claim's value too.
        format!(
            r#"{{"iss":"{ISS}","sub":"user-1","aud":{{"a":1,"a":2}},"iat":{NOW},"exp":{}}}"#,
            NOW + 600
        ),
    ] {
        let token = env.compact(&header, &payload);
        for err in reject_as_every_claims_type(&v, &token) {
            assert!(
                matches!(err, Error::Malformed(Malformed::DuplicateMember)),
                "{payload}: {err:?}"
            );
        }
    }
    for header in [
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","jwk":{{"kty":"OKP","kty":"EC"}}}}"#),
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","ext":[{{"a":1,"a":1}}]}}"#),
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","x":{{"y":{{"admin":false,"admin":true}}}}}}"#),
    ] {
        let token = env.compact(&header, &fine);
        for err in reject_as_every_claims_type(&v, &token) {
            assert!(
                matches!(err, Error::Malformed(Malformed::DuplicateMember)),
                "{header}: {err:?}"
            );
        }
    }
}

/// A number beyond the f64 range anywhere in the header or the claims,
/// read or not, makes the token `malformed`: no parser is left to round it
/// to infinity or to drop it.
#[test]
fn numbers_beyond_the_f64_range_anywhere_make_the_token_malformed() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let kid = env.key.key_id().to_owned();
    let header = format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#);
    let body = format!(
        r#""iss":"{ISS}","sub":"user-1","aud":"{AUD}","iat":{NOW},"exp":{}"#,
        NOW + 600
    );
    let digits = format!("1{}", "0".repeat(400));
    for payload in [
        format!(r#"{{{body},"n":1e400}}"#),
        format!(r#"{{{body},"n":-1e309}}"#),
        format!(r#"{{{body},"n":{digits}}}"#),
        format!(r#"{{{body},"roles":{{"admin":true,"weight":[1,{{"w":1e999}}]}}}}"#),
        format!(r#"{{{body},"nbf":1e309}}"#),
    ] {
        let token = env.compact(&header, &payload);
        for err in reject_as_every_claims_type(&v, &token) {
            assert!(
                matches!(err, Error::Malformed(Malformed::Json | Malformed::Claim(_))),
                "{payload}: {err:?}"
            );
        }
    }
    let payload = format!(r#"{{{body}}}"#);
    for header in [
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","n":1e400}}"#),
        format!(r#"{{"alg":"EdDSA","kid":"{kid}","x":{{"y":[-{digits}]}}}}"#),
    ] {
        let token = env.compact(&header, &payload);
        for err in reject_as_every_claims_type(&v, &token) {
            assert!(
                matches!(err, Error::Malformed(Malformed::Json)),
                "{header}: {err:?}"
            );
        }
    }
    // The largest finite numbers are fine where nobody reads them.
    let token = env.compact(
        &header,
        &format!(r#"{{{body},"n":1.7976931348623157e308,"m":-5e-324}}"#),
    );
    accept(&v, &token);
}

// ---------------------------------------------------------------------------
// Header attacks
// ---------------------------------------------------------------------------

#[test]
fn crit_is_an_unsupported_critical_header() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let kid = env.key.key_id().to_owned();
    let payload = good_claims().to_string();
    for extra in [
        r#""crit":["exp"],"exp":1"#,
        r#""crit":[]"#,
        r#""crit":["b64"],"b64":false"#,
        r#""b64":true"#,
    ] {
        let header = format!(r#"{{"alg":"EdDSA","kid":"{kid}",{extra}}}"#);
        let err = reject(&v, &env.compact(&header, &payload));
        assert!(matches!(err, Error::UnsupportedCriticalHeader), "{extra}");
        assert_eq!(err.kind().as_str(), "unsupported_critical_header");
    }
}

#[test]
fn embedded_keys_in_the_header_are_never_trusted() {
    let victim = SigningKey::generate(Algorithm::ES256).unwrap();
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    let env = Env::with_key(victim);
    let v = env.validator().build().unwrap();
    let payload = good_claims().to_string();
    let attacker_jwk = attacker.verifying_key().to_jwk().unwrap().to_json();
    let victim_kid = env.key.key_id().to_owned();

    // The attacker embeds its own key and claims the victim's kid, or no
    // kid at all: the store's key is used and the signature fails.
    for header in [
        format!(r#"{{"alg":"ES256","typ":"JWT","kid":"{victim_kid}","jwk":{attacker_jwk}}}"#),
        format!(r#"{{"alg":"ES256","typ":"JWT","jwk":{attacker_jwk}}}"#),
        format!(
            r#"{{"alg":"ES256","kid":"{victim_kid}","jku":"https://evil.example/jwks.json","x5u":"https://evil.example/cert.pem"}}"#
        ),
    ] {
        let forged = compact(&header, &payload, &attacker);
        assert_eq!(kind(&v, &forged), "invalid_signature", "{header}");
    }
    // Under its own kid, the attacker's key is simply unknown.
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","jwk":{attacker_jwk}}}"#,
        attacker.key_id()
    );
    assert_eq!(
        kind(&v, &compact(&header, &payload, &attacker)),
        "unknown_key"
    );

    // A legitimate token carrying junk trust parameters still validates.
    let header = format!(
        r#"{{"alg":"ES256","typ":"JWT","kid":"{victim_kid}","jku":"not a url","x5u":42,"x5c":["@@@"],"jwk":{{"kty":"nonsense"}},"x5t":null}}"#
    );
    accept(&v, &env.compact(&header, &payload));
}

#[test]
fn alg_none_is_unsupported_in_every_spelling() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let kid = env.key.key_id().to_owned();
    let payload = b64_encode(good_claims().to_string());
    let real_signature = env
        .sign(&env.tokens())
        .rsplit('.')
        .next()
        .unwrap()
        .to_owned();
    for alg in [
        "none",
        "None",
        "NONE",
        "nOnE",
        "noNe",
        r"\u006eone",
        "none ",
    ] {
        let header = b64_encode(format!(r#"{{"alg":"{alg}","kid":"{kid}","typ":"JWT"}}"#));
        // The unsecured-JWS form (empty signature) and forms with some
        // signature are all refused for their algorithm.
        for signature in ["", "AA", real_signature.as_str()] {
            let token = format!("{header}.{payload}.{signature}");
            let err = reject(&v, &token);
            assert!(matches!(err, Error::UnsupportedAlgorithm), "{alg}: {err:?}");
            assert_eq!(err.kind().as_str(), "unsupported_algorithm");
        }
    }
    // A supported algorithm with an empty signature fails verification.
    let header = b64_encode(format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#));
    assert_eq!(
        kind(&v, &format!("{header}.{payload}.")),
        "invalid_signature"
    );
    // Neighbouring names are not aliases either.
    for alg in ["hs256", "Ed448", "ed25519", "EDDSA", "ES256K", "RS1", ""] {
        let header = b64_encode(format!(r#"{{"alg":"{alg}"}}"#));
        let token = format!("{header}.{payload}.AA");
        assert_eq!(kind(&v, &token), "unsupported_algorithm", "{alg}");
    }
    // RFC 9864's `Ed25519` is an algorithm, but not this EdDSA key's.
    let header = b64_encode(format!(r#"{{"alg":"Ed25519","kid":"{kid}"}}"#));
    let token = format!("{header}.{payload}.{real_signature}");
    assert_eq!(kind(&v, &token), "algorithm_not_allowed");
}

#[test]
fn a_forged_token_reports_its_signature_not_its_claims() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let forger = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id(env.key.key_id());
    let expired_claims = with(good_claims(), "exp", json!(NOW - 3_600));
    let bad_issuer = with(good_claims(), "iss", json!("https://evil.example"));
    let no_exp = without(good_claims(), "exp");
    let bad_type = with(good_claims(), "exp", json!("soon"));
    for claims in [&expired_claims, &bad_issuer, &no_exp, &bad_type] {
        let forged = jws::sign(claims.to_string().as_bytes(), &forger, Some("JWT")).unwrap();
        let err = reject(&v, &forged);
        assert!(matches!(err, Error::InvalidSignature), "{claims}: {err:?}");
        assert_eq!(err.kind().as_str(), "invalid_signature");
    }
    // Signed properly, the same claims report their own problem.
    assert_eq!(kind(&v, &env.raw(&expired_claims)), "expired");
    assert_eq!(kind(&v, &env.raw(&bad_issuer)), "invalid_issuer");
    // And a genuine expired token whose signature was damaged is a
    // signature failure.
    let expired = env.raw(&expired_claims);
    let mut damaged = expired.into_bytes();
    let last = damaged.len() - 2;
    damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
    let damaged = String::from_utf8(damaged).unwrap();
    assert_eq!(kind(&v, &damaged), "invalid_signature");
}

// ---------------------------------------------------------------------------
// Custom claims
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    role: String,
    tenant: u32,
    #[serde(default)]
    features: Vec<String>,
}

#[test]
fn custom_claims_are_deserialized() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let profile = Profile {
        role: "admin".into(),
        tenant: 7,
        features: vec!["beta".into(), "exports".into()],
    };
    let token = env.sign(&env.tokens().scope("orders:read").custom(profile.clone()));
    let verified: Verified<Profile> = v.validate_with(&token, None).unwrap();
    assert_eq!(verified.custom(), &profile);
    assert_eq!(verified.subject(), Some("user-1"));
    assert_eq!(verified.claims().scope.as_deref(), Some("orders:read"));
    let claims = verified.into_claims();
    assert_eq!(claims.issuer.as_deref(), Some(ISS));
    assert_eq!(claims.custom.tenant, 7);
    // The same token read without custom claims.
    accept(&v, &token);
}

#[test]
fn custom_claims_that_do_not_match_are_malformed() {
    let env = Env::new();
    let v = env.validator().build().unwrap();
    for custom in [
        json!({"tenant": 7}),
        json!({"role": "admin", "tenant": "7"}),
        json!({"role": "admin", "tenant": -1}),
        json!({"role": 1, "tenant": 7}),
        json!({"role": "admin", "tenant": 7, "features": "beta"}),
    ] {
        let mut claims = good_claims();
        for (k, value) in custom.as_object().unwrap() {
            claims[k] = value.clone();
        }
        let token = env.raw(&claims);
        let err = v.validate_with::<Profile>(&token, None).unwrap_err();
        assert!(
            matches!(err, Error::Malformed(Malformed::CustomClaims)),
            "{custom}: {err:?}"
        );
        assert_eq!(err.kind().as_str(), "malformed");
        // Registered claims alone are fine.
        accept(&v, &token);
    }
}

#[test]
fn custom_claims_type_is_checked_after_the_claim_checks() {
    // `Validator`'s docs: "... → issuer → audience → custom claims type".
    let env = Env::new();
    let v = env.validator().build().unwrap();
    let claims = with(good_claims(), "exp", json!(NOW - 3_600));
    let err = v
        .validate_with::<Profile>(&env.raw(&claims), None)
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "expired", "{err:?}");
    let claims = with(good_claims(), "aud", json!("https://other.example"));
    let err = v
        .validate_with::<Profile>(&env.raw(&claims), None)
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "invalid_audience", "{err:?}");
}

// ---------------------------------------------------------------------------
// The token type is a required choice (RFC 8725 §3.11)
// ---------------------------------------------------------------------------

/// A validator with no issuer, audience or type policy yet.
fn no_policy(e: &Env) -> ValidatorBuilder {
    Validator::builder(SingleKeyStore::new(e.key.verifying_key())).clock(e.clock.clone())
}

#[test]
fn the_token_type_is_a_required_choice() {
    let e = Env::new();
    let err = no_policy(&e).issuer(ISS).audience(AUD).build().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
    let message = err.to_string();
    for option in [
        "access_token_profile()",
        "typ(..)",
        "danger_accept_any_type()",
    ] {
        assert!(message.contains(option), "{message} names {option}");
    }
    // Each choice builds.
    assert!(
        no_policy(&e)
            .issuer(ISS)
            .audience(AUD)
            .access_token_profile()
            .build()
            .is_ok()
    );
    assert!(
        no_policy(&e)
            .issuer(ISS)
            .audience(AUD)
            .typ("at+jwt")
            .build()
            .is_ok()
    );
    assert!(
        no_policy(&e)
            .issuer(ISS)
            .audience(AUD)
            .danger_accept_any_type()
            .build()
            .is_ok()
    );
    assert_eq!(
        no_policy(&e)
            .issuer(ISS)
            .audience(AUD)
            .typ(" ")
            .build()
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidConfiguration
    );
}

#[test]
fn an_id_token_does_not_pass_a_validator_that_chose_the_access_token_profile() {
    let e = Env::new();
    let access = e.sign(&e.tokens().access_token().client_id("web"));
    // Every claim of an access token, but the ID token's `typ`.
    let id_token = e.sign(&e.tokens().typ("JWT").client_id("web"));
    let logout = e.sign(&e.tokens().typ("logout+jwt").client_id("web"));
    let v = no_policy(&e)
        .issuer(ISS)
        .audience(AUD)
        .access_token_profile()
        .build()
        .unwrap();
    v.validate(&access).unwrap();
    for other in [&id_token, &logout] {
        assert_eq!(
            v.validate(other).unwrap_err().kind(),
            ErrorKind::InvalidType
        );
    }
    // The loud opt-out is the only way to accept them all.
    let any = no_policy(&e)
        .issuer(ISS)
        .audience(AUD)
        .danger_accept_any_type()
        .build()
        .unwrap();
    for t in [&access, &id_token, &logout] {
        any.validate(t).unwrap();
    }
}

#[test]
fn an_empty_issuer_or_audience_is_refused_at_build() {
    let e = Env::new();
    for b in [
        no_policy(&e).issuer("").audience(AUD),
        no_policy(&e).issuer(ISS).audience(""),
        no_policy(&e).issuers([ISS, ""]).audience(AUD),
        no_policy(&e).issuer(ISS).audiences([AUD, ""]),
    ] {
        let err = b.danger_accept_any_type().build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
        assert!(err.to_string().contains("empty string"), "{err}");
    }
}
