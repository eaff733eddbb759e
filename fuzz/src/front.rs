//! The front-door targets: `api_key`, `authorization_header` and
//! `introspect`. Each takes either a raw string (any input not starting
//! with `!`, so seeds are plain text) or, after a `!`, a structured input
//! built from real credentials with edits.

use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use serde_json::Value;
use tokengate::testing::reseal;
use tokengate::time::Duration;
use tokengate::{
    Algorithm, ApiKeyFormat, ApiKeyIssuer, ApiKeyRecord, ApiKeyStore, ApiKeyVerifier, AuthError,
    Authenticator, BearerError, CredentialKind, ErrorKind, Grant, InMemoryApiKeyStore,
    InMemoryRefreshStore, Introspector, KeyRing, KeySetStore, NewApiKey, NoCustomClaims, Principal,
    RefreshTokens, RevocationList, ScopeRequirement, ScopeSet, SigningKey, TokenBuilder, Validator,
};

use crate::{
    AUD, Edit, ISS, NOW, api_key_well_formed, apply_edits, clock, clock_at, data, hmac_signer,
    must, pem_signer,
};

/// The API key lead of every front-door fixture.
pub const LEAD: &str = "acme_live_";
/// Characters after the lead: 12 id + 33 secret + 6 checksum.
pub const BODY_LEN: usize = 51;

/// A raw string, or a structured input.
#[derive(Debug)]
pub enum Fuzzed<T> {
    /// The input as text (lossy UTF-8).
    Raw(String),
    /// The input after a leading `!`, through `Arbitrary`.
    Structured(T),
}

/// Splits a fuzz input: `!` then structured bytes, or raw text.
pub fn split_input<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<Fuzzed<T>> {
    match data.split_first() {
        Some((b'!', rest)) => T::arbitrary_take_rest(Unstructured::new(rest))
            .ok()
            .map(Fuzzed::Structured),
        _ => Some(Fuzzed::Raw(String::from_utf8_lossy(data).into_owned())),
    }
}

/// What state an issued API key is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Verifies.
    Active,
    /// Revoked in the store.
    Revoked,
    /// Past its expiry.
    Expired,
}

/// An issued API key, in plaintext, with what the store knows of it.
#[derive(Debug)]
pub struct IssuedKey {
    /// The plaintext key.
    pub key: String,
    /// Its public id.
    pub id: String,
    /// Its owner.
    pub owner: &'static str,
    /// Its scopes.
    pub scopes: &'static str,
    /// Its state.
    pub state: KeyState,
    /// Its record as stored.
    pub record: ApiKeyRecord,
}

/// API keys in one store: three active, one revoked, one expired.
#[derive(Debug)]
pub struct ApiKeys {
    /// `acme_live_`.
    pub format: ApiKeyFormat,
    /// The store.
    pub store: Arc<InMemoryApiKeyStore>,
    /// A verifier over the store at [`NOW`].
    pub verifier: ApiKeyVerifier,
    /// Every issued key.
    pub keys: Vec<IssuedKey>,
}

fn format() -> ApiKeyFormat {
    must(
        ApiKeyFormat::new("acme").and_then(|f| f.environment("live")),
        "format",
    )
}

fn issue(records: &[(&'static str, &'static str, KeyState)]) -> Vec<IssuedKey> {
    let now = ApiKeyIssuer::new(format()).with_clock(clock());
    let earlier = ApiKeyIssuer::new(format()).with_clock(clock_at(NOW - 1000));
    records
        .iter()
        .map(|&(owner, scopes, state)| {
            let new = NewApiKey::new(owner).scopes(must(ScopeSet::parse(scopes), "scopes"));
            let (issued, mut record) = match state {
                KeyState::Expired => {
                    must(earlier.issue(new.lifetime(Duration::seconds(100))), "issue")
                }
                _ => must(now.issue(new), "issue"),
            };
            if state == KeyState::Revoked {
                record.revoked_at = Some(must(
                    tokengate::time::OffsetDateTime::from_unix_timestamp(NOW - 1),
                    "instant",
                ));
            }
            IssuedKey {
                key: issued.expose_secret().to_owned(),
                id: issued.id().to_owned(),
                owner,
                scopes,
                state,
                record,
            }
        })
        .collect()
}

