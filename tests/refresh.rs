//! Refresh tokens end to end through the public API: login and rotation
//! chains, reuse detection that revokes the whole family (refresh tokens
//! and, through a shared [`RevocationList`], its access tokens), logout,
//! the idle timeout and absolute lifetime at their exact boundaries, racing
//! rotations of one token, malformed / unknown / forged tokens, a failing
//! [`RefreshStore`], redacted `Debug` output and the token format.
//!
//! Time is pinned with a shared [`FixedClock`]. Checksums of forged tokens
//! come from `tokengate::testing` (which computes them independently of the
//! library's checksum code), and digests from `ring::digest`, so the tests
//! do not trust the library's own helpers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use time::Duration;
use tokengate::RevocationStore;
use tokengate::refresh::{RotateOutcome, RotateRequest};
use tokengate::testing::{BASE62, T0, checksum, clock, forge};
use tokengate::time::OffsetDateTime;
use tokengate::{
    Algorithm, Error, ErrorKind, FixedClock, Grant, InMemoryRefreshStore, KeyRing, RefreshRecord,
    RefreshStore, RefreshTokens, RefreshTokensBuilder, RevocationList, ScopeSet, SigningKey,
    TokenBuilder, TokenPair, Validator, Verified,
};

const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";
const IDLE: i64 = 3_600;
const ABSOLUTE: i64 = 3 * 3_600;
const ACCESS: i64 = 300;

const LEAD: &str = "rt_";
const ID_LEN: usize = 12;
const SECRET_LEN: usize = 43;
const CHECK_LEN: usize = 6;
const TOKEN_LEN: usize = 3 + ID_LEN + SECRET_LEN + CHECK_LEN;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// A [`RefreshStore`] in front of the in-memory one whose operations can be
/// made to fail one by one, and which counts `rotate` calls.
#[derive(Debug, Default)]
struct Flaky {
    inner: InMemoryRefreshStore,
    fail_get: AtomicBool,
    fail_insert: AtomicBool,
    fail_rotate: AtomicBool,
    fail_revoke: AtomicBool,
    fail_is_revoked: AtomicBool,
    rotations: AtomicUsize,
    /// The next `get` returns a record whose claims repeat `sub`, so
    /// minting the new access token fails after the token was read.
    unsignable_next_get: AtomicBool,
    /// The next `rotate` commits, then answers with an error (a timeout
    /// after the write).
    lose_rotate_answer: AtomicBool,
}

fn at(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

fn down() -> Error {
    Error::store(std::io::Error::other("refresh store unavailable"))
}

impl Flaky {
    fn fail(flag: &AtomicBool) -> Result<(), Error> {
        if flag.load(Ordering::SeqCst) {
            Err(down())
        } else {
            Ok(())
        }
    }

    fn heal(&self) {
        for f in [
            &self.fail_get,
            &self.fail_insert,
            &self.fail_rotate,
            &self.fail_revoke,
            &self.fail_is_revoked,
        ] {
            f.store(false, Ordering::SeqCst);
        }
    }
}

impl RefreshStore for Flaky {
    fn get(&self, id: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        Self::fail(&self.fail_get)?;
        let found = self.inner.get(id)?;
        if self.unsignable_next_get.swap(false, Ordering::SeqCst) {
            return Ok(found.map(|r| {
                let mut r = (*r).clone();
                r.claims.insert("sub".into(), "mallory".into());
                Arc::new(r)
            }));
        }
        Ok(found)
    }
    fn insert(&self, record: RefreshRecord) -> Result<(), Error> {
        Self::fail(&self.fail_insert)?;
        self.inner.insert(record)
    }
    fn rotate(&self, request: &RotateRequest) -> Result<RotateOutcome, Error> {
        self.rotations.fetch_add(1, Ordering::SeqCst);
        Self::fail(&self.fail_rotate)?;
        let outcome = self.inner.rotate(request)?;
        if self.lose_rotate_answer.swap(false, Ordering::SeqCst) {
            return Err(down());
        }
        Ok(outcome)
    }
    fn revoke_family(&self, family_id: &str, at: OffsetDateTime) -> Result<(), Error> {
        Self::fail(&self.fail_revoke)?;
        self.inner.revoke_family(family_id, at)
    }
    fn is_family_revoked(&self, family_id: &str) -> Result<bool, Error> {
        Self::fail(&self.fail_is_revoked)?;
        self.inner.is_family_revoked(family_id)
    }
}

/// An authorization server (refresh tokens) and an API (validator) sharing
/// keys, a clock and a revocation list.
struct Env {
    clock: Arc<FixedClock>,
    ring: Arc<KeyRing>,
    list: Arc<RevocationList>,
    store: Arc<Flaky>,
    tokens: RefreshTokens,
    validator: Validator,
}

/// Reuse is detected at once: no grace window (tests of the window build
/// their own with [`env_with_grace`]).
fn env() -> Env {
    env_with_grace(Duration::ZERO)
}

fn env_with_grace(grace: Duration) -> Env {
    let clock = clock();
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::EdDSA).unwrap(),
        clock.clone(),
    ));
    let list = Arc::new(RevocationList::new());
    let store = Arc::new(Flaky::default());
    let tokens = builder(&clock, &ring, &list, store.clone())
        .reuse_grace(grace)
        .build()
        .unwrap();
    let validator = tokens
        .validator_builder()
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    Env {
        clock,
        ring,
        list,
        store,
        tokens,
        validator,
    }
}

fn builder(
    clock: &Arc<FixedClock>,
    ring: &Arc<KeyRing>,
    list: &Arc<RevocationList>,
    store: Arc<dyn RefreshStore>,
) -> RefreshTokensBuilder {
    RefreshTokens::builder(
        store,
        ring.clone(),
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .revocation(list.clone())
    .idle_timeout(Duration::seconds(IDLE))
    .absolute_lifetime(Duration::seconds(ABSOLUTE))
    .access_token_lifetime(Duration::seconds(ACCESS))
    .reuse_grace(Duration::ZERO)
    .clock(clock.clone())
}

impl Env {
    fn login(&self, sub: &str) -> TokenPair {
        self.tokens.login(Grant::new(sub)).unwrap()
    }

    fn refresh(&self, pair: &TokenPair) -> TokenPair {
        self.tokens
            .refresh(pair.refresh_token.expose_secret(), None)
            .unwrap()
    }

    /// The kind name of refreshing `token`: `"ok"` or the error kind.
    fn refresh_verdict(&self, token: &str) -> &'static str {
        match self.tokens.refresh(token, None) {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        }
    }

    fn access(&self, token: &str) -> Result<Verified, Error> {
        self.validator.validate(token)
    }

    fn access_verdict(&self, token: &str) -> &'static str {
        match self.access(token) {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        }
    }
}

