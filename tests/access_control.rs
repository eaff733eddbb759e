//! Access control end to end: [`ScopeSet`] parsing against the RFC 6749
//! §3.3 scope-token alphabet, [`ScopeRequirement`] (all / any / and / or and
//! nestings) checked through [`Validator::validate_for`], a validator-wide
//! [`require_scopes`](tokengate::ValidatorBuilder::require_scopes),
//! [`Verified::require`], scope checks on API keys through the
//! [`Authenticator`], and [`RoleMap`].
//!
//! Every rule is shown accepting and rejecting, and the `missing` set of
//! [`Error::InsufficientScope`] is compared with exactly what
//! [`ScopeRequirement::check`] documents: for `All`, the scopes not granted;
//! for `Any`, the whole set; for `AllOf`, the union over the failing parts;
//! for `AnyOf`, the smallest missing set among its parts. The substring
//! traps (`read` against `read:all` and `unread`) are tried on every path.
//! Time is pinned with a shared [`FixedClock`].

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use proptest::prelude::*;
use tokengate::api_key::{ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, InMemoryApiKeyStore};
use tokengate::authenticator::{AuthError, Authenticator, BearerError, CredentialKind};
use tokengate::testing::b64_encode;
use tokengate::testing::{T0, clock};
use tokengate::{
    Algorithm, Claim, Error, ErrorKind, FixedClock, Malformed, NewApiKey, RoleMap,
    ScopeRequirement, ScopeSet, SigningKey, SingleKeyStore, TokenBuilder, Validator,
    ValidatorBuilder, jws,
};

const NOW: i64 = T0;
const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// One Ed25519 key and a clock shared by the issuer and the validators.
struct Env {
    key: SigningKey,
    clock: Arc<FixedClock>,
}

impl Env {
    fn new() -> Self {
        Self {
            key: SigningKey::generate(Algorithm::EdDSA)
                .unwrap()
                .with_key_id("k1"),
            clock: clock(),
        }
    }

    fn builder(&self) -> TokenBuilder {
        TokenBuilder::new()
            .issuer(ISS)
            .subject("user-1")
            .audience(AUD)
            .clock(self.clock.clone())
    }

    /// A valid token whose `scope` claim is exactly `scope` (none if `None`).
    fn token(&self, scope: Option<&str>) -> String {
        let b = self.builder();
        let b = match scope {
            Some(s) => b.scope(s),
            None => b,
        };
        b.sign(&self.key).unwrap()
    }

    fn validator_builder(&self) -> ValidatorBuilder {
        Validator::builder(SingleKeyStore::new(self.key.verifying_key()))
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .clock(self.clock.clone())
    }

    fn validator(&self) -> Validator {
        self.validator_builder()
            .danger_accept_any_type()
            .build()
            .unwrap()
    }
}

fn set(s: &str) -> ScopeSet {
    ScopeSet::parse(s).unwrap()
}

fn all_of(s: &str) -> ScopeRequirement {
    ScopeRequirement::all(s).unwrap()
}

fn one_of(s: &str) -> ScopeRequirement {
    ScopeRequirement::any(s).unwrap()
}

/// The `missing` set of an insufficient-scope error, space-delimited;
/// panics on anything else.
fn missing_of<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::InsufficientScope { missing }) => missing.to_string(),
        other => panic!("expected insufficient_scope, got {other:?}"),
    }
}

/// The RFC 6749 §3.3 scope-token alphabet, written out independently:
/// `%x21 / %x23-5B / %x5D-7E`.
fn rfc6749_scope_char(b: u8) -> bool {
    b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b)
}

/// The outcome of `validate_for` as `Ok(())` or the missing set.
fn outcome(v: &Validator, token: &str, req: &ScopeRequirement) -> Result<(), String> {
    match v.validate_for(token, req) {
        Ok(_) => Ok(()),
        Err(Error::InsufficientScope { missing }) => Err(missing.to_string()),
        Err(e) => panic!("unexpected error {e:?}"),
    }
}

// ---------------------------------------------------------------------------
// ScopeSet parsing and validation
// ---------------------------------------------------------------------------

#[test]
fn every_ascii_byte_is_judged_by_the_rfc6749_alphabet() {
    for b in 0u8..=0x7F {
        if b == b' ' {
            continue;
        }
        let c = char::from(b);
        let token = format!("a{c}b");
        let expected = rfc6749_scope_char(b);
        assert_eq!(
            ScopeSet::from_tokens([token.as_str()]).is_ok(),
            expected,
            "from_tokens with byte {b:#04x}"
        );
        match ScopeSet::parse(&token) {
            Ok(s) => {
                assert!(expected, "parse accepted byte {b:#04x}");
                assert!(s.contains(&token));
                assert_eq!(s.len(), 1);
            }
            Err(e) => {
                assert!(!expected, "parse refused byte {b:#04x}");
                assert_eq!(e.kind(), ErrorKind::InvalidScope);
                assert!(e.is_configuration());
            }
        }
        // A lone character is a token too.
        assert_eq!(
            ScopeSet::parse(&c.to_string()).is_ok(),
            expected,
            "{b:#04x}"
        );
    }
    // The boundaries of the ranges, by name.
    for ok in [
        "!",
        "#",
        "[",
        "]",
        "~",
        "orders:read",
        "a/b.c-d_e+f=g",
        "%41",
    ] {
        assert!(ScopeSet::parse(ok).is_ok(), "{ok:?}");
    }
    for bad in [
        "\"",
        "\\",
        "\u{7f}",
        "caf\u{e9}",
        "\u{3000}",
        "a\u{0}b",
        "tab\t",
    ] {
        assert!(
            matches!(ScopeSet::parse(bad), Err(Error::InvalidScope)),
            "{bad:?}"
        );
    }
}