fn api_keys_from(keys: Vec<IssuedKey>) -> ApiKeys {
    let store = Arc::new(InMemoryApiKeyStore::new());
    for k in &keys {
        must(store.insert(k.record.clone()), "insert");
    }
    let verifier = ApiKeyVerifier::new(format(), store.clone()).with_clock(clock());
    ApiKeys {
        format: format(),
        store,
        verifier,
        keys,
    }
}

/// The `api_key` fixture.
pub fn api_keys() -> &'static ApiKeys {
    static F: OnceLock<ApiKeys> = OnceLock::new();
    F.get_or_init(|| {
        api_keys_from(issue(&[
            ("svc-a", "orders:read", KeyState::Active),
            ("svc-b", "orders:read orders:write", KeyState::Active),
            ("svc-c", "", KeyState::Active),
            ("svc-r", "orders:read", KeyState::Revoked),
            ("svc-x", "orders:read", KeyState::Expired),
        ]))
    })
}

/// A candidate API key.
#[derive(Arbitrary, Debug)]
pub enum KeyCandidate {
    /// Any text.
    Raw(String),
    /// An issued key with edits, its checksum then recomputed or not.
    Edited(u8, Vec<Edit>, bool),
    /// The id of one issued key with the secret of another.
    Spliced(u8, u8, bool),
    /// The lead, then any text, the checksum then recomputed or not.
    Body(String, bool),
}

impl KeyCandidate {
    /// The candidate as text.
    pub fn text(&self, keys: &[IssuedKey]) -> String {
        let key = |i: u8| &keys[usize::from(i) % keys.len()].key;
        let fixed = |s: String, fix: bool| if fix { reseal(&s) } else { s };
        match self {
            KeyCandidate::Raw(s) => s.clone(),
            KeyCandidate::Edited(i, edits, fix) => fixed(apply_edits(key(*i), edits), *fix),
            KeyCandidate::Spliced(a, b, fix) => {
                let (a, b) = (key(*a), key(*b));
                let id = &a[LEAD.len()..LEAD.len() + 12];
                let secret = &b[LEAD.len() + 12..LEAD.len() + 45];
                fixed(format!("{LEAD}{id}{secret}000000"), *fix)
            }
            KeyCandidate::Body(body, fix) => fixed(format!("{LEAD}{body}"), *fix),
        }
    }
}

/// The `api_key` invariants for one candidate: the format checks agree
/// with each other and with the documented format; only the exact issued
/// active keys verify; every rejection has the documented kind.
pub fn check_api_key(candidate: &str) {
    let f = api_keys();
    let well_formed = f.format.is_well_formed(candidate);
    let id = f.format.key_id(candidate);
    assert_eq!(
        well_formed,
        id.is_ok(),
        "is_well_formed and key_id disagree on {candidate:?}"
    );
    assert_eq!(
        well_formed,
        api_key_well_formed(candidate, LEAD, BODY_LEN),
        "is_well_formed disagrees with the documented format on {candidate:?}"
    );
    if let Ok(id) = id {
        assert!(
            id.len() == 12 && candidate[LEAD.len()..].starts_with(id),
            "key_id {id:?} is not the 12 characters after the lead of {candidate:?}"
        );
    }
    let issued = f.keys.iter().find(|k| k.key == candidate);
    match (f.verifier.verify(candidate), issued) {
        (Ok(v), Some(k)) if k.state == KeyState::Active => {
            assert!(
                v.id() == k.id && v.owner() == k.owner && v.scopes().to_string() == k.scopes,
                "verified the wrong record for {candidate:?}"
            );
        }
        (Ok(v), _) => panic!(
            "verified {candidate:?} (id {}), not an active issued key",
            v.id()
        ),
        (Err(e), Some(k)) => {
            let expected = match k.state {
                KeyState::Active => panic!("an issued active key was rejected: {e:?}"),
                KeyState::Revoked => ErrorKind::Revoked,
                KeyState::Expired => ErrorKind::Expired,
            };
            assert_eq!(e.kind(), expected, "{candidate:?}");
        }
        (Err(e), None) => {
            let expected = if !well_formed {
                ErrorKind::Malformed
            } else if id
                .as_ref()
                .is_ok_and(|id| f.keys.iter().any(|k| k.id == *id))
            {
                ErrorKind::InvalidSecret
            } else {
                ErrorKind::UnknownCredential
            };
            assert_eq!(e.kind(), expected, "{candidate:?}: {e:?}");
        }
    }
    for k in &f.keys {
        let accepted = f
            .verifier
            .verify_record(candidate, Arc::new(k.record.clone()))
            .is_ok();
        assert_eq!(
            accepted,
            candidate == k.key && k.state == KeyState::Active,
            "verify_record of {candidate:?} against the record of {}",
            k.id
        );
    }
}