fn id_part(token: &str) -> &str {
    &token[LEAD.len()..LEAD.len() + ID_LEN]
}

fn secret_part(token: &str) -> &str {
    &token[LEAD.len() + ID_LEN..LEAD.len() + ID_LEN + SECRET_LEN]
}

fn sha256(data: &str) -> [u8; 32] {
    ring::digest::digest(&ring::digest::SHA256, data.as_bytes())
        .as_ref()
        .try_into()
        .unwrap()
}

// ---------------------------------------------------------------------------
// Login and rotation
// ---------------------------------------------------------------------------

#[test]
fn login_then_a_chain_of_refreshes() {
    let e = env();
    let grant = Grant::new("alice")
        .client_id("mobile-app")
        .scopes(ScopeSet::parse("orders:read profile").unwrap());
    let first = e.tokens.login(grant).unwrap();
    assert_eq!(first.expires_in, ACCESS);

    let v = e.access(&first.access_token).unwrap();
    let c = v.claims();
    assert_eq!(c.subject.as_deref(), Some("alice"));
    assert_eq!(c.session_id.as_deref(), Some(first.family_id.as_str()));
    assert_eq!(c.client_id.as_deref(), Some("mobile-app"));
    assert_eq!(c.scope.as_deref(), Some("orders:read profile"));
    assert_eq!(c.issuer.as_deref(), Some(ISS));
    assert_eq!(c.issued_at, Some(T0));
    assert_eq!(c.expires_at, Some(T0 + ACCESS));

    let mut refresh_tokens: HashSet<String> = HashSet::new();
    let mut access_tokens: HashSet<String> = HashSet::new();
    let mut jtis: HashSet<String> = HashSet::new();
    refresh_tokens.insert(first.refresh_token.expose_secret().to_owned());
    access_tokens.insert(first.access_token.clone());
    jtis.insert(c.jwt_id.clone().unwrap().to_string());

    let mut pair = first;
    for step in 1..=6i64 {
        e.clock.advance(30);
        let next = e
            .tokens
            .refresh(pair.refresh_token.expose_secret(), Some("mobile-app"))
            .unwrap();
        // A new refresh token and a new access token, same family.
        assert!(refresh_tokens.insert(next.refresh_token.expose_secret().to_owned()));
        assert!(access_tokens.insert(next.access_token.clone()));
        assert_ne!(next.refresh_token.id(), pair.refresh_token.id());
        assert_eq!(next.family_id, pair.family_id);
        assert_eq!(next.expires_in, ACCESS);
        let v = e.access(&next.access_token).unwrap();
        let c = v.claims();
        assert_eq!(c.session_id.as_deref(), Some(next.family_id.as_str()));
        assert_eq!(c.subject.as_deref(), Some("alice"));
        assert_eq!(c.client_id.as_deref(), Some("mobile-app"));
        assert_eq!(c.scope.as_deref(), Some("orders:read profile"));
        assert_eq!(c.issued_at, Some(T0 + 30 * step));
        assert_eq!(c.expires_at, Some(T0 + 30 * step + ACCESS));
        assert!(jtis.insert(c.jwt_id.clone().unwrap().to_string()));

        // The store links each token to its parent.
        let rec = e.store.get(next.refresh_token.id()).unwrap().unwrap();
        assert_eq!(rec.parent.as_deref(), Some(pair.refresh_token.id()));
        assert_eq!(rec.family_id, next.family_id);
        assert_eq!(rec.issued_at, at(T0 + 30 * step));
        assert_eq!(rec.family_started_at, at(T0));
        assert_eq!(rec.used_at, None);
        let used = e.store.get(pair.refresh_token.id()).unwrap().unwrap();
        assert_eq!(used.used_at, Some(at(T0 + 30 * step)));
        pair = next;
    }
    // Rotation does not revoke earlier access tokens: they simply expire.
    for t in &access_tokens {
        assert_eq!(e.access_verdict(t), "ok");
    }
    assert_eq!(e.store.inner.len(), 7);
}

#[test]
fn the_store_keeps_a_digest_never_the_secret() {
    let e = env();
    let pair = e.login("alice");
    let token = pair.refresh_token.expose_secret();
    let rec = e.store.get(pair.refresh_token.id()).unwrap().unwrap();
    assert_eq!(rec.id, id_part(token));
    // SHA-256 of the prefix, id and secret: everything before the checksum.
    assert_eq!(
        rec.secret_digest.as_bytes(),
        &sha256(&token[..TOKEN_LEN - CHECK_LEN])
    );
    assert_ne!(rec.secret_digest.as_bytes(), &sha256(secret_part(token)));
    assert_eq!(rec.subject, "alice");
    assert_eq!(rec.parent, None);
    let shown = format!("{rec:?} {}", serde_json::to_string(&*rec).unwrap());
    assert!(!shown.contains(secret_part(token)));
}

#[test]
fn families_are_independent() {
    let e = env();
    let a = e.login("alice");
    let b = e.login("alice");
    assert_ne!(a.family_id, b.family_id);
    let a2 = e.refresh(&a);
    assert_eq!(
        e.refresh_verdict(a.refresh_token.expose_secret()),
        "refresh_token_reused"
    );
    // Family b: untouched, both ways.
    assert_eq!(e.access_verdict(&b.access_token), "ok");
    let b2 = e.refresh(&b);
    assert_eq!(e.access_verdict(&b2.access_token), "ok");
    assert_eq!(e.access_verdict(&a2.access_token), "revoked");
}

// ---------------------------------------------------------------------------
// Reuse detection
// ---------------------------------------------------------------------------

