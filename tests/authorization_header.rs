//! The front door: [`Authenticator`] with both a JWT validator and an API
//! key verifier, driven by raw `Authorization` header values.
//!
//! Covered: the RFC 6750 §2.1 `Bearer` syntax (case-insensitive scheme,
//! runs of spaces, the `b64token` alphabet and `=` padding); a missing
//! header and other schemes (401 with a bare challenge); malformed headers
//! (400 `invalid_request`); invalid, expired, revoked and unknown tokens
//! and API keys (401 `invalid_token`); missing scopes (403
//! `insufficient_scope` naming them); the [`Principal`] of each credential
//! kind; refresh tokens refused as bearer credentials; challenges that
//! never echo the credential; and failing backends (503).
//!
//! Time is pinned with a shared [`FixedClock`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use time::Duration;
use tokengate::RevocationStore;
use tokengate::api_key::{ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, InMemoryApiKeyStore};
use tokengate::authenticator::{AuthError, Authenticator, BearerError, CredentialKind, Principal};
use tokengate::testing::{
    FailingApiKeyStore, FailingRevocation, T0, clock, with_checksum, wrong_secret,
};
use tokengate::{
    Algorithm, Error, ErrorKind, FixedClock, Grant, InMemoryRefreshStore, KeyRing, NewApiKey,
    NoCustomClaims, RefreshTokens, RevocationList, ScopeRequirement, ScopeSet, SigningKey,
    TokenBuilder, Validator, ValidatorBuilder,
};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";
const REALM: &str = "orders-api";
const LEAD: &str = "acme_live_";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

struct Env {
    clock: Arc<FixedClock>,
    ring: Arc<KeyRing>,
    list: Arc<RevocationList>,
    keys: ApiKeyIssuer,
    key_store: Arc<InMemoryApiKeyStore>,
    verifier: ApiKeyVerifier,
    door: Authenticator,
}

fn format() -> ApiKeyFormat {
    ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap()
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
    let key_store = Arc::new(InMemoryApiKeyStore::new());
    let keys = ApiKeyIssuer::new(format()).with_clock(clock.clone());
    let verifier = ApiKeyVerifier::new(format(), key_store.clone()).with_clock(clock.clone());
    let door = Authenticator::builder()
        .access_tokens(validator(&ring, &list, &clock).build().unwrap())
        .api_keys(verifier.clone())
        .realm(REALM)
        .build()
        .unwrap();
    Env {
        clock,
        ring,
        list,
        keys,
        key_store,
        verifier,
        door,
    }
}

fn validator(
    ring: &Arc<KeyRing>,
    list: &Arc<RevocationList>,
    clock: &Arc<FixedClock>,
) -> ValidatorBuilder {
    Validator::builder(ring.clone())
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .revocation(list.clone())
        .clock(clock.clone())
}

impl Env {
    fn validator(&self) -> ValidatorBuilder {
        validator(&self.ring, &self.list, &self.clock)
    }