/// A credential the `authorization_header` target knows.
#[derive(Debug)]
pub struct Credential {
    /// The credential text.
    pub text: String,
    /// Whether it authenticates.
    pub valid: bool,
    /// The expected principal's subject.
    pub subject: &'static str,
    /// The expected kind.
    pub kind: CredentialKind,
    /// The granted scopes.
    pub scopes: &'static str,
}

/// The `authorization_header` fixture.
#[derive(Debug)]
pub struct FrontDoor {
    /// JWTs (Ed25519 and HS256) and API keys, valid and not.
    pub credentials: Vec<Credential>,
    /// Access tokens and API keys, realm [`REALM`].
    pub door: Authenticator,
    /// Route requirements: `None` calls `authenticate`, the others
    /// `authenticate_for` (with the scopes the requirement names and
    /// whether all are needed).
    pub requirements: Vec<Option<(ScopeRequirement, &'static str, bool)>>,
}

/// The realm of the challenges; a quote to exercise escaping.
pub const REALM: &str = "api \"v1\"";
/// [`REALM`] as escaped in a challenge.
pub const REALM_QUOTED: &str = "api \\\"v1\\\"";

/// The `authorization_header` fixture, built on first use.
pub fn front_door() -> &'static FrontDoor {
    static F: OnceLock<FrontDoor> = OnceLock::new();
    F.get_or_init(|| {
        let ed = pem_signer(Algorithm::EdDSA, data::ED25519_PKCS8, "ed");
        let hs = hmac_signer(
            Algorithm::HS256,
            b"front-door-hs256-key-0123456789abcdef",
            "hs",
        );
        let store = must(
            KeySetStore::new([ed.verifying_key(), hs.verifying_key()]),
            "store",
        );
        let validator = must(
            Validator::builder(store)
                .danger_accept_any_type()
                .issuer(ISS)
                .audience(AUD)
                .clock(clock())
                .build(),
            "validator",
        );
        let jwt = |key: &SigningKey, sub: &str, scope: Option<&str>, at: i64, aud: &str| {
            let mut b = TokenBuilder::new()
                .issuer(ISS)
                .subject(sub)
                .audience(aud)
                .jwt_id(format!("jti-{sub}"))
                .lifetime(Duration::minutes(10))
                .clock(clock_at(at));
            if let Some(s) = scope {
                b = b.scope(s);
            }
            must(b.sign(key), "token")
        };
        let token = |text: String, valid: bool, subject, scopes| Credential {
            text,
            valid,
            subject,
            kind: CredentialKind::AccessToken,
            scopes,
        };
        let mut credentials = vec![
            token(
                jwt(&ed, "user-1", Some("orders:read"), NOW, AUD),
                true,
                "user-1",
                "orders:read",
            ),
            token(
                jwt(&hs, "user-2", Some("orders:read orders:write"), NOW, AUD),
                true,
                "user-2",
                "orders:read orders:write",
            ),
            token(jwt(&ed, "user-3", None, NOW, AUD), true, "user-3", ""),
            token(
                jwt(&ed, "user-4", Some("orders:read"), NOW - 10_000, AUD),
                false,
                "user-4",
                "",
            ),
            token(
                jwt(&hs, "user-5", Some("orders:read"), NOW, "other-api"),
                false,
                "user-5",
                "",
            ),
        ];
        let keys = issue(&[
            ("svc-a", "orders:read", KeyState::Active),
            ("svc-b", "orders:read orders:write", KeyState::Active),
            ("svc-c", "", KeyState::Active),
            ("svc-r", "orders:read", KeyState::Revoked),
            ("svc-x", "orders:read", KeyState::Expired),
        ]);
        for k in &keys {
            credentials.push(Credential {
                text: k.key.clone(),
                valid: k.state == KeyState::Active,
                subject: k.owner,
                kind: CredentialKind::ApiKey,
                scopes: k.scopes,
            });
        }
        let api = api_keys_from(keys);
        let req = |all: bool, s: &'static str| {
            let r = if all {
                ScopeRequirement::all(s)
            } else {
                ScopeRequirement::any(s)
            };
            Some((must(r, "requirement"), s, all))
        };
        FrontDoor {
            credentials,
            door: must(
                Authenticator::builder()
                    .access_tokens(validator)
                    .api_keys(api.verifier)
                    .realm(REALM)
                    .build(),
                "authenticator",
            ),
            requirements: vec![
                None,
                req(true, "orders:read"),
                req(true, "orders:write"),
                req(false, "orders:write admin"),
                req(true, "orders:read orders:write"),
            ],
        }
    })
}