#[test]
fn replaying_a_used_token_revokes_the_whole_family() {
    let e = env();
    let other = e.login("alice");
    let p1 = e.login("alice");
    let p2 = e.refresh(&p1);
    let p3 = e.refresh(&p2);
    for p in [&p1, &p2, &p3] {
        assert_eq!(e.access_verdict(&p.access_token), "ok");
    }

    // The attacker (or the victim) replays the first token.
    let err = e
        .tokens
        .refresh(p1.refresh_token.expose_secret(), None)
        .unwrap_err();
    assert!(matches!(err, Error::RefreshTokenReused));
    assert_eq!(err.kind().as_str(), "refresh_token_reused");
    assert!(err.is_rejection());

    // Every refresh token of the family is dead, the used ones and the live one.
    for p in [&p1, &p2, &p3] {
        assert_eq!(
            e.refresh_verdict(p.refresh_token.expose_secret()),
            "revoked"
        );
    }
    // Every access token of the family is revoked through the shared list.
    for p in [&p1, &p2, &p3] {
        assert_eq!(e.access_verdict(&p.access_token), "revoked");
    }
    assert!(e.store.is_family_revoked(&p1.family_id).unwrap());
    assert!(
        e.tokens
            .inspect(p3.refresh_token.expose_secret())
            .unwrap()
            .is_none()
    );

    // The other family of the same subject is unaffected.
    assert!(!e.store.is_family_revoked(&other.family_id).unwrap());
    assert_eq!(e.access_verdict(&other.access_token), "ok");
    let other2 = e.refresh(&other);
    assert_eq!(e.access_verdict(&other2.access_token), "ok");
}

#[test]
fn a_refresh_may_narrow_the_access_token_s_scopes_but_never_widen_them() {
    let e = env();
    let grant =
        Grant::new("alice").scopes(ScopeSet::parse("orders:read orders:write profile").unwrap());
    let p1 = e.tokens.login(grant).unwrap();
    let scopes = |token: &str| e.access(token).unwrap().claims().scope.clone();

    // RFC 6749 §6: a narrower scope for this access token only.
    let p2 = e
        .tokens
        .refresh_with_scope(p1.refresh_token.expose_secret(), None, Some("orders:read"))
        .unwrap();
    assert_eq!(scopes(&p2.access_token).as_deref(), Some("orders:read"));
    // The family keeps its scopes: the next refresh, asking nothing, gets
    // all of them.
    let p3 = e.refresh(&p2);
    assert_eq!(
        scopes(&p3.access_token).as_deref(),
        Some("orders:read orders:write profile")
    );

    // Wider than the family: refused, naming what it lacks, and the token
    // stays redeemable.
    let wider = "orders:read admin";
    let err = e
        .tokens
        .refresh_with_scope(p3.refresh_token.expose_secret(), None, Some(wider))
        .unwrap_err();
    match &err {
        Error::InsufficientScope { missing } => assert_eq!(missing.to_string(), "admin"),
        other => panic!("{other:?}"),
    }
    // Not a scope at all (RFC 6749 §3.3 excludes `"`, and a scope has at
    // least one token): invalid_scope, and still nothing changes; an
    // access token with no scope is never minted.
    for bad in ["bad\"scope", "", " ", "   "] {
        let err = e
            .tokens
            .refresh_with_scope(p3.refresh_token.expose_secret(), None, Some(bad))
            .unwrap_err();
        assert!(matches!(err, Error::InvalidScope), "{bad:?}: {err:?}");
    }
    let p4 = e.refresh(&p3);
    assert_eq!(e.access_verdict(&p4.access_token), "ok");

    // A reused token revokes its family whatever scope it asks for.
    let err = e
        .tokens
        .refresh_with_scope(p1.refresh_token.expose_secret(), None, Some(wider))
        .unwrap_err();
    assert!(matches!(err, Error::RefreshTokenReused), "{err:?}");
    assert_eq!(e.access_verdict(&p4.access_token), "revoked");
}

#[test]
fn a_used_token_asking_for_a_scope_it_lacks_inside_the_grace_window_is_reuse() {
    // Inside the grace window a used token is taken for a retry of a lost
    // response, which asks for what was granted. Asking for more (or for
    // something that is not a scope) is no retry: the family is revoked,
    // as any reuse.
    for scope in [None, Some("admin"), Some("bad\"scope"), Some(" ")] {
        let e = env_with_grace(Duration::seconds(5));
        let grant = Grant::new("alice").scopes(ScopeSet::parse("orders:read").unwrap());
        let p1 = e.tokens.login(grant).unwrap();
        let p2 = e.refresh(&p1);
        let p3 = e.refresh(&p2);
        let err = e
            .tokens
            .refresh_with_scope(p1.refresh_token.expose_secret(), None, scope)
            .unwrap_err();
        assert!(
            matches!(err, Error::RefreshTokenReused),
            "{scope:?}: {err:?}"
        );
        assert_eq!(e.access_verdict(&p3.access_token), "revoked", "{scope:?}");
        assert_eq!(
            e.refresh_verdict(p3.refresh_token.expose_secret()),
            "revoked",
            "{scope:?}"
        );
    }
    // A true retry inside the window, asking for a granted scope, still
    // gets the successor's tokens.
    let e = env_with_grace(Duration::seconds(5));
    let grant = Grant::new("alice").scopes(ScopeSet::parse("orders:read").unwrap());
    let p1 = e.tokens.login(grant).unwrap();
    let _lost = e
        .tokens
        .refresh_with_scope(p1.refresh_token.expose_secret(), None, Some("orders:read"))
        .unwrap();
    let retry = e
        .tokens
        .refresh_with_scope(p1.refresh_token.expose_secret(), None, Some("orders:read"))
        .unwrap();
    assert_eq!(e.access_verdict(&retry.access_token), "ok");
}

#[test]
fn replaying_the_latest_used_token_also_counts() {
    let e = env();
    let p1 = e.login("bob");
    let p2 = e.refresh(&p1);
    // p2 is used once legitimately...
    let p3 = e.refresh(&p2);
    // ...and presented again.
    assert_eq!(
        e.refresh_verdict(p2.refresh_token.expose_secret()),
        "refresh_token_reused"
    );
    assert_eq!(
        e.refresh_verdict(p3.refresh_token.expose_secret()),
        "revoked"
    );
    assert_eq!(e.access_verdict(&p3.access_token), "revoked");
}