#[test]
fn one_bad_token_refuses_the_whole_string() {
    assert!(matches!(
        ScopeSet::parse("orders:read \"admin\" profile"),
        Err(Error::InvalidScope)
    ));
    assert!(matches!(
        ScopeRequirement::all("a b\\c"),
        Err(Error::InvalidScope)
    ));
    assert!(matches!(
        ScopeRequirement::any("a\tb"),
        Err(Error::InvalidScope)
    ));
    assert!(matches!(
        RoleMap::new().define("r", "a \u{e9}"),
        Err(Error::InvalidScope)
    ));
}

#[test]
fn from_tokens_refuses_spaces_and_empty_tokens() {
    assert!(matches!(
        ScopeSet::from_tokens(["a", "b c"]),
        Err(Error::InvalidScope)
    ));
    assert!(matches!(
        ScopeSet::from_tokens(["a", ""]),
        Err(Error::InvalidScope)
    ));
    let s = ScopeSet::from_tokens(["b", "a", "b"]).unwrap();
    assert_eq!(s, set("a b"));
    assert!(
        ScopeSet::from_tokens(Vec::<String>::new())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn parse_sorts_dedups_and_tolerates_runs_of_spaces() {
    let s = set("  write  read   write admin ");
    assert_eq!(s.to_string(), "admin read write");
    assert_eq!(s.len(), 3);
    assert_eq!(s.iter().collect::<Vec<_>>(), ["admin", "read", "write"]);
    assert_eq!(format!("{s:?}"), r#"{"admin", "read", "write"}"#);
    assert!(set("").is_empty() && set("   ").is_empty());
    assert_eq!(set(""), ScopeSet::new());
    // Order and repetition do not matter for equality.
    assert_eq!(set("b a"), set("a b a"));
    assert_ne!(set("a"), set("a b"));
    // The display form parses back to the same set.
    assert_eq!(set(&s.to_string()), s);
    // Scope tokens are case-sensitive.
    assert_eq!(set("Read read").len(), 2);
}

#[test]
fn contains_and_contains_all() {
    let have = set("orders:read orders:write profile");
    assert!(have.contains("profile"));
    assert!(!have.contains("orders"));
    assert!(!have.contains("Profile"));
    assert!(have.contains_all(&set("profile orders:read")));
    assert!(have.contains_all(&ScopeSet::new()));
    assert!(!have.contains_all(&set("profile admin")));
    assert!(!ScopeSet::new().contains_all(&set("a")));
}

#[test]
fn serde_uses_the_space_delimited_string_and_validates() {
    let s = set("b a");
    assert_eq!(serde_json::to_string(&s).unwrap(), r#""a b""#);
    let back: ScopeSet = serde_json::from_str(r#"" b  a ""#).unwrap();
    assert_eq!(back, s);
    assert!(serde_json::from_str::<ScopeSet>(r#""a \"b""#).is_err());
    assert!(serde_json::from_str::<ScopeSet>(r#"["a","b"]"#).is_err());
}

// ---------------------------------------------------------------------------
// Requirements through the validator
// ---------------------------------------------------------------------------

#[test]
fn all_requires_every_scope_and_names_the_missing_ones() {
    let env = Env::new();
    let v = env.validator();
    let need = all_of("orders:read orders:write");
    assert_eq!(
        outcome(
            &v,
            &env.token(Some("orders:write orders:read profile")),
            &need
        ),
        Ok(())
    );
    assert_eq!(
        outcome(&v, &env.token(Some("orders:read")), &need),
        Err("orders:write".to_owned())
    );
    assert_eq!(
        outcome(&v, &env.token(Some("profile")), &need),
        Err("orders:read orders:write".to_owned())
    );
    // No scope claim at all grants nothing.
    assert_eq!(
        outcome(&v, &env.token(None), &need),
        Err("orders:read orders:write".to_owned())
    );
    // The error's kind and category.
    let err = v
        .validate_for(&env.token(Some("orders:read")), &need)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InsufficientScope);
    assert_eq!(err.kind().as_str(), "insufficient_scope");
    assert!(err.is_rejection());
    // An empty `All` (built from the variant; `all("")` refuses it) is
    // never met: it fails closed.
    let empty = ScopeRequirement::All(ScopeSet::new());
    assert_eq!(outcome(&v, &env.token(None), &empty), Err(String::new()));
    // A plain `validate` checks no per-call requirement.
    assert!(v.validate(&env.token(Some("profile"))).is_ok());
}

#[test]
fn any_requires_one_scope_and_reports_the_whole_set() {
    let env = Env::new();
    let v = env.validator();
    let need = one_of("orders:write admin");
    assert_eq!(outcome(&v, &env.token(Some("admin")), &need), Ok(()));
    assert_eq!(
        outcome(&v, &env.token(Some("orders:write profile")), &need),
        Ok(())
    );
    assert_eq!(
        outcome(&v, &env.token(Some("orders:read")), &need),
        Err("admin orders:write".to_owned())
    );
    assert_eq!(
        outcome(&v, &env.token(None), &need),
        Err("admin orders:write".to_owned())
    );
    // An empty `Any` (built from the variant; `any("")` refuses it) is
    // never met, whatever was granted.
    assert_eq!(
        outcome(
            &v,
            &env.token(Some("admin orders:write")),
            &ScopeRequirement::Any(ScopeSet::new())
        ),
        Err(String::new())
    );
}

#[test]
fn and_reports_the_union_over_failing_parts() {
    let env = Env::new();
    let v = env.validator();
    let need = all_of("a b").and(one_of("x y"));
    assert_eq!(outcome(&v, &env.token(Some("a b y")), &need), Ok(()));
    // Only the `All` part fails: its missing scope.
    assert_eq!(
        outcome(&v, &env.token(Some("a x")), &need),
        Err("b".to_owned())
    );
    // Only the `Any` part fails: its whole set.
    assert_eq!(
        outcome(&v, &env.token(Some("a b")), &need),
        Err("x y".to_owned())
    );
    // Both fail: the union.
    assert_eq!(
        outcome(&v, &env.token(Some("a")), &need),
        Err("b x y".to_owned())
    );
    // Chained `and` keeps one flat list.
    let chained = all_of("a").and(all_of("b")).and(all_of("c"));
    assert_eq!(
        chained,
        ScopeRequirement::AllOf(vec![all_of("a"), all_of("b"), all_of("c")])
    );
    assert_eq!(outcome(&v, &env.token(Some("c b a")), &chained), Ok(()));
    assert_eq!(
        outcome(&v, &env.token(Some("b")), &chained),
        Err("a c".to_owned())
    );
}

#[test]
fn or_reports_the_smallest_missing_set_among_its_parts() {
    let env = Env::new();
    let v = env.validator();
    let need = all_of("p q r").or(all_of("s"));
    assert_eq!(outcome(&v, &env.token(Some("s")), &need), Ok(()));
    assert_eq!(outcome(&v, &env.token(Some("r q p")), &need), Ok(()));
    // {q r} against {s}: {s} is smaller.
    assert_eq!(
        outcome(&v, &env.token(Some("p")), &need),
        Err("s".to_owned())
    );
    // {r} against {s t}: {r} is smaller.
    let need = all_of("p q r").or(all_of("s t"));
    assert_eq!(
        outcome(&v, &env.token(Some("p q")), &need),
        Err("r".to_owned())
    );
    // Chained `or` keeps one flat list.
    let chained = all_of("a").or(all_of("b")).or(one_of("c d"));
    assert_eq!(
        chained,
        ScopeRequirement::AnyOf(vec![all_of("a"), all_of("b"), one_of("c d")])
    );
    assert_eq!(outcome(&v, &env.token(Some("d")), &chained), Ok(()));
    assert!(outcome(&v, &env.token(Some("e")), &chained).is_err());
}

#[test]
fn nested_requirements() {
    let env = Env::new();
    let v = env.validator();
    // (root AND sudo AND wheel) OR (orders:read AND orders:write), AND one
    // region. The two alternatives differ in size wherever both fail, so
    // "the smallest missing set" is never a tie.
    let need = all_of("root sudo wheel")
        .or(all_of("orders:read orders:write"))
        .and(one_of("region:eu region:us"));
    let cases: [(&str, Result<(), &str>); 7] = [
        ("orders:read orders:write region:eu", Ok(())),
        ("root sudo wheel region:us", Ok(())),
        // The region part is met; the `or` offers {root sudo wheel} or
        // {orders:write}: the smaller one.
        ("orders:read region:eu", Err("orders:write")),
        // The `or` is met; the region part is missing.
        ("root sudo wheel", Err("region:eu region:us")),
        // Both fail: {wheel} (smaller than {orders:read orders:write}) and
        // the regions.
        ("root sudo", Err("region:eu region:us wheel")),
        ("", Err("orders:read orders:write region:eu region:us")),
        // Scopes that merely contain required ones are no match.
        (
            "root:sudo sudo:wheel region:eu:west",
            Err("orders:read orders:write region:eu region:us"),
        ),
    ];
    for (granted, expected) in cases {
        let token = env.token(Some(granted));
        assert_eq!(
            outcome(&v, &token, &need),
            expected.map_err(str::to_owned),
            "granted {granted:?}"
        );
        // The requirement on its own agrees with the validator, for both
        // kinds of granted scopes.
        assert_eq!(need.is_satisfied_by(granted), expected.is_ok());
        assert_eq!(need.is_satisfied_by(&set(granted)), expected.is_ok());
    }
    // An `or` of `and`s: either both read scopes, or admin and audit.
    let need = all_of("a:read")
        .and(all_of("b:read"))
        .or(all_of("admin").and(all_of("audit")));
    assert_eq!(outcome(&v, &env.token(Some("audit admin")), &need), Ok(()));
    assert_eq!(
        outcome(&v, &env.token(Some("a:read b:read")), &need),
        Ok(())
    );
    assert_eq!(
        outcome(&v, &env.token(Some("a:read audit")), &need),
        Err("b:read".to_owned())
    );
}

#[test]
fn scopes_lists_every_scope_a_requirement_names() {
    let need = all_of("b a")
        .and(one_of("c a"))
        .or(all_of("d").and(one_of("e")));
    assert_eq!(need.scopes(), set("a b c d e"));
    assert_eq!(
        ScopeRequirement::All(ScopeSet::new()).scopes(),
        ScopeSet::new()
    );
    // Granting them all meets the requirement.
    assert!(need.is_satisfied_by(&need.scopes()));
}

#[test]
fn verified_require_matches_validate_for() {
    let env = Env::new();
    let v = env.validator();
    let need = all_of("a").and(one_of("x y"));
    for granted in ["a x", "a", "x", "", "a y z"] {
        let token = env.token(Some(granted));
        let verified = v.validate(&token).unwrap();
        let by_require = match verified.require(&need) {
            Ok(()) => Ok(()),
            Err(e) => Err(missing_of::<()>(Err(e))),
        };
        assert_eq!(by_require, outcome(&v, &token, &need), "{granted:?}");
    }
    // A token without a scope claim grants nothing.
    let verified = v.validate(&env.token(None)).unwrap();
    assert_eq!(missing_of(verified.require(&all_of("a"))), "a");
    assert!(
        verified
            .require(&ScopeRequirement::All(ScopeSet::new()))
            .is_err()
    );
}

#[test]
fn validator_wide_requirement() {
    let env = Env::new();
    let v = env
        .validator_builder()
        .danger_accept_any_type()
        .require_scopes(one_of("api:use admin"))
        .build()
        .unwrap();
    // Met: every call passes it.
    assert!(v.validate(&env.token(Some("api:use"))).is_ok());
    assert!(v.validate(&env.token(Some("admin"))).is_ok());
    // Not met: plain validate refuses, naming the validator's requirement.
    assert_eq!(
        missing_of(v.validate(&env.token(Some("profile")))),
        "admin api:use"
    );
    assert_eq!(missing_of(v.validate(&env.token(None))), "admin api:use");
    // Per call, both requirements apply; the validator's is checked first.
    let per_call = all_of("orders:write");
    assert_eq!(
        outcome(&v, &env.token(Some("api:use orders:write")), &per_call),
        Ok(())
    );
    assert_eq!(
        outcome(&v, &env.token(Some("api:use")), &per_call),
        Err("orders:write".to_owned())
    );
    assert_eq!(
        outcome(&v, &env.token(Some("orders:write")), &per_call),
        Err("admin api:use".to_owned())
    );
    assert_eq!(
        outcome(&v, &env.token(Some("profile")), &per_call),
        Err("admin api:use".to_owned())
    );
}

#[test]
fn scopes_are_checked_only_after_every_other_check() {
    let env = Env::new();
    let v = env
        .validator_builder()
        .danger_accept_any_type()
        .require_scopes(all_of("api:use"))
        .build()
        .unwrap();
    let need = all_of("orders:write");
    // A forged token lacking scopes is a signature failure, never a scope one.
    let good = env.token(Some("api:use orders:write"));
    let (input, _) = good.rsplit_once('.').unwrap();
    let forged = format!("{input}.{}", b64_encode([7u8; 64]));
    assert_eq!(
        v.validate_for(&forged, &need).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    // Another key signs a token: the payload says nothing to the validator.
    let other = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("k1");
    let foreign = env.builder().scope("profile").sign(&other).unwrap();
    assert_eq!(
        v.validate_for(&foreign, &need).unwrap_err().kind(),
        ErrorKind::InvalidSignature
    );
    // Expired and lacking scopes: expired.
    let token = env.token(Some("profile"));
    env.clock.advance(3_600);
    assert_eq!(
        v.validate_for(&token, &need).unwrap_err().kind(),
        ErrorKind::Expired
    );
    // Wrong audience and lacking scopes: invalid_audience.
    env.clock.set_unix(NOW);
    let token = env
        .builder()
        .audience("https://other.example.com")
        .scope("profile")
        .sign(&env.key)
        .unwrap();
    assert_eq!(
        v.validate_for(&token, &need).unwrap_err().kind(),
        ErrorKind::InvalidAudience
    );
}

// ---------------------------------------------------------------------------
// API keys through the Authenticator
// ---------------------------------------------------------------------------

struct KeyEnv {
    door: Authenticator,
    issuer: ApiKeyIssuer,
    store: Arc<InMemoryApiKeyStore>,
}

fn key_env() -> KeyEnv {
    let clock = clock();
    let format = ApiKeyFormat::new("acme").unwrap();
    let store = Arc::new(InMemoryApiKeyStore::new());
    let issuer = ApiKeyIssuer::new(format.clone()).with_clock(clock.clone());
    let verifier = ApiKeyVerifier::new(format, store.clone()).with_clock(clock);
    KeyEnv {
        door: Authenticator::builder()
            .api_keys(verifier)
            .realm("api")
            .build()
            .unwrap(),
        issuer,
        store,
    }
}

impl KeyEnv {
    fn key(&self, scopes: &str) -> String {
        self.issuer
            .issue_into(&*self.store, NewApiKey::new("svc").scopes(set(scopes)))
            .unwrap()
            .expose_secret()
            .to_owned()
    }
}

#[test]
fn api_key_scopes_through_the_authenticator() {
    let k = key_env();
    let key = k.key("reports:read reports:export");
    let header = format!("Bearer {key}");

    let p = k
        .door
        .authenticate_for(Some(&header), &all_of("reports:read"))
        .unwrap();
    assert_eq!(p.kind(), CredentialKind::ApiKey);
    assert_eq!(*p.scopes(), set("reports:export reports:read"));
    assert!(
        k.door
            .authenticate_for(Some(&header), &one_of("admin reports:export"))
            .is_ok()
    );
    assert!(
        k.door
            .authenticate_for(
                Some(&header),
                &all_of("reports:read").and(one_of("reports:export admin"))
            )
            .is_ok()
    );

    let denied = k
        .door
        .authenticate_for(Some(&header), &all_of("reports:read reports:delete"))
        .unwrap_err();
    assert_eq!(denied.bearer_error(), BearerError::InsufficientScope);
    assert_eq!(denied.status(), 403);
    // The cause names what is missing; the challenge names every scope the
    // route needs (RFC 6750 §3), so a client asking for exactly those does
    // not lose the ones it had.
    assert_eq!(cause_missing(&denied), "reports:delete");
    assert_eq!(
        denied.www_authenticate(),
        r#"Bearer realm="api", error="insufficient_scope", scope="reports:delete reports:read""#
    );

    let denied = k
        .door
        .authenticate_for(Some(&header), &one_of("admin root"))
        .unwrap_err();
    assert_eq!(denied.status(), 403);
    assert_eq!(
        denied.www_authenticate(),
        r#"Bearer realm="api", error="insufficient_scope", scope="admin root""#
    );

    // A key with no scopes meets no requirement, not even an empty one.
    let bare = format!("Bearer {}", k.key(""));
    assert!(k.door.authenticate(Some(&bare)).is_ok());
    assert_eq!(
        k.door
            .authenticate_for(Some(&bare), &ScopeRequirement::All(ScopeSet::new()))
            .unwrap_err()
            .status(),
        403
    );
    assert_eq!(
        k.door
            .authenticate_for(Some(&bare), &all_of("reports:read"))
            .unwrap_err()
            .status(),
        403
    );
    // `authenticate` without a requirement accepts it.
    assert!(k.door.authenticate(Some(&bare)).is_ok());
}

/// The missing set carried by an authentication failure's cause.
fn cause_missing(e: &AuthError) -> String {
    match e.cause() {
        Some(Error::InsufficientScope { missing }) => missing.to_string(),
        other => panic!("expected insufficient_scope, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------
// Roles
// ---------------------------------------------------------------------------

fn roles() -> RoleMap {
    RoleMap::new()
        .define("viewer", "orders:read")
        .unwrap()
        .define("editor", "orders:read orders:write")
        .unwrap()
        .define("auditor", "audit:read orders:read")
        .unwrap()
}

#[test]
fn check_role_accepts_and_rejects() {
    let r = roles();
    assert!(r.check_role("viewer", "orders:read").is_ok());
    assert!(r.check_role("editor", "orders:write orders:read").is_ok());
    assert!(
        r.check_role("editor", &set("orders:read orders:write profile"))
            .is_ok()
    );
    assert_eq!(
        missing_of(r.check_role("editor", "orders:read")),
        "orders:write"
    );
    assert_eq!(
        missing_of(r.check_role("auditor", &ScopeSet::new())),
        "audit:read orders:read"
    );
    // An undefined role is a configuration mistake, not a denial.
    let err = r.check_role("nobody", "orders:read").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
    assert!(err.is_configuration() && !err.is_rejection());
    // Role names are not scopes: holding a scope named like the role is
    // not holding the role.
    assert!(r.check_role("editor", "editor").is_err());
}

#[test]
fn roles_of_lists_exactly_the_roles_held() {
    let r = roles();
    let held = |granted: &str| {
        let mut v: Vec<&str> = r.roles_of(granted).collect();
        v.sort_unstable();
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    assert_eq!(held("orders:read"), ["viewer"]);
    assert_eq!(held("orders:write orders:read"), ["editor", "viewer"]);
    assert_eq!(
        held("audit:read orders:write orders:read"),
        ["auditor", "editor", "viewer"]
    );
    assert!(held("orders:write").is_empty());
    assert!(held("").is_empty());
    let granted = set("audit:read orders:read");
    let mut by_set: Vec<&str> = r.roles_of(&granted).collect();
    by_set.sort_unstable();
    assert_eq!(by_set, ["auditor", "viewer"]);
}

#[test]
fn role_requirement_and_redefinition() {
    let r = roles();
    let editor = r.requirement("editor").unwrap();
    assert_eq!(editor, all_of("orders:read orders:write"));
    assert!(r.requirement("nobody").is_none());

    // The requirement works through the validator like any other.
    let env = Env::new();
    let v = env.validator();
    assert_eq!(
        outcome(&v, &env.token(Some("orders:read orders:write")), &editor),
        Ok(())
    );
    assert_eq!(
        outcome(&v, &env.token(Some("orders:read")), &editor),
        Err("orders:write".to_owned())
    );
    // Roles combine with scopes.
    let need = r.requirement("viewer").unwrap().and(all_of("export"));
    assert_eq!(
        outcome(&v, &env.token(Some("orders:read")), &need),
        Err("export".to_owned())
    );

    // Redefining a role replaces its scopes.
    let r = r.define("viewer", "orders:read orders:list").unwrap();
    assert_eq!(
        missing_of(r.check_role("viewer", "orders:read")),
        "orders:list"
    );
    assert!(r.check_role("viewer", "orders:list orders:read").is_ok());
}

// ---------------------------------------------------------------------------
// Substring traps
// ---------------------------------------------------------------------------

/// Granted scopes that contain `read` as a substring, prefix or suffix, or
/// differ only in case, but never grant `read` itself.
const NEAR_MISSES: [&str; 7] = [
    "read:all",
    "unread",
    "read:all unread",
    "reader",
    "Read READ",
    "xread readx re:ad",
    "orders:read",
];

#[test]
fn read_does_not_match_lookalikes_on_any_path() {
    let need_all = all_of("read");
    let need_any = one_of("read write");
    let env = Env::new();
    let v = env.validator();
    let k = key_env();
    let r = RoleMap::new().define("reader", "read").unwrap();
    for granted in NEAR_MISSES {
        // The set and the raw string.
        assert!(!set(granted).contains("read"), "{granted:?}");
        assert!(!need_all.is_satisfied_by(granted), "{granted:?}");
        assert!(!need_all.is_satisfied_by(&set(granted)), "{granted:?}");
        assert!(!need_any.is_satisfied_by(granted), "{granted:?}");
        assert_eq!(missing_of(need_all.check(granted)), "read");
        // The validator.
        assert_eq!(
            outcome(&v, &env.token(Some(granted)), &need_all),
            Err("read".to_owned()),
            "{granted:?}"
        );
        // An API key.
        let header = format!("Bearer {}", k.key(granted));
        assert_eq!(
            k.door
                .authenticate_for(Some(&header), &need_all)
                .unwrap_err()
                .status(),
            403,
            "{granted:?}"
        );
        // A role.
        assert!(r.check_role("reader", granted).is_err(), "{granted:?}");
        assert_eq!(r.roles_of(granted).count(), 0, "{granted:?}");
    }
    // The reverse: `read` grants none of the longer scopes.
    for longer in ["read:all", "unread", "reader"] {
        assert!(!all_of(longer).is_satisfied_by("read"));
        assert_eq!(
            outcome(&v, &env.token(Some("read")), &all_of(longer)),
            Err(longer.to_owned())
        );
    }
    // And the real thing passes every path.
    let granted = "read:all read unread";
    assert!(need_all.is_satisfied_by(granted));
    assert_eq!(outcome(&v, &env.token(Some(granted)), &need_all), Ok(()));
    let header = format!("Bearer {}", k.key(granted));
    assert!(k.door.authenticate_for(Some(&header), &need_all).is_ok());
    assert!(r.check_role("reader", granted).is_ok());
}

#[test]
fn a_scope_claim_with_odd_spacing_grants_only_its_tokens() {
    let env = Env::new();
    let v = env.validator();
    // Runs of spaces are separators; nothing else is.
    assert_eq!(
        outcome(&v, &env.token(Some("  a   b ")), &all_of("a b")),
        Ok(())
    );
    // A tab is not a separator, so `a\tb` is one (invalid) token.
    assert_eq!(
        outcome(&v, &env.token(Some("a\tb")), &one_of("a b")),
        Err("a b".to_owned())
    );
    // A comma is not a separator either.
    assert_eq!(
        outcome(&v, &env.token(Some("a,b")), &one_of("a b")),
        Err("a b".to_owned())
    );
}

// ---------------------------------------------------------------------------
// Fixed bugs, kept as regression tests
// ---------------------------------------------------------------------------

#[test]
fn an_unsatisfiable_branch_is_not_reported_as_the_missing_set() {
    // An empty `Any` can never be met; the `or` can be met only through
    // `admin`, so `admin` is what "would satisfy the requirement".
    let need = ScopeRequirement::Any(ScopeSet::new()).or(all_of("admin"));
    let missing = missing_of(need.check(""));
    assert_eq!(missing, "admin");
    // Adding what is reported missing must satisfy the requirement.
    assert!(need.is_satisfied_by(missing.as_str()));
}

// ---------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------

/// Scope tokens chosen to include the substring traps.
const VOCAB: [&str; 8] = [
    "read", "read:all", "unread", "write", "a", "a:b", "admin", "Read",
];

fn vocab_token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&VOCAB[..])
}

/// Requirement trees up to three levels deep over [`VOCAB`], every set
/// and list non-empty (so every requirement can be met).
fn requirement() -> impl Strategy<Value = ScopeRequirement> {
    let leaf =
        (any::<bool>(), prop::collection::vec(vocab_token(), 1..4)).prop_map(|(is_all, tokens)| {
            let s = ScopeSet::from_tokens(tokens).unwrap();
            if is_all {
                ScopeRequirement::All(s)
            } else {
                ScopeRequirement::Any(s)
            }
        });
    leaf.prop_recursive(3, 24, 3, |inner| {
        (any::<bool>(), prop::collection::vec(inner, 1..4)).prop_map(|(is_and, parts)| {
            if is_and {
                ScopeRequirement::AllOf(parts)
            } else {
                ScopeRequirement::AnyOf(parts)
            }
        })
    })
}

/// Granted scopes as a raw space-delimited string with runs of 1 to 3
/// spaces, and leading or trailing spaces.
fn granted_string() -> impl Strategy<Value = String> {
    prop::collection::vec((vocab_token(), 1usize..4), 0..6).prop_flat_map(|parts| {
        (Just(parts), 0usize..3, 0usize..3).prop_map(|(parts, lead, trail)| {
            let mut s = " ".repeat(lead);
            for (i, (t, gap)) in parts.iter().enumerate() {
                if i > 0 {
                    s.push_str(&" ".repeat(*gap));
                }
                s.push_str(t);
            }
            s.push_str(&" ".repeat(trail));
            s
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn set_and_string_always_agree(req in requirement(), granted in granted_string()) {
        let parsed = ScopeSet::parse(&granted).unwrap();
        prop_assert_eq!(
            req.is_satisfied_by(&parsed),
            req.is_satisfied_by(granted.as_str())
        );
        // `check` agrees too, down to the missing set.
        let by_set = req.check(&parsed).map_err(|e| missing_of::<()>(Err(e)));
        let by_str = req.check(granted.as_str()).map_err(|e| missing_of::<()>(Err(e)));
        prop_assert_eq!(&by_set, &by_str);
        prop_assert_eq!(by_set.is_ok(), req.is_satisfied_by(&parsed));
        // The display form is an equivalent string as well.
        prop_assert_eq!(
            req.is_satisfied_by(parsed.to_string().as_str()),
            req.is_satisfied_by(&parsed)
        );
    }

    #[test]
    fn granting_the_missing_set_satisfies(req in requirement(), granted in granted_string()) {
        if let Err(Error::InsufficientScope { missing }) = req.check(granted.as_str()) {
            prop_assert!(!missing.is_empty());
            let more = format!("{granted} {missing}");
            prop_assert!(req.is_satisfied_by(more.as_str()), "granted {:?} + missing {:?}", granted, missing.to_string());
            // Every reported scope is one that was not granted.
            let have = ScopeSet::parse(&granted).unwrap();
            prop_assert!(missing.iter().all(|t| !have.contains(t)));
        }
    }
}

// ---------------------------------------------------------------------------
// Empty requirements
// ---------------------------------------------------------------------------

#[test]
fn empty_scope_requirements_are_refused() {
    // `all("")` would be met by everything and `any("")` by nothing: a
    // requirement that names no scope is a mistake, refused when built.
    for empty in ["", " ", "   "] {
        for made in [ScopeRequirement::all(empty), ScopeRequirement::any(empty)] {
            let err = made.unwrap_err();
            assert!(err.is_configuration(), "{empty:?}: {err:?}");
        }
    }
    // Built from the variants, an empty requirement fails closed: never
    // met, whatever was granted, and never satisfiable.
    for empty in [
        ScopeRequirement::All(ScopeSet::new()),
        ScopeRequirement::Any(ScopeSet::new()),
        ScopeRequirement::AllOf(Vec::new()),
        ScopeRequirement::AnyOf(Vec::new()),
    ] {
        assert!(!empty.is_satisfied_by("admin orders:read"), "{empty:?}");
        assert!(!empty.is_satisfied_by(""), "{empty:?}");
        assert!(empty.check("admin").is_err(), "{empty:?}");
        assert!(!empty.is_satisfiable(), "{empty:?}");
        // Nested, it fails its branch.
        assert!(!all_of("a").and(empty.clone()).is_satisfied_by("a"));
        assert!(all_of("a").or(empty.clone()).is_satisfied_by("a"));
    }
    // Through a validator: refused, not waved through.
    let env = Env::new();
    let v = env.validator();
    let token = env.token(Some("orders:read"));
    assert!(
        v.validate_for(&token, &ScopeRequirement::All(ScopeSet::new()))
            .is_err()
    );
}

// ---------------------------------------------------------------------------
// Scopes in the shapes providers send them
// ---------------------------------------------------------------------------

impl Env {
    /// A valid token whose claims are `iss`, `sub`, `aud`, `exp` and the
    /// members of `extra` (a JSON object's members, without braces).
    fn raw(&self, extra: &str) -> String {
        let json = format!(
            r#"{{"iss":"{ISS}","sub":"user-1","aud":"{AUD}","exp":{},{extra}}}"#,
            NOW + 600
        );
        jws::sign(json.as_bytes(), &self.key, Some("JWT")).unwrap()
    }
}

/// The claim a `malformed` error names; panics on anything else.
fn malformed_claim<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Malformed(Malformed::Claim(name))) => name.into_owned(),
        other => panic!("expected a malformed claim, got {other:?}"),
    }
}

#[test]
fn scope_as_a_space_delimited_string() {
    let env = Env::new();
    let v = env.validator();
    let token = env.raw(r#""scope":"orders:read  orders:write""#);
    let verified = v
        .validate_for(&token, &all_of("orders:write orders:read"))
        .unwrap();
    assert_eq!(
        verified.claims().scopes().collect::<Vec<_>>(),
        ["orders:read", "orders:write"]
    );
    // Rejected twin: a scope the string does not hold, and a string that
    // holds it only as a substring.
    assert_eq!(
        missing_of(v.validate_for(&token, &all_of("orders:refund"))),
        "orders:refund"
    );
    let token = env.raw(r#""scope":"orders:read:all""#);
    assert_eq!(
        missing_of(v.validate_for(&token, &all_of("orders:read"))),
        "orders:read"
    );
}

#[test]
fn scope_as_an_array_of_strings() {
    let env = Env::new();
    let v = env.validator();
    let token = env.raw(r#""scope":["orders:read","orders:write"]"#);
    let verified = v
        .validate_for(&token, &all_of("orders:read orders:write"))
        .unwrap();
    assert_eq!(
        verified.claims().scope.as_deref(),
        Some("orders:read orders:write")
    );
    verified.require(&one_of("orders:write")).unwrap();
    // Rejected twins: a scope the array lacks; an array of other types; an
    // element that would read as two scopes once joined.
    assert_eq!(
        missing_of(v.validate_for(&token, &all_of("admin"))),
        "admin"
    );
    for bad in [
        r#""scope":["orders:read",1]"#,
        r#""scope":["orders:read",{"admin":true}]"#,
        r#""scope":["orders:read",["admin"]]"#,
        r#""scope":["orders:read",null]"#,
        r#""scope":["orders:read admin"]"#,
        r#""scope":[""]"#,
        r#""scope":7"#,
        r#""scope":{"admin":true}"#,
    ] {
        let token = env.raw(bad);
        assert_eq!(malformed_claim(v.validate(&token)), "scope", "{bad}");
    }
}

#[test]
fn scp_claim_as_a_string() {
    let env = Env::new();
    let v = env.validator_builder().scope_claim("scp").build().unwrap();
    assert_eq!(v.scope_claim(), "scp");
    let token = env.raw(r#""scp":"orders:read orders:write""#);
    v.validate_for(&token, &all_of("orders:read orders:write"))
        .unwrap();
    // Rejected twins: a scope `scp` lacks; `scp` of the wrong type, named
    // in the error; and a validator still reading `scope` grants nothing
    // from `scp`.
    assert_eq!(
        missing_of(v.validate_for(&token, &all_of("admin"))),
        "admin"
    );
    for bad in [r#""scp":42"#, r#""scp":{"admin":true}"#, r#""scp":null"#] {
        assert_eq!(malformed_claim(v.validate(&env.raw(bad))), "scp", "{bad}");
    }
    assert_eq!(
        missing_of(env.validator().validate_for(&token, &all_of("orders:read"))),
        "orders:read"
    );
}

#[test]
fn scp_claim_as_an_array_of_strings() {
    let env = Env::new();
    let v = env
        .validator_builder()
        .scope_claim("scp")
        .require_scopes(all_of("api:use"))
        .build()
        .unwrap();
    let token = env.raw(r#""scp":["api:use","orders:read"]"#);
    let verified = v.validate_for(&token, &all_of("orders:read")).unwrap();
    assert_eq!(
        verified.claims().scope.as_deref(),
        Some("api:use orders:read")
    );
    // Rejected twins: the validator-wide requirement unmet; an element of
    // another type, named `scp`.
    let token = env.raw(r#""scp":["orders:read"]"#);
    assert_eq!(missing_of(v.validate(&token)), "api:use");
    for bad in [
        r#""scp":["api:use",1]"#,
        r#""scp":["api:use",{}]"#,
        r#""scp":["api:use orders:read"]"#,
    ] {
        assert_eq!(malformed_claim(v.validate(&env.raw(bad))), "scp", "{bad}");
    }
}

#[test]
fn with_scp_named_the_scope_member_grants_nothing() {
    let env = Env::new();
    let v = env.validator_builder().scope_claim("scp").build().unwrap();
    // The token carries both: only `scp` counts, and `scope` is not read
    // (not even its type).
    let token = env.raw(r#""scope":"admin","scp":"orders:read""#);
    v.validate_for(&token, &all_of("orders:read")).unwrap();
    assert_eq!(
        missing_of(v.validate_for(&token, &all_of("admin"))),
        "admin"
    );
    let token = env.raw(r#""scope":7,"scp":"orders:read""#);
    v.validate(&token).unwrap();
    // Twin: without `scp`, no scopes at all.
    let token = env.raw(r#""scope":"orders:read""#);
    assert_eq!(
        missing_of(v.validate_for(&token, &all_of("orders:read"))),
        "orders:read"
    );
}

#[test]
fn a_required_scope_claim_is_the_named_one() {
    let env = Env::new();
    let v = env
        .validator_builder()
        .scope_claim("scp")
        .require(Claim::Scope)
        .build()
        .unwrap();
    v.validate(&env.raw(r#""scp":[]"#)).unwrap();
    match v.validate(&env.raw(r#""scope":"a""#)) {
        Err(Error::MissingClaim(name)) => assert_eq!(name, "scp"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn scope_claim_refuses_registered_and_empty_names() {
    let env = Env::new();
    for bad in ["", "sub", "aud", "iss", "exp", "jti", "client_id", "sid"] {
        let e = env
            .validator_builder()
            .scope_claim(bad)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidConfiguration, "{bad:?}");
    }
    assert!(env.validator_builder().scope_claim("scope").build().is_ok());
    assert!(env.validator_builder().scope_claim("roles").build().is_ok());
}

#[test]
fn scp_array_through_the_authenticator() {
    let env = Env::new();
    let door = Authenticator::builder()
        .access_tokens(env.validator_builder().scope_claim("scp").build().unwrap())
        .build()
        .unwrap();
    let header = format!("Bearer {}", env.raw(r#""scp":["orders:read","profile"]"#));
    let caller = door
        .authenticate_for(Some(&header), &all_of("orders:read"))
        .unwrap();
    assert_eq!(*caller.scopes(), set("orders:read profile"));
    // Twin: a scope it lacks is 403 naming it; a mistyped `scp` is 401.
    let denied = door
        .authenticate_for(Some(&header), &all_of("orders:write"))
        .unwrap_err();
    assert_eq!(denied.bearer_error(), BearerError::InsufficientScope);
    let header = format!("Bearer {}", env.raw(r#""scp":["orders:read",2]"#));
    let denied = door.authenticate(Some(&header)).unwrap_err();
    assert_eq!(denied.bearer_error(), BearerError::InvalidToken);
    assert_eq!(
        denied.cause().unwrap().to_string(),
        "malformed token: invalid claim `scp`"
    );
}

#[test]
fn insufficient_scope_names_the_missing_scopes_in_its_message() {
    let env = Env::new();
    let v = env.validator();
    let token = env.token(Some("orders:read granted:MARKER"));
    let err = v
        .validate_for(&token, &all_of("orders:read orders:write orders:refund"))
        .unwrap_err();
    // The scopes come from the requirement (configuration), never from
    // the token: what it was granted is not repeated.
    assert_eq!(
        err.to_string(),
        "insufficient scope: missing `orders:refund orders:write`"
    );
    assert!(!format!("{err} {err:?}").contains("MARKER"));
    let err = all_of("admin")
        .and(one_of("x y"))
        .check("admin")
        .unwrap_err();
    assert_eq!(err.to_string(), "insufficient scope: missing `x y`");
    // Twin: met, no error at all.
    v.validate_for(&token, &all_of("orders:read")).unwrap();
    // At the front door the cause says the same, for the logs.
    let door = Authenticator::builder().access_tokens(v).build().unwrap();
    let denied = door
        .authenticate_for(Some(&format!("Bearer {token}")), &all_of("orders:write"))
        .unwrap_err();
    assert_eq!(
        denied.to_string(),
        "insufficient scope: missing `orders:write`"
    );
}