/// A scheme name.
#[derive(Arbitrary, Debug)]
pub enum Scheme {
    /// `Bearer`.
    Bearer,
    /// `bearer`.
    Lower,
    /// `BEARER`.
    Upper,
    /// `bearer` with the letters whose bit is set upper-cased.
    Mixed(u8),
    /// `Basic`.
    Basic,
    /// Nothing.
    Empty,
    /// Any text.
    Other(String),
}

/// A credential in a built header.
#[derive(Arbitrary, Debug)]
pub enum Cred {
    /// A fixture credential as is.
    Known(u8),
    /// A fixture credential with edits.
    Edited(u8, Vec<Edit>),
    /// A fixture credential with `=` padding appended.
    Padded(u8, u8),
    /// Any text.
    Raw(String),
}

/// What follows the credential.
#[derive(Arbitrary, Debug)]
pub enum Suffix {
    /// A space.
    Space,
    /// A tab.
    Tab,
    /// CR LF.
    Newline,
    /// `, ` and more text.
    Comma(String),
}

/// An `Authorization` header value.
#[derive(Arbitrary, Debug)]
pub enum HeaderForm {
    /// No header.
    Absent,
    /// Any text.
    Raw(String),
    /// Scheme, spaces (count modulo 4), credential, suffix.
    Built(Scheme, u8, Cred, Option<Suffix>),
}

/// One `authorization_header` input.
#[derive(Arbitrary, Debug)]
pub struct HeaderInput {
    /// The header.
    pub header: HeaderForm,
    /// Which route requirement (modulo their count).
    pub requirement: u8,
}