#[test]
fn racing_rotations_have_exactly_one_winner() {
    const THREADS: usize = 16;
    const ROUNDS: usize = 20;
    let e = env();
    for round in 0..ROUNDS {
        let pair = e.login(&format!("racer-{round}"));
        let token = pair.refresh_token.expose_secret().to_owned();
        let barrier = Barrier::new(THREADS);
        let results: Vec<Result<TokenPair, Error>> = thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(|| {
                        barrier.wait();
                        e.tokens.refresh(&token, None)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let winners: Vec<&TokenPair> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}");
        let mut reused = 0;
        for err in results.iter().filter_map(|r| r.as_ref().err()) {
            match err.kind() {
                ErrorKind::RefreshTokenReused => reused += 1,
                ErrorKind::Revoked => {}
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        // Somebody saw the reuse, so the family is revoked, the winner's
        // fresh tokens included.
        assert!(reused >= 1, "round {round}");
        let winner = winners[0];
        assert_eq!(winner.family_id, pair.family_id);
        assert_eq!(
            e.refresh_verdict(winner.refresh_token.expose_secret()),
            "revoked"
        );
        assert_eq!(e.access_verdict(&winner.access_token), "revoked");
        assert_eq!(e.access_verdict(&pair.access_token), "revoked");
    }
}

// ---------------------------------------------------------------------------
// Logout
// ---------------------------------------------------------------------------

#[test]
fn after_logout_every_token_of_the_family_is_revoked() {
    let e = env();
    let p1 = e.login("carol");
    let p2 = e.refresh(&p1);
    let other = e.login("carol");
    e.tokens
        .revoke(p2.refresh_token.expose_secret(), None)
        .unwrap();
    assert_eq!(
        e.refresh_verdict(p2.refresh_token.expose_secret()),
        "revoked"
    );
    assert_eq!(
        e.refresh_verdict(p1.refresh_token.expose_secret()),
        "revoked"
    );
    assert_eq!(e.access_verdict(&p1.access_token), "revoked");
    assert_eq!(e.access_verdict(&p2.access_token), "revoked");
    assert_eq!(e.access_verdict(&other.access_token), "ok");
    assert_eq!(e.refresh_verdict(other.refresh_token.expose_secret()), "ok");
    // Revoking again, or revoking junk, is not an error (RFC 7009).
    e.tokens
        .revoke(p2.refresh_token.expose_secret(), None)
        .unwrap();
    e.tokens.revoke("garbage", None).unwrap();
    e.tokens.revoke("", None).unwrap();
}

#[test]
fn logout_with_an_already_used_token_revokes_the_family() {
    let e = env();
    let p1 = e.login("dan");
    let p2 = e.refresh(&p1);
    e.tokens
        .revoke(p1.refresh_token.expose_secret(), None)
        .unwrap();
    assert_eq!(
        e.refresh_verdict(p2.refresh_token.expose_secret()),
        "revoked"
    );
    assert_eq!(e.access_verdict(&p2.access_token), "revoked");
}

#[test]
fn revoke_session_by_family_id() {
    let e = env();
    let p = e.login("erin");
    let other = e.login("erin");
    e.tokens.revoke_session(&p.family_id).unwrap();
    assert_eq!(
        e.refresh_verdict(p.refresh_token.expose_secret()),
        "revoked"
    );
    assert_eq!(e.access_verdict(&p.access_token), "revoked");
    assert_eq!(e.access_verdict(&other.access_token), "ok");
    // An unknown family id is not an error.
    e.tokens.revoke_session("no-such-family").unwrap();
}

// ---------------------------------------------------------------------------
// Lifetimes
// ---------------------------------------------------------------------------

#[test]
fn idle_timeout_boundary() {
    let e = env();
    let early = e.login("frank");
    let late = e.login("frank");
    // A second before the idle timeout: still usable.
    e.clock.set_unix(T0 + IDLE - 1);
    assert!(
        e.tokens
            .inspect(late.refresh_token.expose_secret())
            .unwrap()
            .is_some()
    );
    let next = e.refresh(&early);
    // At the idle timeout: expired, with the instant named.
    e.clock.set_unix(T0 + IDLE);
    let err = e
        .tokens
        .refresh(late.refresh_token.expose_secret(), None)
        .unwrap_err();
    assert!(
        matches!(err, Error::Expired { exp, now } if exp == T0 + IDLE && now == T0 + IDLE),
        "{err:?}"
    );
    assert!(
        e.tokens
            .inspect(late.refresh_token.expose_secret())
            .unwrap()
            .is_none()
    );
    // The expired attempt consumed nothing and revoked nothing: it stays
    // expired, and is not reported as reuse.
    assert_eq!(
        e.refresh_verdict(late.refresh_token.expose_secret()),
        "expired"
    );
    assert!(!e.store.is_family_revoked(&late.family_id).unwrap());
    // The rotated token's idle clock started when it was issued.
    e.clock.set_unix(T0 + IDLE - 1 + IDLE - 1);
    let next = e.refresh(&next);
    e.clock.set_unix(T0 + IDLE - 1 + IDLE - 1 + IDLE);
    assert_eq!(
        e.refresh_verdict(next.refresh_token.expose_secret()),
        "expired"
    );
}

#[test]
fn absolute_lifetime_boundary() {
    let e = env();
    let mut a = e.login("gina");
    let mut b = e.login("gina");
    // Keep both families active every half hour, well inside the idle timeout.
    let mut t = T0;
    while t + 1_800 < T0 + ABSOLUTE {
        t += 1_800;
        e.clock.set_unix(t);
        a = e.refresh(&a);
        b = e.refresh(&b);
    }
    // A second before the family's end: usable, though its idle clock has
    // most of an hour left.
    e.clock.set_unix(T0 + ABSOLUTE - 1);
    let a2 = e.refresh(&a);
    assert_eq!(e.access_verdict(&a2.access_token), "ok");
    // At the end: expired, with the family's end as `exp`.
    e.clock.set_unix(T0 + ABSOLUTE);
    for token in [
        a2.refresh_token.expose_secret(),
        b.refresh_token.expose_secret(),
    ] {
        let err = e.tokens.refresh(token, None).unwrap_err();
        assert!(
            matches!(err, Error::Expired { exp, .. } if exp == T0 + ABSOLUTE),
            "{err:?}"
        );
    }
    assert_eq!(
        e.tokens
            .expires_at(&e.store.get(b.refresh_token.id()).unwrap().unwrap()),
        at(T0 + ABSOLUTE)
    );
}

// ---------------------------------------------------------------------------
// Malformed, unknown and forged tokens
// ---------------------------------------------------------------------------

#[test]
fn malformed_tokens_are_refused_before_any_lookup() {
    let e = env();
    let pair = e.login("hank");
    let good = pair.refresh_token.expose_secret();
    let mut bad_checksum = good.to_owned();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == '0' { '1' } else { '0' });
    let cases = [
        String::new(),
        "garbage".to_owned(),
        good[..good.len() - 1].to_owned(),
        format!("{good}0"),
        good.replacen("rt_", "RT_", 1),
        good.replacen("rt_", "xx_", 1),
        format!(" {}", &good[1..]),
        good.replace(&good[20..21], "-"),
        bad_checksum,
        forge(
            e.tokens.format(),
            &"!".repeat(ID_LEN),
            &"a".repeat(SECRET_LEN),
        ),
        pair.access_token.clone(),
    ];
    for case in &cases {
        assert_eq!(e.refresh_verdict(case), "malformed", "{case:?}");
    }
    // None of them reached the store's rotate, and the real token works.
    assert_eq!(e.store.rotations.load(Ordering::SeqCst), 0);
    assert_eq!(e.refresh_verdict(good), "ok");
}

#[test]
fn unknown_and_wrong_secret_tokens() {
    let e = env();
    let p1 = e.login("ivy");
    let token = p1.refresh_token.expose_secret();

    // A well-formed token from another server's store: unknown.
    let elsewhere = env().login("ivy");
    assert_eq!(
        e.refresh_verdict(elsewhere.refresh_token.expose_secret()),
        "unknown_credential"
    );
    // A made-up id with a valid checksum: unknown.
    assert_eq!(
        e.refresh_verdict(&forge(
            e.tokens.format(),
            "AAAAAAAAAAAA",
            secret_part(token)
        )),
        "unknown_credential"
    );
    // The real id with another secret and a valid checksum: invalid_secret.
    let wrong = forge(
        e.tokens.format(),
        id_part(token),
        secret_part(elsewhere.refresh_token.expose_secret()),
    );
    assert_eq!(wrong.len(), TOKEN_LEN);
    assert_eq!(e.refresh_verdict(&wrong), "invalid_secret");
    // The same secret with one character changed.
    let mut s = secret_part(token).to_owned();
    let c = s.pop().unwrap();
    s.push(if c == 'a' { 'b' } else { 'a' });
    assert_eq!(
        e.refresh_verdict(&forge(e.tokens.format(), id_part(token), &s)),
        "invalid_secret"
    );
    // None of that consumed or revoked the real token.
    assert_eq!(e.store.rotations.load(Ordering::SeqCst), 0);
    let p2 = e.refresh(&p1);

    // Knowing a used token's id is not enough to trigger reuse detection
    // (which would let anyone log a victim out).
    assert_eq!(e.refresh_verdict(&wrong), "invalid_secret");
    assert!(!e.store.is_family_revoked(&p1.family_id).unwrap());
    assert_eq!(e.refresh_verdict(p2.refresh_token.expose_secret()), "ok");
    // Nor does revoking with a forged token log anyone out.
    let p3_family = p2.family_id.clone();
    e.tokens.revoke(&wrong, None).unwrap();
    assert!(!e.store.is_family_revoked(&p3_family).unwrap());
}

// ---------------------------------------------------------------------------
// A failing store
// ---------------------------------------------------------------------------

fn is_store_failure(r: Result<impl std::fmt::Debug, Error>) {
    match r {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::StoreFailure, "{e:?}");
            assert!(e.is_internal() && !e.is_rejection());
        }
        Ok(v) => panic!("expected store_failure, got {v:?}"),
    }
}