    fn builder(&self) -> TokenBuilder {
        TokenBuilder::new()
            .issuer(ISS)
            .subject("user-7")
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

    fn auth(&self, header: &str) -> Result<Principal, AuthError> {
        self.door.authenticate(Some(header))
    }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn scopes(s: &str) -> ScopeSet {
    ScopeSet::parse(s).unwrap()
}

/// Asserts a 401 `invalid_token` whose cause has `kind`.
fn assert_invalid_token(r: Result<Principal, AuthError>, kind: ErrorKind, what: &str) {
    let e = match r {
        Ok(p) => panic!("{what}: accepted as {p:?}"),
        Err(e) => e,
    };
    assert_eq!(e.bearer_error(), BearerError::InvalidToken, "{what}");
    assert_eq!(e.status(), 401, "{what}");
    assert_eq!(
        e.www_authenticate(),
        format!(r#"Bearer realm="{REALM}", error="invalid_token""#),
        "{what}"
    );
    assert_eq!(e.cause().map(Error::kind), Some(kind), "{what}");
}

/// Asserts a 400 `invalid_request` without a cause.
fn assert_invalid_request(r: Result<Principal, AuthError>, what: &str) {
    let e = match r {
        Ok(p) => panic!("{what}: accepted as {p:?}"),
        Err(e) => e,
    };
    assert_eq!(e.bearer_error(), BearerError::InvalidRequest, "{what}");
    assert_eq!(e.status(), 400, "{what}");
    assert_eq!(
        e.www_authenticate(),
        format!(r#"Bearer realm="{REALM}", error="invalid_request""#),
        "{what}"
    );
    assert!(e.cause().is_none(), "{what}");
}

/// Asserts a 401 with a bare challenge: no bearer credentials offered.
fn assert_missing(r: Result<Principal, AuthError>, what: &str) {
    let e = match r {
        Ok(p) => panic!("{what}: accepted as {p:?}"),
        Err(e) => e,
    };
    assert_eq!(e.bearer_error(), BearerError::MissingCredentials, "{what}");
    assert_eq!(e.status(), 401, "{what}");
    assert_eq!(
        e.www_authenticate(),
        format!(r#"Bearer realm="{REALM}""#),
        "{what}"
    );
    assert!(!e.www_authenticate().contains("error="), "{what}");
    assert!(e.cause().is_none(), "{what}");
}

// ---------------------------------------------------------------------------
// Header syntax
// ---------------------------------------------------------------------------

#[test]
fn the_scheme_is_case_insensitive_and_spaces_may_repeat() {
    let e = env();
    let jwt = e.jwt(&e.builder());
    let key = e.api_key(NewApiKey::new("svc"));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        for gap in [" ", "  ", "     "] {
            for token in [&jwt, &key] {
                let header = format!("{scheme}{gap}{token}");
                assert!(e.auth(&header).is_ok(), "{header:?}");
            }
        }
    }
}

#[test]
fn b64token_alphabet_and_padding_pass_the_syntax_check() {
    let e = env();
    // Every b64token character and trailing `=`: syntactically fine, so the
    // credential is judged (and refused) as a token: 401, not 400.
    for credential in [
        "abcXYZ019-._~+/",
        "abc==",
        "abc=",
        "a",
        "A-B_C.D~E+F/G",
        "Zm9vYmFy====",
    ] {
        assert_invalid_token(
            e.auth(&bearer(credential)),
            ErrorKind::Malformed,
            credential,
        );
    }
    // A real JWT with padding appended is refused by the validator's strict
    // base64url, not by the header parser.
    let jwt = e.jwt(&e.builder());
    assert_invalid_token(
        e.auth(&bearer(&format!("{jwt}=="))),
        ErrorKind::Malformed,
        "padded JWT",
    );
    // An API key with padding is not an API key.
    let key = e.api_key(NewApiKey::new("svc"));
    assert_invalid_token(
        e.auth(&bearer(&format!("{key}="))),
        ErrorKind::Malformed,
        "padded API key",
    );
}

#[test]
fn malformed_headers_are_invalid_request() {
    let e = env();
    let jwt = e.jwt(&e.builder());
    let cases = [
        "Bearer".to_owned(),
        "bearer".to_owned(),
        "Bearer ".to_owned(),
        "Bearer    ".to_owned(),
        "Bearer abc def".to_owned(),
        format!("Bearer {jwt} {jwt}"),
        format!("Bearer {jwt} "),
        "Bearer abc,def".to_owned(),
        "Bearer \"abc\"".to_owned(),
        "Bearer abc;def".to_owned(),
        "Bearer a\\b".to_owned(),
        "Bearer a%20b".to_owned(),
        "Bearer ==".to_owned(),
        "Bearer =abc".to_owned(),
        "Bearer a=b".to_owned(),
        "Bearer a\tb".to_owned(),
        "Bearer caf\u{e9}".to_owned(),
        "Bearer abc\r\n".to_owned(),
        "Bearer token=abc".to_owned(),
        format!("Bearer {jwt}=x"),
    ];
    for header in &cases {
        assert_invalid_request(e.auth(header), header);
    }
}

#[test]
fn a_missing_header_is_a_bare_challenge() {
    let e = env();
    assert_missing(e.door.authenticate(None), "no header");
    let err = e.door.authenticate(None).unwrap_err();
    assert_eq!(err.bearer_error().code(), None);
    assert_eq!(err.to_string(), "no bearer credentials");
    // Also with a requirement: absence is 401, not 403.
    assert_missing(
        e.door
            .authenticate_for(None, &ScopeRequirement::all("orders:read").unwrap()),
        "no header, with a requirement",
    );
}

#[test]
fn other_schemes_offer_no_bearer_credentials() {
    let e = env();
    let jwt = e.jwt(&e.builder());
    let key = e.api_key(NewApiKey::new("svc"));
    for header in [
        "Basic dXNlcjpwYXNz".to_owned(),
        "Basic".to_owned(),
        "Digest username=\"u\", realm=\"r\"".to_owned(),
        "Token abc".to_owned(),
        "Negotiate YIIB".to_owned(),
        // Valid credentials under another scheme are not used.
        format!("Basic {jwt}"),
        format!("Token {key}"),
        format!("Bearerx {jwt}"),
        format!("MAC {key}"),
    ] {
        assert_missing(e.auth(&header), &header);
    }
}

// ---------------------------------------------------------------------------
// Invalid credentials
// ---------------------------------------------------------------------------

#[test]
fn invalid_access_tokens_are_invalid_token() {
    let e = env();
    let good = e.jwt(&e.builder().jwt_id("good"));
    let (input, _) = good.rsplit_once('.').unwrap();
    let impostor = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("k1");
    let revoked = e.jwt(&e.builder().jwt_id("gone"));
    e.list
        .revoke_token(
            "gone",
            tokengate::time::OffsetDateTime::from_unix_timestamp(T0 + 600).unwrap(),
        )
        .unwrap();
    let expired = {
        e.clock.set_unix(T0 - 3_600);
        let t = e.jwt(&e.builder());
        e.clock.set_unix(T0);
        t
    };
    let cases: [(String, ErrorKind, &str); 8] = [
        (
            format!("{input}.{}", "A".repeat(86)),
            ErrorKind::InvalidSignature,
            "forged signature",
        ),
        (
            e.builder().sign(&impostor).unwrap(),
            ErrorKind::InvalidSignature,
            "another key",
        ),
        (expired, ErrorKind::Expired, "expired"),
        (revoked, ErrorKind::Revoked, "revoked"),
        (
            e.jwt(&e.builder().audience("https://other.example.com")),
            ErrorKind::InvalidAudience,
            "wrong audience",
        ),
        (
            e.jwt(&e.builder().issuer("https://evil.example.com")),
            ErrorKind::InvalidIssuer,
            "wrong issuer",
        ),
        ("abc".to_owned(), ErrorKind::Malformed, "garbage"),
        ("a".repeat(20_000), ErrorKind::TokenTooLarge, "huge"),
    ];
    for (token, kind, what) in &cases {
        assert_invalid_token(e.auth(&bearer(token)), *kind, what);
        // A requirement changes nothing: invalid comes before scopes.
        assert_invalid_token(
            e.door.authenticate_for(
                Some(&bearer(token)),
                &ScopeRequirement::all("nothing:granted").unwrap(),
            ),
            *kind,
            what,
        );
    }
    assert!(e.auth(&bearer(&good)).is_ok());
}

#[test]
fn invalid_api_keys_are_invalid_token() {
    let e = env();
    let key = e.api_key(NewApiKey::new("svc"));
    let revoked = e.api_key(NewApiKey::new("svc"));
    e.verifier
        .revoke(e.verifier.verify(&revoked).unwrap().id())
        .unwrap();
    let short_lived = e.api_key(NewApiKey::new("svc").lifetime(Duration::seconds(5)));
    let unknown = with_checksum(&format!("{LEAD}{}", "Q".repeat(45)));
    let mut bad_checksum = key.clone();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == '0' { '1' } else { '0' });

    let cases: [(String, ErrorKind, &str); 5] = [
        (unknown, ErrorKind::UnknownCredential, "unknown id"),
        (wrong_secret(&key), ErrorKind::InvalidSecret, "wrong secret"),
        (bad_checksum, ErrorKind::Malformed, "bad checksum"),
        (revoked, ErrorKind::Revoked, "revoked"),
        (format!("{LEAD}short"), ErrorKind::Malformed, "too short"),
    ];
    for (token, kind, what) in &cases {
        assert_invalid_token(e.auth(&bearer(token)), *kind, what);
    }
    assert!(e.auth(&bearer(&short_lived)).is_ok());
    e.clock.advance(5);
    assert_invalid_token(
        e.auth(&bearer(&short_lived)),
        ErrorKind::Expired,
        "expired key",
    );
    assert!(e.auth(&bearer(&key)).is_ok());
}

#[test]
fn a_refresh_token_is_not_a_bearer_credential() {
    let e = env();
    let refresh = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        e.ring.clone(),
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .without_access_token_revocation()
    .clock(e.clock.clone())
    .build()
    .unwrap();
    let pair = refresh.login(Grant::new("user-7")).unwrap();
    let rt = pair.refresh_token.expose_secret();
    assert_invalid_token(e.auth(&bearer(rt)), ErrorKind::Malformed, "refresh token");
    // Even with an API key format whose prefix is the refresh tokens'.
    let rt_like_keys = ApiKeyVerifier::new(
        ApiKeyFormat::new("rt").unwrap(),
        Arc::new(InMemoryApiKeyStore::new()),
    );
    let door = Authenticator::builder()
        .api_keys(rt_like_keys)
        .realm(REALM)
        .build()
        .unwrap();
    let err = door.authenticate(Some(&bearer(rt))).unwrap_err();
    assert_eq!(err.status(), 401);
    assert_eq!(err.bearer_error(), BearerError::InvalidToken);
    // The access token of the same login is accepted, and the refresh
    // token still works for refreshing.
    assert!(e.auth(&bearer(&pair.access_token)).is_ok());
    assert!(refresh.refresh(rt, None).is_ok());
}

#[test]
fn a_door_without_a_verifier_for_the_kind_refuses_it() {
    let e = env();
    let jwt = e.jwt(&e.builder());
    let key = e.api_key(NewApiKey::new("svc"));
    let jwt_only = Authenticator::builder()
        .access_tokens(e.validator().build().unwrap())
        .realm(REALM)
        .build()
        .unwrap();
    assert!(jwt_only.authenticate(Some(&bearer(&jwt))).is_ok());
    assert_invalid_token(
        jwt_only.authenticate(Some(&bearer(&key))),
        ErrorKind::Malformed,
        "API key at a JWT-only door",
    );
    let keys_only = Authenticator::builder()
        .api_keys(e.verifier.clone())
        .realm(REALM)
        .build()
        .unwrap();
    assert!(keys_only.authenticate(Some(&bearer(&key))).is_ok());
    let err = keys_only.authenticate(Some(&bearer(&jwt))).unwrap_err();
    assert_eq!(err.status(), 401);
    assert_eq!(err.bearer_error(), BearerError::InvalidToken);
}

#[test]
fn a_front_door_without_any_credential_kind_is_refused_when_built() {
    // It would answer every request 401 `invalid_token`: a
    // misconfiguration shown to clients as a bad token.
    for builder in [
        Authenticator::builder(),
        Authenticator::builder().realm(REALM),
    ] {
        let err = builder.build().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
        assert!(err.is_configuration());
    }
}

// ---------------------------------------------------------------------------
// Scopes
// ---------------------------------------------------------------------------

/// The scopes named by an insufficient-scope cause.
fn cause_missing(e: &AuthError) -> String {
    match e.cause() {
        Some(Error::InsufficientScope { missing }) => missing.to_string(),
        other => panic!("expected insufficient_scope, got {other:?}"),
    }
}

fn challenge(scope: &str) -> String {
    format!(r#"Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}""#)
}

#[test]
fn insufficient_scope_is_403_naming_the_required_scopes() {
    let e = env();
    let jwt = e.jwt(&e.builder().scope("orders:read profile"));
    let key = e.api_key(NewApiKey::new("svc").scopes(scopes("orders:read profile")));
    let need = ScopeRequirement::all("orders:read orders:write orders:delete").unwrap();
    let nested = ScopeRequirement::all("orders:read")
        .unwrap()
        .and(ScopeRequirement::any("admin orders:write").unwrap());
    for token in [&jwt, &key] {
        let err = e
            .door
            .authenticate_for(Some(&bearer(token)), &need)
            .unwrap_err();
        assert_eq!(err.bearer_error(), BearerError::InsufficientScope);
        assert_eq!(err.bearer_error().code(), Some("insufficient_scope"));
        assert_eq!(err.status(), 403);
        // The challenge names every scope of the requirement (RFC 6750 §3),
        // the cause (for logs) only the missing ones.
        assert_eq!(
            err.www_authenticate(),
            challenge("orders:delete orders:read orders:write")
        );
        assert_eq!(cause_missing(&err), "orders:delete orders:write");
        let err = e
            .door
            .authenticate_for(Some(&bearer(token)), &nested)
            .unwrap_err();
        assert_eq!(err.status(), 403);
        assert_eq!(
            err.www_authenticate(),
            challenge("admin orders:read orders:write")
        );
        assert_eq!(cause_missing(&err), "admin orders:write");
        // Met requirements pass.
        let ok = ScopeRequirement::all("orders:read")
            .unwrap()
            .and(ScopeRequirement::any("admin profile").unwrap());
        assert!(e.door.authenticate_for(Some(&bearer(token)), &ok).is_ok());
    }
    // A validator-wide requirement is a 403 as well.
    let strict = Authenticator::builder()
        .access_tokens(
            e.validator()
                .require_scopes(ScopeRequirement::any("api:use admin").unwrap())
                .build()
                .unwrap(),
        )
        .realm(REALM)
        .build()
        .unwrap();
    let err = strict.authenticate(Some(&bearer(&jwt))).unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(err.www_authenticate(), challenge("admin api:use"));
    // Expired and lacking scopes: 401, the token is the problem.
    e.clock.advance(3_600);
    let err = e
        .door
        .authenticate_for(Some(&bearer(&jwt)), &need)
        .unwrap_err();
    assert_eq!(err.status(), 401);
    assert!(!err.www_authenticate().contains("scope="));
}

#[test]
fn a_failing_validator_wide_requirement_is_named_in_the_challenge() {
    let e = env();
    let door = Authenticator::builder()
        .access_tokens(
            e.validator()
                .require_scopes(ScopeRequirement::all("api:use").unwrap())
                .build()
                .unwrap(),
        )
        .realm(REALM)
        .build()
        .unwrap();
    // The token meets the route's requirement but not the validator's.
    let jwt = e.jwt(&e.builder().scope("orders:write"));
    let err = door
        .authenticate_for(
            Some(&bearer(&jwt)),
            &ScopeRequirement::all("orders:write").unwrap(),
        )
        .unwrap_err();
    assert_eq!(err.status(), 403);
    assert_eq!(cause_missing(&err), "api:use");
    // A client asking for what the challenge names must be able to pass.
    assert_eq!(err.www_authenticate(), challenge("api:use orders:write"));
}

#[test]
fn a_validator_wide_requirement_is_challenged_with_all_its_scopes() {
    let e = env();
    let door = Authenticator::builder()
        .access_tokens(
            e.validator()
                .require_scopes(ScopeRequirement::all("api:use api:v2").unwrap())
                .build()
                .unwrap(),
        )
        .realm(REALM)
        .build()
        .unwrap();
    let jwt = e.jwt(&e.builder().scope("api:use"));
    let err = door.authenticate(Some(&bearer(&jwt))).unwrap_err();
    assert_eq!(err.status(), 403);
    // As for a per-call requirement: every scope, not only `api:v2`.
    assert_eq!(err.www_authenticate(), challenge("api:use api:v2"));
}

#[test]
fn a_scope_claim_outside_the_rfc6749_alphabet_is_invalid_token() {
    let e = env();
    let jwt = e.jwt(&e.builder().scope("orders:read \"admin\""));
    assert_invalid_token(
        e.auth(&bearer(&jwt)),
        ErrorKind::Malformed,
        "bad scope claim",
    );
}

// ---------------------------------------------------------------------------
// The principal
// ---------------------------------------------------------------------------

#[test]
fn principal_of_an_access_token() {
    let e = env();
    let jwt = e.jwt(
        &e.builder()
            .jwt_id("jti-42")
            .client_id("web-app")
            .scope("profile orders:read"),
    );
    let p = e.auth(&bearer(&jwt)).unwrap();
    let claims = e
        .validator()
        .build()
        .unwrap()
        .validate(&jwt)
        .unwrap()
        .into_claims();
    assert_eq!(p.subject(), Some("user-7"));
    assert_eq!(p.issuer(), Some(ISS));
    assert_eq!(*p.scopes(), scopes("orders:read profile"));
    assert_eq!(p.kind(), CredentialKind::AccessToken);
    assert_eq!(p.credential_id(), Some("jti-42"));
    assert_eq!(p.client_id(), Some("web-app"));
    assert_eq!(p.expires_at(), Some(T0 + 600));
    assert_eq!(p.claims(), Some(&claims));
    assert_eq!(p.clone().into_claims(), Some(claims));
    assert_eq!(p.custom(), Some(&NoCustomClaims));
    // Without the optional claims.
    let bare = e.jwt(&e.builder().without_jwt_id());
    let p = e.auth(&bearer(&bare)).unwrap();
    assert_eq!(p.kind(), CredentialKind::AccessToken);
    assert!(p.scopes().is_empty());
    assert_eq!(p.credential_id(), None);
    assert_eq!(p.client_id(), None);
    assert_eq!(p.expires_at(), Some(T0 + 600));
}

#[test]
fn a_token_without_sub_has_no_subject() {
    let e = env();
    // A client credentials token names its client, not a user.
    let machine = e.jwt(
        &TokenBuilder::new()
            .issuer(ISS)
            .audience(AUD)
            .client_id("billing-cron")
            .scope("invoices:read")
            .lifetime(Duration::minutes(10))
            .clock(e.clock.clone()),
    );
    let p = e.auth(&bearer(&machine)).unwrap();
    assert_eq!(p.subject(), None);
    assert_eq!(p.client_id(), Some("billing-cron"));
    assert_eq!(p.issuer(), Some(ISS));
    assert_eq!(p.claims().unwrap().subject, None);
    // Twin: with `sub`, the subject is there, never an empty string.
    let user = e.jwt(&e.builder());
    assert_eq!(e.auth(&bearer(&user)).unwrap().subject(), Some("user-7"));
}

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Tenant {
    tenant: String,
}

#[test]
fn authenticate_with_reads_the_applications_claims() {
    let e = env();
    let jwt = e
        .builder()
        .scope("orders:read")
        .custom(Tenant {
            tenant: "acme".into(),
        })
        .sign(&e.ring.current())
        .unwrap();
    let need = ScopeRequirement::all("orders:read").unwrap();
    let p = e
        .door
        .authenticate_with::<Tenant>(Some(&bearer(&jwt)), Some(&need))
        .unwrap();
    assert_eq!(p.custom().map(|t| t.tenant.as_str()), Some("acme"));
    assert_eq!(p.claims().unwrap().custom.tenant, "acme");
    assert_eq!(p.subject(), Some("user-7"));
    // The same with no requirement, and the route's requirement still
    // applies.
    let p = e
        .door
        .authenticate_with::<Tenant>(Some(&bearer(&jwt)), None)
        .unwrap();
    assert_eq!(p.custom().unwrap().tenant, "acme");
    let denied = e
        .door
        .authenticate_with::<Tenant>(
            Some(&bearer(&jwt)),
            Some(&ScopeRequirement::all("orders:write").unwrap()),
        )
        .unwrap_err();
    assert_eq!(denied.status(), 403);
    // Twin: a token whose claims do not fit `T` is refused, 401.
    let other = e
        .builder()
        .custom(serde_json::json!({"tenant": 7}))
        .sign(&e.ring.current())
        .unwrap();
    let refused = e
        .door
        .authenticate_with::<Tenant>(Some(&bearer(&other)), None)
        .unwrap_err();
    assert_eq!(refused.bearer_error(), BearerError::InvalidToken);
    assert_eq!(refused.cause().unwrap().kind(), ErrorKind::Malformed);
    // An API key carries no claims to read.
    let key = e.api_key(NewApiKey::new("svc-billing"));
    let p = e
        .door
        .authenticate_with::<Tenant>(Some(&bearer(&key)), None)
        .unwrap();
    assert_eq!(p.claims(), None);
    assert_eq!(p.custom(), None);
}

#[test]
fn principal_of_an_api_key() {
    let e = env();
    let key = e.api_key(
        NewApiKey::new("svc-billing")
            .scopes(scopes("invoices:read"))
            .lifetime(Duration::days(7)),
    );
    let id = e.verifier.verify(&key).unwrap().id().to_owned();
    let p = e
        .door
        .authenticate_for(
            Some(&bearer(&key)),
            &ScopeRequirement::all("invoices:read").unwrap(),
        )
        .unwrap();
    assert_eq!(p.subject(), Some("svc-billing"));
    assert_eq!(p.issuer(), None);
    assert_eq!(*p.scopes(), scopes("invoices:read"));
    assert_eq!(p.kind(), CredentialKind::ApiKey);
    assert_eq!(p.credential_id(), Some(id.as_str()));
    assert_eq!(p.client_id(), None);
    assert_eq!(p.expires_at(), Some(T0 + 7 * 86_400));
    assert_eq!(p.claims(), None);
    assert_eq!(p.custom(), None);
    let forever = e.api_key(NewApiKey::new("svc-cron"));
    assert_eq!(e.auth(&bearer(&forever)).unwrap().expires_at(), None);
}

// ---------------------------------------------------------------------------
// Challenges never echo the credential
// ---------------------------------------------------------------------------

#[test]
fn challenges_and_messages_never_contain_the_credential() {
    let e = env();
    let jwt = e.jwt(&e.builder().scope("profile"));
    let expired = {
        e.clock.set_unix(T0 - 3_600);
        let t = e.jwt(&e.builder());
        e.clock.set_unix(T0);
        t
    };
    let (input, _) = jwt.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", "B".repeat(86));
    let key = e.api_key(NewApiKey::new("svc").scopes(scopes("profile")));
    let need = ScopeRequirement::all("admin").unwrap();

    let mut checked = 0;
    for token in [
        jwt.clone(),
        expired,
        forged,
        key.clone(),
        wrong_secret(&key),
        format!("{jwt} trailing"),
    ] {
        let header = bearer(&token);
        let err = e.door.authenticate_for(Some(&header), &need).unwrap_err();
        let shown = [err.www_authenticate(), err.to_string(), format!("{err:?}")];
        let mut parts: Vec<&str> = token.split(['.', ' ']).filter(|p| p.len() >= 8).collect();
        if let Some(body) = token.strip_prefix(LEAD) {
            parts.push(&body[..12]);
            parts.push(&body[12..45]);
        }
        for s in &shown {
            assert!(!s.contains(&token), "{s}");
            for part in &parts {
                assert!(!s.contains(part), "{s} contains {part}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 6);
}

// ---------------------------------------------------------------------------
// Backend failures
// ---------------------------------------------------------------------------

#[test]
fn a_failing_backend_is_a_server_error() {
    let e = env();
    let jwt = e.jwt(&e.builder().scope("profile"));
    let key = e.api_key(NewApiKey::new("svc"));
    let door = Authenticator::builder()
        .access_tokens(
            Validator::builder(e.ring.clone())
                .danger_accept_any_type()
                .issuer(ISS)
                .audience(AUD)
                .revocation(Arc::new(FailingRevocation))
                .clock(e.clock.clone())
                .build()
                .unwrap(),
        )
        .api_keys(
            ApiKeyVerifier::new(format(), Arc::new(FailingApiKeyStore::new()))
                .with_clock(e.clock.clone()),
        )
        .realm(REALM)
        .build()
        .unwrap();
    for token in [&jwt, &key] {
        for r in [
            door.authenticate(Some(&bearer(token))),
            door.authenticate_for(
                Some(&bearer(token)),
                &ScopeRequirement::all("admin").unwrap(),
            ),
        ] {
            let err = r.unwrap_err();
            // Unavailable, not the client's fault: 503, so it retries.
            assert_eq!(err.bearer_error(), BearerError::Unavailable);
            assert_eq!(err.status(), 503);
            assert_eq!(err.bearer_error().code(), None);
            assert!(!err.www_authenticate().contains("error="));
            assert_eq!(err.cause().map(Error::kind), Some(ErrorKind::StoreFailure));
            assert!(err.cause().unwrap().is_internal());
        }
    }
    // Credentials refused before any lookup are still the client's fault.
    assert_invalid_token(
        door.authenticate(Some(&bearer("garbage"))),
        ErrorKind::Malformed,
        "garbage with backends down",
    );
    assert_invalid_token(
        door.authenticate(Some(&bearer(&format!("{LEAD}short")))),
        ErrorKind::Malformed,
        "malformed key with backends down",
    );
}

// ---------------------------------------------------------------------------
// Credentials are bound to their format
// ---------------------------------------------------------------------------

#[test]
fn a_test_key_relabelled_live_is_refused_at_the_front_door() {
    // A test environment and the live one share the record store.
    let e = env();
    let test_format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("test")
        .unwrap();
    let test_key = ApiKeyIssuer::new(test_format)
        .with_clock(e.clock.clone())
        .issue_into(
            &*e.key_store,
            NewApiKey::new("ci").scopes(scopes("orders:write")),
        )
        .unwrap();
    let promoted = tokengate::testing::reseal(&format!(
        "{LEAD}{}",
        &test_key.expose_secret()["acme_test_".len()..]
    ));
    assert!(format().is_well_formed(&promoted));
    assert_invalid_token(
        e.auth(&bearer(&promoted)),
        ErrorKind::InvalidSecret,
        "a test key relabelled live",
    );
    let live_key = e.api_key(NewApiKey::new("svc"));
    assert!(e.auth(&bearer(&live_key)).is_ok());
}

#[test]
fn the_validators_required_scopes_apply_to_api_keys_too() {
    let e = env();
    let door = Authenticator::builder()
        .access_tokens(
            e.validator()
                .require_scopes(ScopeRequirement::all("api:use").unwrap())
                .build()
                .unwrap(),
        )
        .api_keys(e.verifier.clone())
        .realm(REALM)
        .build()
        .unwrap();
    let route = ScopeRequirement::all("orders:read").unwrap();
    for (jwt, key) in [
        (
            e.jwt(&e.builder().scope("orders:read")),
            e.api_key(NewApiKey::new("svc").scopes(scopes("orders:read"))),
        ),
        (e.jwt(&e.builder()), e.api_key(NewApiKey::new("svc-bare"))),
    ] {
        for token in [&jwt, &key] {
            // The same requirement refuses both kinds, the same way.
            let err = door.authenticate(Some(&bearer(token))).unwrap_err();
            assert_eq!(err.status(), 403, "{token}");
            assert_eq!(cause_missing(&err), "api:use");
            assert_eq!(err.www_authenticate(), challenge("api:use"));
            let err = door
                .authenticate_for(Some(&bearer(token)), &route)
                .unwrap_err();
            assert_eq!(err.status(), 403);
            assert_eq!(err.www_authenticate(), challenge("api:use orders:read"));
        }
    }
    let jwt = e.jwt(&e.builder().scope("api:use orders:read"));
    let key = e.api_key(NewApiKey::new("svc-ok").scopes(scopes("api:use orders:read")));
    for token in [&jwt, &key] {
        assert!(door.authenticate(Some(&bearer(token))).is_ok());
        assert!(door.authenticate_for(Some(&bearer(token)), &route).is_ok());
    }
}