impl HeaderForm {
    /// The header text, and the credential when built from a fixture one.
    pub fn text(&self, creds: &[Credential]) -> (Option<String>, Option<String>) {
        let cred = |i: u8| &creds[usize::from(i) % creds.len()].text;
        match self {
            HeaderForm::Absent => (None, None),
            HeaderForm::Raw(s) => (Some(s.clone()), None),
            HeaderForm::Built(scheme, spaces, c, suffix) => {
                let scheme = match scheme {
                    Scheme::Bearer => "Bearer".to_owned(),
                    Scheme::Lower => "bearer".to_owned(),
                    Scheme::Upper => "BEARER".to_owned(),
                    Scheme::Mixed(mask) => "bearer"
                        .chars()
                        .enumerate()
                        .map(|(i, ch)| {
                            if mask >> i & 1 == 1 {
                                ch.to_ascii_uppercase()
                            } else {
                                ch
                            }
                        })
                        .collect(),
                    Scheme::Basic => "Basic".to_owned(),
                    Scheme::Empty => String::new(),
                    Scheme::Other(s) => s.clone(),
                };
                let (credential, known) = match c {
                    Cred::Known(i) => (cred(*i).clone(), true),
                    Cred::Edited(i, edits) => (apply_edits(cred(*i), edits), true),
                    Cred::Padded(i, n) => (
                        format!("{}{}", cred(*i), "=".repeat(usize::from(n % 4) + 1)),
                        true,
                    ),
                    Cred::Raw(s) => (s.clone(), false),
                };
                let suffix = match suffix {
                    None => String::new(),
                    Some(Suffix::Space) => " ".to_owned(),
                    Some(Suffix::Tab) => "\t".to_owned(),
                    Some(Suffix::Newline) => "\r\n".to_owned(),
                    Some(Suffix::Comma(s)) => format!(", {s}"),
                };
                let text = format!(
                    "{scheme}{}{credential}{suffix}",
                    " ".repeat(usize::from(spaces % 4))
                );
                (Some(text), known.then_some(credential))
            }
        }
    }
}

/// The credential of a well-formed bearer header as RFC 6750 §2.1 and the
/// crate's documentation describe it: `bearer` in any case, one or more
/// spaces, then the rest.
pub fn bearer_credential(header: &str) -> Option<&str> {
    let scheme = header.get(..6)?;
    let rest = header.get(6..)?;
    if !scheme.eq_ignore_ascii_case("bearer") || !rest.starts_with(' ') {
        return None;
    }
    Some(rest.trim_start_matches(' '))
}

fn expected_challenge(kind: BearerError, scopes: Option<&ScopeSet>) -> String {
    let mut out = format!("Bearer realm=\"{REALM_QUOTED}\"");
    if let Some(code) = kind.code() {
        out.push_str(&format!(", error=\"{code}\""));
    }
    if let Some(s) = scopes {
        out.push_str(&format!(", scope=\"{s}\""));
    }
    out
}

fn check_error(
    err: &AuthError,
    input: Option<&str>,
    known: Option<&str>,
    requirement: Option<&ScopeRequirement>,
) {
    let kind = err.bearer_error();
    assert!(
        !matches!(kind, BearerError::ServerError | BearerError::Unavailable),
        "in-memory stores cannot fail: {err:?}"
    );
    assert_eq!(err.status(), kind.status());
    if input.is_none() {
        assert_eq!(kind, BearerError::MissingCredentials);
    }
    let scopes = match (kind, requirement) {
        (BearerError::InsufficientScope, Some(r)) => Some(r.scopes()),
        (BearerError::InsufficientScope, None) => {
            panic!("insufficient_scope without a requirement: {err:?}")
        }
        _ => None,
    };
    let challenge = err.www_authenticate();
    let expected = expected_challenge(kind, scopes.as_ref());
    assert_eq!(
        challenge, expected,
        "the challenge depends on more than the error class"
    );
    if let Some(input) = input
        && input.len() > 8
        && !REALM.contains(input)
        && !expected.contains(input)
    {
        assert!(
            !challenge.contains(input),
            "the challenge contains the input"
        );
    }
    if let Some(cred) = known {
        let shown = [challenge, err.to_string(), format!("{err:?}")];
        for piece in secret_windows(cred) {
            for s in &shown {
                assert!(
                    !s.contains(piece),
                    "an error shows the credential ({piece:?}): {s}"
                );
            }
        }
    }
}