#[test]
fn a_failing_store_fails_closed_and_loses_nothing() {
    let e = env();
    let pair = e.login("jack");
    let token = pair.refresh_token.expose_secret();

    e.store.fail_insert.store(true, Ordering::SeqCst);
    is_store_failure(e.tokens.login(Grant::new("jack")));
    e.store.heal();

    for flag in [&e.store.fail_get, &e.store.fail_is_revoked] {
        flag.store(true, Ordering::SeqCst);
        // Logout and introspection surface the failure instead of
        // pretending the token was unknown.
        is_store_failure(e.tokens.revoke(token, None));
        is_store_failure(e.tokens.inspect(token));
        e.store.heal();
    }
    // A refresh reads the record; the family's state is checked inside
    // the atomic rotation, so only `get` and `rotate` failures reach it.
    e.store.fail_get.store(true, Ordering::SeqCst);
    is_store_failure(e.tokens.refresh(token, None));
    e.store.heal();
    e.store.fail_rotate.store(true, Ordering::SeqCst);
    is_store_failure(e.tokens.refresh(token, None));
    assert_eq!(e.store.rotations.load(Ordering::SeqCst), 1);
    e.store.heal();
    // The rotation (the store's one atomic write) failed, so nothing
    // changed: the token still works once the store is back.
    let next = e.refresh(&pair);

    // A reuse whose family revocation cannot be written is reported as the
    // store failure, not as a successful detection.
    e.store.fail_revoke.store(true, Ordering::SeqCst);
    is_store_failure(e.tokens.refresh(token, None));
    is_store_failure(e.tokens.revoke(next.refresh_token.expose_secret(), None));
    e.store.heal();
    assert_eq!(e.refresh_verdict(token), "refresh_token_reused");
    assert_eq!(
        e.refresh_verdict(next.refresh_token.expose_secret()),
        "revoked"
    );
}

#[test]
fn a_rotation_committed_before_its_answer_was_lost_hands_out_its_tokens() {
    let e = env();
    let pair = e.login("lena");
    e.store.lose_rotate_answer.store(true, Ordering::SeqCst);
    let next = e.refresh(&pair);
    // The tokens handed out are the committed successor's.
    assert_eq!(e.access_verdict(&next.access_token), "ok");
    let rec = e.store.get(pair.refresh_token.id()).unwrap().unwrap();
    assert_eq!(rec.successor.as_deref(), Some(next.refresh_token.id()));
    e.refresh(&next);
}

/// A revocation store in front of a list whose next session writes fail.
#[derive(Debug, Default)]
struct FlakyRevocations {
    inner: RevocationList,
    fail_sessions: AtomicBool,
}

impl tokengate::Revocation for FlakyRevocations {
    fn is_revoked(&self, q: &tokengate::RevocationQuery<'_>) -> Result<bool, Error> {
        self.inner.is_revoked(q)
    }
}

impl RevocationStore for FlakyRevocations {
    fn revoke_token(&self, jti: &str, exp: OffsetDateTime) -> Result<(), Error> {
        self.inner.revoke_token(jti, exp)
    }
    fn revoke_subject_before(&self, sub: &str, before: OffsetDateTime) -> Result<(), Error> {
        self.inner.revoke_subject_before(sub, before)
    }
    fn revoke_key(&self, kid: &str) -> Result<(), Error> {
        self.inner.revoke_key(kid)
    }
    fn revoke_session(&self, sid: &str, until: OffsetDateTime) -> Result<(), Error> {
        Flaky::fail(&self.fail_sessions)?;
        self.inner.revoke_session(sid, until)
    }
    fn changes_since(
        &self,
        cursor: &tokengate::ChangeCursor,
        limit: usize,
    ) -> Result<tokengate::ChangeFeed, Error> {
        self.inner.changes_since(cursor, limit)
    }
    fn snapshot(&self) -> Result<tokengate::Snapshot, Error> {
        self.inner.snapshot()
    }
}

#[test]
fn a_family_revocation_interrupted_between_its_writes_is_completed_by_the_retry() {
    let clock = clock();
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::EdDSA).unwrap(),
        clock.clone(),
    ));
    let revocations = Arc::new(FlakyRevocations::default());
    let tokens = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        ring,
        TokenBuilder::new().issuer(ISS).audience(AUD),
    )
    .revocation(revocations.clone())
    .reuse_grace(Duration::ZERO)
    .clock(clock.clone())
    .build()
    .unwrap();
    let validator = tokens
        .validator_builder()
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    let verdict = |t: &str| match validator.validate(t) {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    };
    for logout in [false, true] {
        let pair = tokens.login(Grant::new("mia")).unwrap();
        let token = pair.refresh_token.expose_secret();
        let next = tokens.refresh(token, None).unwrap();
        revocations.fail_sessions.store(true, Ordering::SeqCst);
        let first = if logout {
            tokens.revoke(next.refresh_token.expose_secret(), None)
        } else {
            tokens.refresh(token, None).map(|_| ())
        };
        assert_eq!(first.unwrap_err().kind(), ErrorKind::StoreFailure);
        revocations.fail_sessions.store(false, Ordering::SeqCst);
        // Nothing was reported done, and the retry finishes the job: the
        // access tokens are revoked, not only the refresh tokens.
        if logout {
            tokens
                .revoke(next.refresh_token.expose_secret(), None)
                .unwrap();
        } else {
            assert_eq!(
                tokens.refresh(token, None).unwrap_err().kind(),
                ErrorKind::RefreshTokenReused
            );
        }
        assert_eq!(verdict(&next.access_token), "revoked", "logout: {logout}");
    }
}

#[test]
fn a_failure_while_minting_leaves_the_presented_token_redeemable() {
    let e = env();
    let pair = e.login("nina");
    let token = pair.refresh_token.expose_secret();
    e.store.unsignable_next_get.store(true, Ordering::SeqCst);
    let err = e.tokens.refresh(token, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfiguration, "{err:?}");
    assert_eq!(
        e.store.rotations.load(Ordering::SeqCst),
        0,
        "nothing was written"
    );
    let rec = e.store.get(pair.refresh_token.id()).unwrap().unwrap();
    assert_eq!(rec.used_at, None);
    // The retry is a normal first use, not a reuse.
    let next = e.refresh(&pair);
    assert_eq!(e.access_verdict(&next.access_token), "ok");
    assert_eq!(e.access_verdict(&pair.access_token), "ok");
}

// ---------------------------------------------------------------------------
// The reuse grace window
// ---------------------------------------------------------------------------

#[test]
fn a_retry_within_the_grace_window_does_not_revoke_the_family() {
    let e = env_with_grace(Duration::seconds(10));
    let pair = e.tokens.login(Grant::new("olga").client_id("app")).unwrap();
    let token = pair.refresh_token.expose_secret();
    let lost = e.tokens.refresh(token, Some("app")).unwrap();
    e.clock.advance(9);
    let retry = e.tokens.refresh(token, Some("app")).unwrap();
    assert_eq!(retry.family_id, pair.family_id);
    // Nothing was revoked: every access token of the family still works.
    for access in [&pair.access_token, &lost.access_token, &retry.access_token] {
        assert_eq!(e.access_verdict(access), "ok");
    }
    // The retry's refresh token is the live one; the lost response's was
    // superseded.
    let rec = e.store.get(lost.refresh_token.id()).unwrap().unwrap();
    assert!(rec.used_at.is_some(), "superseded");
    let next = e
        .tokens
        .refresh(retry.refresh_token.expose_secret(), Some("app"))
        .unwrap();
    assert_eq!(e.access_verdict(&next.access_token), "ok");
}

#[test]
fn a_retry_after_the_grace_window_is_reuse() {
    let e = env_with_grace(Duration::seconds(10));
    let pair = e.tokens.login(Grant::new("pete").client_id("app")).unwrap();
    let token = pair.refresh_token.expose_secret();
    let next = e.tokens.refresh(token, Some("app")).unwrap();
    e.clock.advance(10);
    let err = e.tokens.refresh(token, Some("app")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshTokenReused);
    assert_eq!(e.access_verdict(&next.access_token), "revoked");
    assert_eq!(
        e.tokens
            .refresh(next.refresh_token.expose_secret(), Some("app"))
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
}

#[test]
fn the_grace_window_does_not_slide_and_ends_once_the_chain_moves_on() {
    let e = env_with_grace(Duration::seconds(10));
    let pair = e
        .tokens
        .login(Grant::new("quinn").client_id("app"))
        .unwrap();
    let token = pair.refresh_token.expose_secret();
    e.tokens.refresh(token, Some("app")).unwrap();
    e.clock.advance(6);
    e.tokens.refresh(token, Some("app")).unwrap();
    e.clock.advance(6);
    // 12 s after the first use: retries do not extend the window.
    assert_eq!(
        e.tokens.refresh(token, Some("app")).unwrap_err().kind(),
        ErrorKind::RefreshTokenReused
    );

    // Within the window, but the successor was used already: reuse.
    let e = env_with_grace(Duration::seconds(10));
    let pair = e
        .tokens
        .login(Grant::new("quinn").client_id("app"))
        .unwrap();
    let token = pair.refresh_token.expose_secret();
    let next = e.tokens.refresh(token, Some("app")).unwrap();
    e.tokens
        .refresh(next.refresh_token.expose_secret(), Some("app"))
        .unwrap();
    assert_eq!(
        e.tokens.refresh(token, Some("app")).unwrap_err().kind(),
        ErrorKind::RefreshTokenReused
    );
}

#[test]
fn the_default_grace_window_is_five_seconds() {
    assert_eq!(
        tokengate::refresh::DEFAULT_REUSE_GRACE,
        Duration::seconds(5)
    );
}

// ---------------------------------------------------------------------------
// Client binding (RFC 6749 §6, RFC 7009 §2.1)
// ---------------------------------------------------------------------------

#[test]
fn another_clients_refresh_token_is_refused() {
    let e = env_with_grace(Duration::seconds(10));
    let pair = e
        .tokens
        .login(Grant::new("rita").client_id("app-a"))
        .unwrap();
    let token = pair.refresh_token.expose_secret();
    for client in [Some("app-b"), None, Some("APP-A"), Some("app-a ")] {
        let err = e.tokens.refresh(token, client).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::WrongClient, "{client:?}");
        assert_eq!(err.oauth_error(), "invalid_grant");
        assert_eq!(
            e.tokens.revoke(token, client).unwrap_err().kind(),
            ErrorKind::WrongClient,
            "{client:?}"
        );
    }
    // Nothing changed: the owner refreshes as a first use, and the family
    // was not revoked.
    assert_eq!(e.store.rotations.load(Ordering::SeqCst), 0);
    let next = e.tokens.refresh(token, Some("app-a")).unwrap();
    assert_eq!(e.access_verdict(&next.access_token), "ok");
    // A token issued without a client is not redeemable by one.
    let anon = e.login("sam");
    assert_eq!(
        e.tokens
            .refresh(anon.refresh_token.expose_secret(), Some("app-a"))
            .unwrap_err()
            .kind(),
        ErrorKind::WrongClient
    );
    // The owner may revoke.
    e.tokens
        .revoke(next.refresh_token.expose_secret(), Some("app-a"))
        .unwrap();
    assert_eq!(e.access_verdict(&next.access_token), "revoked");
}