/// 16-character windows of `cred`, every 8th, that are also in a fixture
/// credential: random token or key material, which no fixed text of the
/// crate can hold, so finding one in an error is a leak (an edited
/// credential may be any text, `error="invalid_request"` included). Any
/// shown run of 23 or more characters of fixture material holds one.
fn secret_windows(cred: &str) -> Vec<&str> {
    const W: usize = 16;
    let creds = &front_door().credentials;
    let starts: Vec<usize> = cred.char_indices().map(|(i, _)| i).collect();
    let mut out: Vec<&str> = Vec::new();
    for (n, &i) in starts.iter().enumerate().step_by(W / 2) {
        if starts.len() - n < W {
            break;
        }
        let end = starts.get(n + W).copied().unwrap_or(cred.len());
        let w = &cred[i..end];
        if creds.iter().any(|c| c.text.contains(w)) {
            out.push(w);
        }
    }
    out
}

fn expect_principal(p: &Principal, c: &Credential) {
    assert!(
        p.subject() == Some(c.subject)
            && p.kind() == c.kind
            && p.scopes().to_string() == c.scopes
            && p.claims().is_some() == (c.kind == CredentialKind::AccessToken)
            && p.issuer().is_some() == (c.kind == CredentialKind::AccessToken),
        "principal {p:?} does not match credential {c:?}"
    );
}

/// The `authorization_header` invariants for one header value and route.
pub fn check_header(header: Option<&str>, known: Option<&str>, requirement: usize) {
    let f = front_door();
    let expected = header
        .and_then(bearer_credential)
        .and_then(|cred| f.credentials.iter().find(|c| c.valid && c.text == cred));
    let plain = f.door.authenticate(header);
    let typed = f.door.authenticate_with::<NoCustomClaims>(header, None);
    assert_eq!(
        typed.as_ref().ok(),
        plain.as_ref().ok(),
        "authenticate_with and authenticate disagree"
    );
    match (&plain, expected) {
        (Ok(p), Some(c)) => expect_principal(p, c),
        (Ok(p), None) => panic!("authenticated {header:?} as {p:?}"),
        (Err(e), Some(c)) => panic!("rejected a valid credential {c:?}: {e:?}"),
        (Err(e), None) => check_error(e, header, known, None),
    }
    let Some((req, scopes, all)) = f.requirements[requirement % f.requirements.len()].as_ref()
    else {
        return;
    };
    let scoped = f.door.authenticate_for(header, req);
    let satisfied = |p: &Principal| {
        let mut wanted = scopes.split(' ');
        if *all {
            wanted.all(|s| p.scopes().contains(s))
        } else {
            wanted.any(|s| p.scopes().contains(s))
        }
    };
    match (&scoped, &plain) {
        (Ok(p), Ok(q)) => {
            assert_eq!(p, q, "authenticate_for and authenticate disagree");
            assert!(satisfied(p), "{p:?} lacks {scopes:?} yet passed");
        }
        (Ok(p), Err(_)) => panic!("authenticate_for accepted what authenticate rejected: {p:?}"),
        (Err(e), Ok(q)) => {
            assert!(!satisfied(q), "{q:?} has {scopes:?} yet was refused: {e:?}");
            assert_eq!(e.bearer_error(), BearerError::InsufficientScope);
            check_error(e, header, known, Some(req));
        }
        (Err(e), Err(_)) => check_error(e, header, known, Some(req)),
    }
}