// ---------------------------------------------------------------------------
// The steps without I/O, as an async application drives them
// ---------------------------------------------------------------------------

#[test]
fn the_sans_io_steps_match_the_synchronous_refresh() {
    use tokengate::refresh::{Finished, RefreshStep};
    let e = env();
    let store = &e.store;
    let pair = e.tokens.login(Grant::new("tess").client_id("app")).unwrap();
    let token = pair.refresh_token.expose_secret();

    // A malformed token is refused before any lookup.
    assert_eq!(
        e.tokens
            .begin_refresh("rt_nope", Some("app"))
            .unwrap_err()
            .kind(),
        ErrorKind::Malformed
    );

    // Plan, then commit the rotation the way an async client would.
    let attempt = e.tokens.begin_refresh(token, Some("app")).unwrap();
    assert_eq!(attempt.token_id(), pair.refresh_token.id());
    let record = store.get(attempt.token_id()).unwrap();
    let RefreshStep::Rotate(plan) = e.tokens.plan_refresh(&attempt, record.clone()).unwrap() else {
        panic!("an unused token rotates")
    };
    // A plan that is never committed changes nothing.
    drop(plan);
    assert_eq!(
        store.get(pair.refresh_token.id()).unwrap().unwrap().used_at,
        None
    );
    let RefreshStep::Rotate(plan) = e.tokens.plan_refresh(&attempt, record.clone()).unwrap() else {
        panic!("an unused token rotates")
    };
    let request = plan.request().clone();
    let outcome = store.rotate(&request).unwrap();
    let Finished::Issued(next) = e.tokens.finish_refresh(plan, outcome).unwrap() else {
        panic!("the rotation committed")
    };
    assert_eq!(e.access_verdict(&next.access_token), "ok");

    // A second plan made from the stale record loses the compare-and-set
    // and is told to decide again with the current record.
    let RefreshStep::Rotate(stale) = e.tokens.plan_refresh(&attempt, record).unwrap() else {
        panic!("the stale record looks unused")
    };
    let outcome = store.rotate(stale.request()).unwrap();
    let Finished::Retry(current) = e.tokens.finish_refresh(stale, outcome).unwrap() else {
        panic!("a stale plan must be retried")
    };
    // Decided again (no grace window here): reuse, with the family to
    // revoke.
    let RefreshStep::RevokeFamily(family) = e.tokens.plan_refresh(&attempt, Some(current)).unwrap()
    else {
        panic!("a used token outside the grace window is reuse")
    };
    assert_eq!(family.family_id(), pair.family_id);
    assert_eq!(family.error().kind(), ErrorKind::RefreshTokenReused);
    assert_eq!(
        family.sessions_until(),
        family.at() + Duration::seconds(ACCESS)
    );
    store
        .revoke_family(family.family_id(), family.at())
        .unwrap();
    e.list
        .revoke_session(family.family_id(), family.sessions_until())
        .unwrap();
    assert_eq!(e.access_verdict(&next.access_token), "revoked");

    // Logins split the same way.
    let plan = e.tokens.prepare_login(Grant::new("uma")).unwrap();
    assert!(store.get(&plan.record().id).unwrap().is_none());
    let (record, pair) = plan.into_parts();
    store.insert(record).unwrap();
    assert!(
        e.tokens
            .refresh(pair.refresh_token.expose_secret(), None)
            .is_ok()
    );
}

// ---------------------------------------------------------------------------
// Secrets in Debug output, and the format
// ---------------------------------------------------------------------------

#[test]
fn debug_output_never_contains_the_refresh_secret() {
    let e = env();
    let pair = e.login("kim");
    let token = pair.refresh_token.expose_secret();
    let next = e.refresh(&pair);
    for (shown, t) in [
        (format!("{:?}", pair.refresh_token), token),
        (format!("{pair:?}"), token),
        (format!("{pair:#?}"), token),
        (format!("{next:?}"), next.refresh_token.expose_secret()),
    ] {
        assert!(!shown.contains(t), "{shown}");
        assert!(!shown.contains(secret_part(t)), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
    let shown = format!("{:?}", pair.refresh_token);
    assert!(shown.contains(pair.refresh_token.id()));
    assert_eq!(pair.refresh_token.id(), id_part(token));
}

#[test]
fn debug_output_never_contains_the_access_token() {
    let e = env();
    let pair = e.login("kim");
    let shown = format!("{pair:?}");
    // The signature alone is enough to tell: without it nobody can replay
    // the token.
    let signature = pair.access_token.rsplit('.').next().unwrap();
    assert!(!shown.contains(signature), "{shown}");
}

#[test]
fn refresh_token_format_and_entropy() {
    let e = env();
    assert_eq!(e.tokens.format().lead(), LEAD);
    assert_eq!(e.tokens.format().key_len(), TOKEN_LEN);
    // The entropy, from what the tokens show rather than from the crate's
    // own figure: SECRET_LEN characters, each drawn from 62 symbols (all
    // 62 seen below), 43 * log2(62) = 256.03 bits.
    let bits = SECRET_LEN as f64 * (62f64).ln() / 2f64.ln();
    assert!(bits >= 256.0, "{bits}");
    assert!((e.tokens.format().secret_bits() - bits).abs() < 1e-9);

    let mut ids = HashSet::new();
    let mut secrets = HashSet::new();
    let mut seen = [false; 256];
    for _ in 0..200 {
        let pair = e.login("lee");
        let t = pair.refresh_token.expose_secret().to_owned();
        assert_eq!(t.len(), TOKEN_LEN);
        assert!(t.starts_with(LEAD));
        let body = &t[LEAD.len()..];
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()), "{t}");
        assert_eq!(
            &t[TOKEN_LEN - CHECK_LEN..],
            checksum(&t[..TOKEN_LEN - CHECK_LEN])
        );
        assert_eq!(pair.refresh_token.id(), id_part(&t));
        assert!(e.tokens.format().is_well_formed(&t));
        assert!(ids.insert(id_part(&t).to_owned()));
        assert!(secrets.insert(secret_part(&t).to_owned()));
        for b in secret_part(&t).bytes() {
            seen[usize::from(b)] = true;
        }
    }
    // 8,600 secret characters drawn uniformly cover all 62 symbols (a miss
    // has probability about 62 * (61/62)^8600, below 1e-58).
    for b in BASE62 {
        assert!(seen[usize::from(*b)], "never drew {:?}", char::from(*b));
    }
}