/// Static parts of the `introspect` fixture; the stores are made afresh
/// for each input so runs do not depend on each other.
#[derive(Debug)]
pub struct IntrospectStatic {
    ring: Arc<KeyRing>,
    /// Access tokens: (token, active, subject).
    pub access: Vec<(String, bool, &'static str)>,
    keys: Vec<IssuedKey>,
}

fn introspect_static() -> &'static IntrospectStatic {
    static F: OnceLock<IntrospectStatic> = OnceLock::new();
    F.get_or_init(|| {
        let ring = Arc::new(KeyRing::new(pem_signer(
            Algorithm::EdDSA,
            data::ED25519_PKCS8,
            "ed",
        )));
        let key = ring.current();
        let base = |sub: &str, at: i64| {
            TokenBuilder::new()
                .issuer(ISS)
                .audience(AUD)
                .subject(sub)
                .scope("orders:read")
                .client_id("client-1")
                .lifetime(Duration::minutes(10))
                .clock(clock_at(at))
        };
        let sign = |b: TokenBuilder| must(b.sign(&key), "token");
        let access = vec![
            (sign(base("user-1", NOW).jwt_id("a0")), true, "user-1"),
            (
                sign(base("user-2", NOW).without_jwt_id().session_id("sess-1")),
                true,
                "user-2",
            ),
            (sign(base("user-3", NOW).without_jwt_id()), true, "user-3"),
            (
                sign(base("user-4", NOW - 10_000).jwt_id("a3")),
                false,
                "user-4",
            ),
            (
                sign(base("user-5", NOW).jwt_id("a4").not_before(must(
                    tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 10),
                    "nbf",
                ))),
                false,
                "user-5",
            ),
            (
                sign(base("user-6", NOW - 610).jwt_id("a5")),
                false,
                "user-6",
            ),
        ];
        let keys = issue(&[
            ("svc-a", "orders:read", KeyState::Active),
            ("svc-r", "orders:read", KeyState::Revoked),
            ("svc-x", "", KeyState::Expired),
        ]);
        IntrospectStatic { ring, access, keys }
    })
}

/// A token presented to the introspector.
#[derive(Arbitrary, Debug)]
pub enum Tok {
    /// A real token as is.
    Real(u8),
    /// A real token with edits.
    Edited(u8, Vec<Edit>),
    /// A real token with edits and its checksum recomputed (for API keys
    /// and refresh tokens).
    Rechecked(u8, Vec<Edit>),
    /// Any text.
    Raw(String),
}

/// An introspection endpoint call.
#[derive(Arbitrary, Debug)]
pub enum Call {
    /// `introspect`.
    Introspect(Tok),
    /// `revoke`.
    Revoke(Tok),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Access,
    ApiKey,
    Refresh,
}

struct Real {
    text: String,
    active: bool,
    kind: Kind,
    subject: String,
    /// Tokens (by index) that revoking this one takes down too.
    takes_down: Vec<usize>,
}

/// Runs `calls` against a fresh introspector and checks, after each:
/// `active` only for a real token that is active in the model (revoking a
/// token takes down itself, and a refresh token its family's access token);
/// `to_json` is JSON with a boolean `active`, exactly `{"active":false}`
/// when inactive; `revoke` never fails, except `missing_claim` for an
/// access token with neither `jti` nor `sid`, which `revoke_subject` then
/// takes back with its subject's other tokens.
pub fn check_introspection(calls: &[Call]) {
    let s = introspect_static();
    let list = Arc::new(RevocationList::new());
    let validator = must(
        Validator::builder(Arc::clone(&s.ring))
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .clock(clock())
            .revocation(list.clone())
            .build(),
        "validator",
    );
    let api = api_keys_from(
        s.keys
            .iter()
            .map(|k| IssuedKey {
                key: k.key.clone(),
                id: k.id.clone(),
                owner: k.owner,
                scopes: k.scopes,
                state: k.state,
                record: k.record.clone(),
            })
            .collect(),
    );
    let refresh = must(
        RefreshTokens::builder(
            Arc::new(InMemoryRefreshStore::new()),
            Arc::clone(&s.ring),
            TokenBuilder::new().issuer(ISS).audience(AUD),
        )
        .clock(clock())
        .revocation(list.clone())
        .build(),
        "refresh",
    );
    let mut real: Vec<Real> = s
        .access
        .iter()
        .map(|(t, active, sub)| Real {
            text: t.clone(),
            active: *active,
            kind: Kind::Access,
            subject: (*sub).to_owned(),
            takes_down: Vec::new(),
        })
        .collect();
    for k in &api.keys {
        real.push(Real {
            text: k.key.clone(),
            active: k.state == KeyState::Active,
            kind: Kind::ApiKey,
            subject: k.owner.to_owned(),
            takes_down: Vec::new(),
        });
    }
    for _ in 0..2 {
        let pair = must(refresh.login(Grant::new("user-9")), "login");
        let n = real.len();
        real.push(Real {
            text: pair.refresh_token.expose_secret().to_owned(),
            active: true,
            kind: Kind::Refresh,
            subject: "user-9".to_owned(),
            takes_down: vec![n + 1],
        });
        real.push(Real {
            text: pair.access_token.clone(),
            active: true,
            kind: Kind::Access,
            subject: "user-9".to_owned(),
            takes_down: Vec::new(),
        });
    }
    let door = must(
        Introspector::builder()
            .access_tokens(validator)
            .api_keys(api.verifier.clone())
            .refresh_tokens(refresh)
            .revocation(list)
            .clock(clock())
            .build(),
        "introspector",
    );

    for call in calls {
        let (Call::Introspect(tok) | Call::Revoke(tok)) = call;
        let pick = |i: &u8| usize::from(*i) % real.len();
        let text = match tok {
            Tok::Real(i) => real[pick(i)].text.clone(),
            Tok::Edited(i, e) => apply_edits(&real[pick(i)].text, e),
            Tok::Rechecked(i, e) => reseal(&apply_edits(&real[pick(i)].text, e)),
            Tok::Raw(t) => t.clone(),
        };
        let found = real.iter().position(|r| r.text == text);
        match call {
            Call::Introspect(_) => {
                let response = door.introspect(&text);
                assert!(
                    door.try_introspect(&text).is_ok(),
                    "in-memory stores cannot fail"
                );
                let json = response.to_json();
                let parsed: Value = must(serde_json::from_str(&json), "to_json is not JSON");
                assert_eq!(
                    parsed.get("active").and_then(Value::as_bool),
                    Some(response.active),
                    "{json}"
                );
                let model = found.map(|i| &real[i]);
                match (response.active, model) {
                    (true, Some(r)) if r.active => {
                        let token_type = if r.kind == Kind::Refresh {
                            "N_A"
                        } else {
                            "Bearer"
                        };
                        assert_eq!(response.token_type, Some(token_type), "{json}");
                        assert_eq!(response.sub.as_deref(), Some(r.subject.as_str()), "{json}");
                    }
                    (true, _) => panic!("active for a token that is not active: {text:?} {json}"),
                    (false, Some(r)) if r.active => {
                        panic!("inactive for an active real token: {text:?}")
                    }
                    (false, _) => assert_eq!(json, "{\"active\":false}"),
                }
            }
            Call::Revoke(_) => {
                // Access tokens are issued to client-1, refresh tokens to no
                // client, and an API key's client is its owner; revoking
                // without naming a client is the library-level call (RFC
                // 7009 §2.1: a client revokes only its own). Another client
                // is refused without effect, or, for anything that is not
                // a live token, told it succeeded.
                let owner = if text.starts_with("rt_") || text.starts_with(LEAD) {
                    None
                } else {
                    Some("client-1")
                };
                match door.revoke(&text, Some("client-2")) {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::WrongClient => {}
                    Err(e) => panic!("revoke by another client failed for {text:?}: {e:?}"),
                }
                match door.revoke(&text, owner) {
                    Ok(()) => {}
                    // A valid access token with neither `jti` nor `sid` is
                    // taken back only with every token of its subject,
                    // asked for explicitly.
                    Err(e) if e.kind() == ErrorKind::MissingClaim => {
                        assert!(
                            found.is_some_and(|i| real[i].kind == Kind::Access),
                            "missing_claim for {text:?}, not a real access token"
                        );
                        assert!(
                            door.revoke_subject(&text, owner).is_ok(),
                            "revoke_subject failed for {text:?}"
                        );
                    }
                    Err(e) => panic!("revoke failed for {text:?}: {e:?}"),
                }
                if let Some(i) = found {
                    let downs = real[i].takes_down.clone();
                    real[i].active = false;
                    for j in downs {
                        real[j].active = false;
                    }
                }
            }
        }
    }
}