#[test]
fn the_prefix_is_configurable() {
    let e = env();
    let tokens = builder(&e.clock, &e.ring, &e.list, e.store.clone())
        .prefix("acmert")
        .build()
        .unwrap();
    let pair = tokens.login(Grant::new("max")).unwrap();
    let t = pair.refresh_token.expose_secret();
    assert!(t.starts_with("acmert_"));
    assert!(tokens.refresh(t, None).is_ok());
    // The default-prefix instance does not accept it.
    assert_eq!(e.refresh_verdict(t), "malformed");
    for bad in ["", "RT", "r_t", "rt-1"] {
        assert_eq!(
            builder(&e.clock, &e.ring, &e.list, e.store.clone())
                .prefix(bad)
                .build()
                .unwrap_err()
                .kind(),
            ErrorKind::InvalidConfiguration,
            "{bad:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// A refresh token is bound to its service's format
// ---------------------------------------------------------------------------

#[test]
fn a_refresh_token_relabelled_with_another_services_prefix_is_refused() {
    // Two services share one refresh store: different prefixes (of the
    // same length, so the relabelled token is well formed for the other),
    // different audiences.
    let e = env();
    let admin = RefreshTokens::builder(
        e.store.clone(),
        e.ring.clone(),
        TokenBuilder::new()
            .issuer(ISS)
            .audience("https://admin.example.com"),
    )
    .prefix("adm")
    .revocation(e.list.clone())
    .clock(e.clock.clone())
    .build()
    .unwrap();
    let shop = RefreshTokens::builder(
        e.store.clone(),
        e.ring.clone(),
        TokenBuilder::new()
            .issuer(ISS)
            .audience("https://shop.example.com"),
    )
    .prefix("shp")
    .revocation(e.list.clone())
    .clock(e.clock.clone())
    .build()
    .unwrap();
    let shop_login = shop.login(Grant::new("alice")).unwrap();
    let token = shop_login.refresh_token.expose_secret();
    let relabelled = tokengate::testing::reseal(&format!("adm_{}", &token["shp_".len()..]));
    assert!(admin.format().is_well_formed(&relabelled));
    let err = admin.refresh(&relabelled, None).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidSecret);
    assert!(admin.inspect(&relabelled).unwrap().is_none());
    // Logging out with it at the other service changes nothing either.
    admin.revoke(&relabelled, None).unwrap();
    // The token still works where it was issued.
    let next = shop.refresh(token, None).unwrap();
    assert!(next.refresh_token.expose_secret().starts_with("shp_"));
}

// ---------------------------------------------------------------------------
// A clock that cannot tell the time fails closed
// ---------------------------------------------------------------------------

#[test]
fn a_clock_that_cannot_tell_the_time_refuses_refresh_and_access_tokens() {
    // `SystemClock` reads a wall clock set before 1970 as `i64::MAX`; any
    // `Clock` that cannot tell the time does the same. Everything that
    // expires is then expired, never alive again.
    let e = env();
    let pair = e.login("alice");
    let token = pair.refresh_token.expose_secret();
    e.clock.set_unix(i64::MAX);
    assert!(e.tokens.inspect(token).unwrap().is_none(), "inspected live");
    assert_eq!(e.refresh_verdict(token), "expired");
    assert_eq!(e.access_verdict(&pair.access_token), "expired");
    // Nothing was used up: with the clock back, the token still works.
    e.clock.set_unix(T0 + 1);
    assert_eq!(e.refresh_verdict(token), "ok");
}

/// The access token template's grant claims and a fixed `jti` never reach
/// a family's access tokens: a template with `scope` `admin`, another
/// client and a fixed id mints, for a grant of `orders:read` with no
/// client, tokens with exactly that scope, no client and ids of their own
/// (a shared jti would make revoking one token revoke them all).
#[test]
fn the_templates_grant_claims_and_fixed_jti_never_reach_a_familys_tokens() {
    let clock = clock();
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::EdDSA).unwrap(),
        clock.clone(),
    ));
    let tokens = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        ring.clone(),
        TokenBuilder::new()
            .issuer(ISS)
            .audience(AUD)
            .scope("admin")
            .client_id("another-client")
            .session_id("another-session")
            .jwt_id("fixed"),
    )
    .without_access_token_revocation()
    .clock(clock.clone())
    .build()
    .unwrap();
    let validator = tokens
        .validator_builder()
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .build()
        .unwrap();
    let login = tokens
        .login(Grant::new("lee").scopes(ScopeSet::parse("orders:read").unwrap()))
        .unwrap();
    let next = tokens
        .refresh(login.refresh_token.expose_secret(), None)
        .unwrap();
    let mut ids = Vec::new();
    for pair in [&login, &next] {
        let claims = validator
            .validate(&pair.access_token)
            .unwrap()
            .into_claims();
        assert_eq!(claims.scope.as_deref(), Some("orders:read"));
        assert_eq!(claims.client_id, None);
        assert_eq!(claims.session_id.as_deref(), Some(login.family_id.as_str()));
        ids.push(claims.jwt_id.unwrap());
    }
    assert!(!ids.iter().any(|id| id == "fixed"));
    assert_ne!(ids[0], ids[1]);
}
