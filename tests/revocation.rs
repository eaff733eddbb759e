//! Revocation through a [`Validator`]: the in-memory [`RevocationList`] by
//! `jti`, by subject before an instant, by signing key id and by session,
//! each shown rejecting the revoked token and passing its twin; pruning
//! bounded by `exp` on an injected [`FixedClock`]; tokens without `jti`;
//! visibility across threads; and custom [`Revocation`] implementations
//! that fail (the token is rejected: fail closed) or count their calls (a
//! forged or expired token never reaches the revocation check).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;

use serde_json::{Value, json};
use time::Duration;
use tokengate::RevocationStore;
use tokengate::testing::b64_encode;
use tokengate::testing::{T0, clock};
use tokengate::{
    Algorithm, Claim, Clock, Error, ErrorKind, FixedClock, KeySetStore, Revocation, RevocationList,
    RevocationQuery, SigningKey, TokenBuilder, Validator, ValidatorBuilder, jws,
};

const NOW: i64 = T0;
const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";
/// Token lifetime used throughout: ten minutes.
const LIFE: i64 = 600;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Two signing keys of different algorithms (so a token without `kid`
/// still finds its key), a shared clock and a shared revocation list.
struct Env {
    k1: SigningKey,
    k2: SigningKey,
    clock: Arc<FixedClock>,
    list: Arc<RevocationList>,
}

impl Env {
    fn new() -> Self {
        Self {
            k1: SigningKey::generate(Algorithm::EdDSA)
                .unwrap()
                .with_key_id("k1"),
            k2: SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .with_key_id("k2"),
            clock: clock(),
            list: Arc::new(RevocationList::new()),
        }
    }

    fn builder(&self) -> TokenBuilder {
        TokenBuilder::new()
            .issuer(ISS)
            .subject("alice")
            .audience(AUD)
            .lifetime(Duration::seconds(LIFE))
            .clock(self.clock.clone())
    }

    fn store(&self) -> KeySetStore {
        KeySetStore::new([self.k1.verifying_key(), self.k2.verifying_key()]).unwrap()
    }

    /// A validator over both keys without revocation.
    fn plain(&self) -> ValidatorBuilder {
        Validator::builder(self.store())
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .clock(self.clock.clone())
    }

    /// A validator over both keys consulting the shared list.
    fn validator(&self) -> Validator {
        self.plain().revocation(self.list.clone()).build().unwrap()
    }

    /// Signs hand-written claims with `k1` (header `typ` `JWT`, `kid` `k1`).
    fn raw(&self, claims: &Value) -> String {
        jws::sign(claims.to_string().as_bytes(), &self.k1, Some("JWT")).unwrap()
    }
}

/// The kind name of the validator's verdict: `"ok"` or the error kind.
fn verdict(v: &Validator, token: &str) -> &'static str {
    match v.validate(token) {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    }
}

/// `BASE64URL(header).BASE64URL(payload).BASE64URL(signature)` with the
/// header exactly as given.
fn compact(header: &str, payload: &str, key: &SigningKey) -> String {
    let input = format!("{}.{}", b64_encode(header), b64_encode(payload));
    let signature = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64_encode(signature))
}

/// What a [`Revocation`] was asked, copied out of a [`RevocationQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Asked {
    jti: Option<String>,
    subject: Option<String>,
    issued_at: Option<i64>,
    expires_at: Option<i64>,
    key_id: Option<String>,
    session_id: Option<String>,
}

impl Asked {
    fn of(q: &RevocationQuery<'_>) -> Self {
        Self {
            jti: q.jti.map(str::to_owned),
            subject: q.subject.map(str::to_owned),
            issued_at: q.issued_at,
            expires_at: q.expires_at,
            key_id: q.key_id.map(str::to_owned),
            session_id: q.session_id.map(str::to_owned),
        }
    }
}

/// A revocation check that records every query and answers "not revoked"
/// (or "revoked" when told).
#[derive(Debug, Default)]
struct Counting {
    calls: AtomicUsize,
    asked: Mutex<Vec<Asked>>,
    answer: bool,
}

impl Counting {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Revocation for Counting {
    fn is_revoked(&self, q: &RevocationQuery<'_>) -> Result<bool, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.asked.lock().unwrap().push(Asked::of(q));
        Ok(self.answer)
    }
}

/// A revocation backend that is down.
#[derive(Debug, Default)]
struct Down {
    calls: AtomicUsize,
}

impl Revocation for Down {
    fn is_revoked(&self, _q: &RevocationQuery<'_>) -> Result<bool, Error> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Err(Error::store(std::io::Error::other(
            "revocation replica unavailable",
        )))
    }
}

// ---------------------------------------------------------------------------
// By jti
// ---------------------------------------------------------------------------

#[test]
fn by_jti_the_revoked_token_fails_and_its_twin_passes() {
    let env = Env::new();
    let v = env.validator();
    let a = env.builder().jwt_id("tok-a").sign(&env.k1).unwrap();
    let twin = env.builder().jwt_id("tok-b").sign(&env.k1).unwrap();
    assert_eq!(verdict(&v, &a), "ok");
    assert_eq!(verdict(&v, &twin), "ok");

    env.list
        .revoke_token(
            "tok-a",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
        )
        .unwrap();
    assert_eq!(verdict(&v, &a), "revoked");
    assert_eq!(verdict(&v, &twin), "ok");
    let err = v.validate(&a).unwrap_err();
    assert!(matches!(err, Error::Revoked));
    assert!(err.is_rejection() && !err.is_internal());
    assert_eq!(env.list.jti_count(), 1);

    // A fresh token re-using the revoked jti is revoked too: the list is
    // keyed by jti, not by token bytes.
    let reissued = env.builder().jwt_id("tok-a").sign(&env.k2).unwrap();
    assert_eq!(verdict(&v, &reissued), "revoked");
    // Near-miss jtis are different tokens.
    for other in ["tok-A", "tok-a ", "tok-", "tok-aa"] {
        let t = env.builder().jwt_id(other).sign(&env.k1).unwrap();
        assert_eq!(verdict(&v, &t), "ok", "{other:?}");
    }
    // A validator that does not consult the list still accepts the token:
    // the rejection comes from the list.
    assert_eq!(verdict(&env.plain().build().unwrap(), &a), "ok");
}

#[test]
fn a_jti_and_a_session_id_with_the_same_text_do_not_alias() {
    let env = Env::new();
    let v = env.validator();
    let by_jti = env.builder().jwt_id("x-1").sign(&env.k1).unwrap();
    let by_sid = env
        .builder()
        .jwt_id("y-1")
        .session_id("x-1")
        .sign(&env.k1)
        .unwrap();
    env.list
        .revoke_session(
            "x-1",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
        )
        .unwrap();
    assert_eq!(verdict(&v, &by_jti), "ok");
    assert_eq!(verdict(&v, &by_sid), "revoked");
    env.list
        .revoke_token(
            "y-2",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
        )
        .unwrap();
    let sid_y2 = env
        .builder()
        .jwt_id("z")
        .session_id("y-2")
        .sign(&env.k1)
        .unwrap();
    assert_eq!(verdict(&v, &sid_y2), "ok");
}

#[test]
fn revoking_a_jti_twice_keeps_the_later_expiry() {
    let env = Env::new();
    env.list
        .revoke_token(
            "j",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 500).unwrap(),
        )
        .unwrap();
    env.list
        .revoke_token(
            "j",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 100).unwrap(),
        )
        .unwrap();
    assert_eq!(env.list.jti_count(), 1);
    assert_eq!(
        env.list.prune(
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 100 + MARGIN).unwrap()
        ),
        0
    );
    assert_eq!(env.list.jti_count(), 1);
    assert_eq!(
        env.list.prune(
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 500 + MARGIN).unwrap()
        ),
        1
    );
    assert_eq!(env.list.jti_count(), 0);
}

// ---------------------------------------------------------------------------
// By subject before an instant
// ---------------------------------------------------------------------------

#[test]
fn by_subject_tokens_issued_before_the_instant_are_revoked() {
    let env = Env::new();
    let v = env.validator();
    let cut = NOW + 100;
    let at = |iat: i64, sub: &str| {
        env.clock.set_unix(iat);
        let t = env.builder().subject(sub).sign(&env.k1).unwrap();
        env.clock.set_unix(NOW + 200);
        t
    };
    let long_before = at(NOW, "alice");
    let second_before = at(cut - 1, "alice");
    let at_cut = at(cut, "alice");
    let after = at(cut + 1, "alice");
    let bob_before = at(NOW, "bob");
    let lookalike = at(NOW, "Alice");

    for t in [&long_before, &second_before, &at_cut, &after, &bob_before] {
        assert_eq!(verdict(&v, t), "ok");
    }
    env.list
        .revoke_subject_before(
            "alice",
            tokengate::time::OffsetDateTime::from_unix_timestamp(cut).unwrap(),
        )
        .unwrap();
    assert_eq!(verdict(&v, &long_before), "revoked");
    assert_eq!(verdict(&v, &second_before), "revoked");
    assert_eq!(verdict(&v, &at_cut), "ok");
    assert_eq!(verdict(&v, &after), "ok");
    assert_eq!(verdict(&v, &bob_before), "ok");
    assert_eq!(verdict(&v, &lookalike), "ok");

    // A token of that subject without `iat` cannot prove it is recent.
    let no_iat = env.raw(&json!({"iss": ISS, "sub": "alice", "aud": AUD, "exp": NOW + 900}));
    let bob_no_iat = env.raw(&json!({"iss": ISS, "sub": "bob", "aud": AUD, "exp": NOW + 900}));
    assert_eq!(verdict(&v, &no_iat), "revoked");
    assert_eq!(verdict(&v, &bob_no_iat), "ok");
    // A token without `sub` is not caught by a subject revocation.
    let no_sub = env.raw(&json!({"iss": ISS, "aud": AUD, "exp": NOW + 900}));
    assert_eq!(verdict(&v, &no_sub), "ok");

    // An earlier instant later does not un-revoke anything...
    env.list
        .revoke_subject_before(
            "alice",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 1).unwrap(),
        )
        .unwrap();
    assert_eq!(verdict(&v, &second_before), "revoked");
    assert_eq!(verdict(&v, &at_cut), "ok");
    // ...and a later one extends the cut.
    env.list
        .revoke_subject_before(
            "alice",
            tokengate::time::OffsetDateTime::from_unix_timestamp(cut + 2).unwrap(),
        )
        .unwrap();
    assert_eq!(verdict(&v, &at_cut), "revoked");
    assert_eq!(verdict(&v, &after), "revoked");
    // Tokens issued from then on pass again.
    let fresh = at(cut + 2, "alice");
    assert_eq!(verdict(&v, &fresh), "ok");
}

// ---------------------------------------------------------------------------
// By key id
// ---------------------------------------------------------------------------

#[test]
fn log_out_everywhere_revokes_tokens_issued_in_the_same_second() {
    // The README's recipe, with the whole-second `now` a `Clock` gives.
    let env = Env::new();
    let v = env.validator();
    let earlier = env.builder().sign(&env.k1).unwrap();
    env.clock.advance(30);
    // Issued in the very second of the logout, just before it.
    let same_second = env.builder().jwt_id("same").sign(&env.k1).unwrap();
    let other_user = env.builder().subject("bob").sign(&env.k1).unwrap();
    // `revoke_subject_before` with the same instant is exclusive: it would
    // leave the same-second token valid. The recipe is inclusive.
    let exclusive = RevocationList::new();
    exclusive
        .revoke_subject_before("alice", env.clock.now())
        .unwrap();
    let q = RevocationQuery::for_jti(None).with_subject(Some("alice"), Some(NOW + 30));
    assert!(!exclusive.is_revoked(&q).unwrap());
    env.list
        .revoke_subject_issued_through("alice", env.clock.now())
        .unwrap();
    assert_eq!(verdict(&v, &earlier), "revoked");
    assert_eq!(verdict(&v, &same_second), "revoked");
    assert_eq!(verdict(&v, &other_user), "ok");
    // From the next second on, new tokens pass.
    env.clock.advance(1);
    let after = env.builder().sign(&env.k1).unwrap();
    assert_eq!(verdict(&v, &after), "ok");
}

#[test]
fn by_key_id_every_token_of_the_compromised_key_is_revoked() {
    let env = Env::new();
    let v = env.validator();
    let from_k1 = [
        env.builder().sign(&env.k1).unwrap(),
        env.builder().subject("bob").sign(&env.k1).unwrap(),
        env.builder().without_jwt_id().sign(&env.k1).unwrap(),
    ];
    let from_k2 = env.builder().sign(&env.k2).unwrap();
    for t in &from_k1 {
        assert_eq!(verdict(&v, t), "ok");
    }
    env.list.revoke_key("k1").unwrap();
    for t in &from_k1 {
        assert_eq!(verdict(&v, t), "revoked");
    }
    assert_eq!(verdict(&v, &from_k2), "ok");
    // Tokens signed after the revocation are revoked as well.
    let later = env.builder().sign(&env.k1).unwrap();
    assert_eq!(verdict(&v, &later), "revoked");
}

#[test]
fn by_key_id_a_token_without_kid_from_the_compromised_key_is_revoked() {
    let env = Env::new();
    let v = env.validator();
    env.list.revoke_key("k1").unwrap();
    // Whoever holds the compromised key signs a token and leaves out `kid`;
    // the store resolves it to k1, the only EdDSA key.
    let claims = json!({"iss": ISS, "sub": "mallory", "aud": AUD, "iat": NOW, "exp": NOW + 60});
    let no_kid = compact(
        r#"{"alg":"EdDSA","typ":"JWT"}"#,
        &claims.to_string(),
        &env.k1,
    );
    // The same token with `kid` is refused, so the key is really revoked.
    let with_kid = compact(
        r#"{"alg":"EdDSA","typ":"JWT","kid":"k1"}"#,
        &claims.to_string(),
        &env.k1,
    );
    assert_eq!(verdict(&v, &with_kid), "revoked");
    assert_eq!(verdict(&v, &no_kid), "revoked");
}

// ---------------------------------------------------------------------------
// By session
// ---------------------------------------------------------------------------

#[test]
fn by_session_every_token_of_the_session_is_revoked() {
    let env = Env::new();
    let v = env.validator();
    let s1 = [
        env.builder().session_id("sess-1").sign(&env.k1).unwrap(),
        env.builder()
            .session_id("sess-1")
            .subject("bob")
            .sign(&env.k2)
            .unwrap(),
        env.builder()
            .session_id("sess-1")
            .without_jwt_id()
            .sign(&env.k1)
            .unwrap(),
    ];
    let s2 = env.builder().session_id("sess-2").sign(&env.k1).unwrap();
    let none = env.builder().sign(&env.k1).unwrap();
    env.list
        .revoke_session(
            "sess-1",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
        )
        .unwrap();
    for t in &s1 {
        assert_eq!(verdict(&v, t), "revoked");
    }
    assert_eq!(verdict(&v, &s2), "ok");
    assert_eq!(verdict(&v, &none), "ok");
    // A session revocation does not count as a jti.
    assert_eq!(env.list.jti_count(), 0);
}

// ---------------------------------------------------------------------------
// Pruning
// ---------------------------------------------------------------------------

/// Entries are kept this long past `exp` (the default retention margin).
const MARGIN: i64 = tokengate::revocation::DEFAULT_RETENTION_MARGIN.whole_seconds();

#[test]
fn prune_drops_exactly_the_expired_entries() {
    let env = Env::new();
    // Validators without leeway, so a token is expired exactly at its exp.
    let v = env.plain().leeway(Duration::ZERO).build().unwrap();
    let strict = env
        .plain()
        .leeway(Duration::ZERO)
        .revocation(env.list.clone())
        .build()
        .unwrap();
    let token = |jti: &str, life: i64| {
        env.builder()
            .jwt_id(jti)
            .lifetime(Duration::seconds(life))
            .sign(&env.k1)
            .unwrap()
    };
    let a = token("a", 100);
    let b = token("b", 200);
    let c = token("c", 300);
    let s = env.builder().session_id("s").sign(&env.k1).unwrap();
    env.list
        .revoke_token(
            "a",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 100).unwrap(),
        )
        .unwrap();
    env.list
        .revoke_token(
            "b",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 200).unwrap(),
        )
        .unwrap();
    env.list
        .revoke_token(
            "c",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 300).unwrap(),
        )
        .unwrap();
    env.list
        .revoke_session(
            "s",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 150).unwrap(),
        )
        .unwrap();
    assert_eq!(env.list.jti_count(), 3);

    // Nothing has expired a second before the first exp.
    env.clock.set_unix(NOW + 99);
    assert_eq!(
        env.list.prune(
            tokengate::time::OffsetDateTime::from_unix_timestamp(env.clock.now_unix() + MARGIN)
                .unwrap()
        ),
        0
    );
    assert_eq!(env.list.jti_count(), 3);
    for t in [&a, &b, &c, &s] {
        assert_eq!(verdict(&strict, t), "revoked");
    }

    // At a's exp: a goes, and a is rejected as expired anyway.
    env.clock.set_unix(NOW + 100);
    assert_eq!(
        env.list.prune(
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 100 + MARGIN).unwrap()
        ),
        1
    );
    assert_eq!(env.list.jti_count(), 2);
    assert_eq!(verdict(&strict, &a), "expired");
    assert_eq!(verdict(&v, &a), "expired");
    for t in [&b, &c, &s] {
        assert_eq!(verdict(&strict, t), "revoked");
    }

    // At the session's end: the session entry goes (it is not a jti).
    env.clock.set_unix(NOW + 150);
    assert_eq!(
        env.list.prune(
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 150 + MARGIN).unwrap()
        ),
        1
    );
    assert_eq!(env.list.jti_count(), 2);
    // Pruning again at the same instant drops nothing.
    assert_eq!(
        env.list.prune(
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 150 + MARGIN).unwrap()
        ),
        0
    );

    // Past b's exp, b goes; c is still revoked and still held.
    env.clock.set_unix(NOW + 250);
    assert_eq!(
        env.list.prune(
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 250 + MARGIN).unwrap()
        ),
        1
    );
    assert_eq!(env.list.jti_count(), 1);
    assert_eq!(verdict(&strict, &b), "expired");
    assert_eq!(verdict(&strict, &c), "revoked");

    // Far in the future everything is gone.
    assert_eq!(
        env.list
            .prune(tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 10_000).unwrap()),
        1
    );
    assert_eq!(env.list.jti_count(), 0);
}

#[test]
fn prune_keeps_subject_and_key_revocations() {
    let env = Env::new();
    let v = env.validator();
    env.list
        .revoke_subject_before(
            "alice",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 1).unwrap(),
        )
        .unwrap();
    env.list.revoke_key("k2").unwrap();
    let alice = env.builder().sign(&env.k1).unwrap();
    let k2 = env.builder().subject("bob").sign(&env.k2).unwrap();
    assert_eq!(
        env.list
            .prune(tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 1_000_000).unwrap()),
        0
    );
    assert_eq!(verdict(&v, &alice), "revoked");
    assert_eq!(verdict(&v, &k2), "revoked");
}

#[test]
fn a_pruned_revocation_does_not_resurrect_the_token_within_leeway() {
    let env = Env::new();
    // The default validator: 30 s of leeway.
    let v = env.validator();
    let token = env.builder().jwt_id("j-1").sign(&env.k1).unwrap();
    env.list
        .revoke_token(
            "j-1",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
        )
        .unwrap();
    // One second past exp, inside the leeway: still revoked.
    env.clock.set_unix(NOW + LIFE + 1);
    assert_eq!(verdict(&v, &token), "revoked");
    // The application prunes with its clock, as the docs suggest.
    env.list
        .prune(tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE + 1).unwrap());
    assert_eq!(verdict(&v, &token), "revoked");
}

/// A leeway above the retention margin would let a revoked token through
/// between `exp + margin` (its entry pruned) and `exp + leeway` (the
/// validator's last accepting instant): such a validator is not built, and
/// with a margin wide enough, the token stays revoked up to the last
/// second the leeway accepts it, pruned or not.
#[test]
fn a_leeway_above_the_retention_margin_cannot_resurrect_a_pruned_revocation() {
    const LEEWAY: i64 = 10 * 60; // above the default 5-minute margin
    let env = Env::new();
    let err = env
        .plain()
        .leeway(Duration::seconds(LEEWAY))
        .revocation(env.list.clone())
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidConfiguration);
    assert!(err.to_string().contains("retention margin"), "{err}");
    // Equal to the margin is fine; so is a replica's margin.
    let at_margin = env
        .plain()
        .leeway(Duration::minutes(5))
        .revocation(env.list.clone())
        .build();
    assert!(at_margin.is_ok());

    // A list whose margin covers the leeway.
    let wide = Arc::new(RevocationList::with_retention_margin(Duration::seconds(
        LEEWAY,
    )));
    let v = env
        .plain()
        .leeway(Duration::seconds(LEEWAY))
        .revocation(wide.clone())
        .build()
        .unwrap();
    let token = env.builder().jwt_id("j-late").sign(&env.k1).unwrap();
    let exp = NOW + LIFE;
    wide.revoke_token(
        "j-late",
        tokengate::time::OffsetDateTime::from_unix_timestamp(exp).unwrap(),
    )
    .unwrap();
    // The last second the leeway accepts the token, after a prune at
    // that same instant: still revoked.
    env.clock.set_unix(exp + LEEWAY - 1);
    wide.prune(tokengate::time::OffsetDateTime::from_unix_timestamp(exp + LEEWAY - 1).unwrap());
    assert_eq!(wide.jti_count(), 1);
    assert_eq!(verdict(&v, &token), "revoked");
    // One second later the token is expired whatever the list says.
    env.clock.set_unix(exp + LEEWAY);
    wide.prune(tokengate::time::OffsetDateTime::from_unix_timestamp(exp + LEEWAY).unwrap());
    assert_eq!(wide.jti_count(), 0);
    assert_eq!(verdict(&v, &token), "expired");
}

// ---------------------------------------------------------------------------
// Tokens without jti
// ---------------------------------------------------------------------------

#[test]
fn a_token_without_jti_is_refused_when_jti_is_required() {
    let env = Env::new();
    let no_jti = env.builder().without_jwt_id().sign(&env.k1).unwrap();
    let with_jti = env.builder().sign(&env.k1).unwrap();
    let v = env
        .plain()
        .revocation(env.list.clone())
        .require(Claim::JwtId)
        .build()
        .unwrap();
    let err = v.validate(&no_jti).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::MissingClaim);
    assert!(matches!(&err, Error::MissingClaim(name) if name == "jti"));
    assert_eq!(verdict(&v, &with_jti), "ok");
    // Without the requirement such a token passes and no jti revocation
    // can reach it.
    let lax = env.validator();
    env.list
        .revoke_token(
            "",
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
        )
        .unwrap();
    assert_eq!(verdict(&lax, &no_jti), "ok");
}

// ---------------------------------------------------------------------------
// Threads
// ---------------------------------------------------------------------------

#[test]
fn a_revocation_is_visible_on_other_threads_as_soon_as_it_returns() {
    const THREADS: usize = 6;
    const ROUNDS: usize = 12;
    let env = Env::new();
    let v = env.validator();
    let tokens: Vec<String> = (0..ROUNDS)
        .map(|i| {
            env.builder()
                .jwt_id(format!("round-{i}"))
                .sign(&env.k1)
                .unwrap()
        })
        .collect();
    let twins: Vec<String> = (0..ROUNDS)
        .map(|i| {
            env.builder()
                .jwt_id(format!("twin-{i}"))
                .sign(&env.k1)
                .unwrap()
        })
        .collect();
    let validated = Barrier::new(THREADS + 1);
    let revoked = Barrier::new(THREADS + 1);
    thread::scope(|s| {
        for _ in 0..THREADS {
            let v = v.clone();
            let (tokens, twins) = (&tokens, &twins);
            let (validated, revoked) = (&validated, &revoked);
            s.spawn(move || {
                for i in 0..ROUNDS {
                    assert_eq!(verdict(&v, &tokens[i]), "ok", "round {i} before");
                    validated.wait();
                    // The main thread revokes between the two barriers.
                    revoked.wait();
                    assert_eq!(verdict(&v, &tokens[i]), "revoked", "round {i} after");
                    assert_eq!(verdict(&v, &twins[i]), "ok", "twin {i}");
                }
            });
        }
        for i in 0..ROUNDS {
            validated.wait();
            env.list
                .revoke_token(
                    &format!("round-{i}"),
                    tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
                )
                .unwrap();
            revoked.wait();
        }
    });
    assert_eq!(env.list.jti_count(), ROUNDS);
}

#[test]
fn concurrent_revokers_and_validators_agree() {
    const WRITERS: usize = 4;
    const PER_WRITER: usize = 50;
    let env = Env::new();
    let v = env.validator();
    let start = Barrier::new(WRITERS * 2);
    thread::scope(|s| {
        for w in 0..WRITERS {
            let list = &env.list;
            let start = &start;
            s.spawn(move || {
                start.wait();
                for i in 0..PER_WRITER {
                    list.revoke_token(
                        &format!("w{w}-{i}"),
                        tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
                    )
                    .unwrap();
                    list.revoke_session(
                        &format!("s{w}-{i}"),
                        tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + LIFE).unwrap(),
                    )
                    .unwrap();
                }
            });
            let v = v.clone();
            let builder = env.builder();
            let key = &env.k1;
            s.spawn(move || {
                let token = builder.jwt_id(format!("keep-{w}")).sign(key).unwrap();
                start.wait();
                for _ in 0..PER_WRITER {
                    assert_eq!(verdict(&v, &token), "ok");
                }
            });
        }
    });
    assert_eq!(env.list.jti_count(), WRITERS * PER_WRITER);
    let t = env.builder().jwt_id("w3-49").sign(&env.k1).unwrap();
    assert_eq!(verdict(&v, &t), "revoked");
    let t = env.builder().session_id("s0-0").sign(&env.k1).unwrap();
    assert_eq!(verdict(&v, &t), "revoked");
}

// ---------------------------------------------------------------------------
// Custom implementations
// ---------------------------------------------------------------------------

#[test]
fn a_failing_revocation_backend_rejects_the_token() {
    let env = Env::new();
    let down = Arc::new(Down::default());
    let v = env.plain().revocation(down.clone()).build().unwrap();
    let token = env.builder().sign(&env.k1).unwrap();
    let err = v.validate(&token).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreFailure);
    assert_eq!(err.kind().as_str(), "store_failure");
    assert!(err.is_internal() && !err.is_rejection());
    assert!(!err.to_string().contains(&token));
    assert_eq!(down.calls.load(Ordering::SeqCst), 1);
    // Through validate_for as well.
    let err = v
        .validate_for(
            &token,
            &tokengate::ScopeRequirement::all("orders:read").unwrap(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StoreFailure);
}

#[test]
fn revocation_is_consulted_only_for_tokens_that_passed_every_other_check() {
    let env = Env::new();
    let counting = Arc::new(Counting::default());
    let down = Arc::new(Down::default());
    let v = env.plain().revocation(counting.clone()).build().unwrap();
    let v_down = env.plain().revocation(down.clone()).build().unwrap();

    let good = env.builder().sign(&env.k1).unwrap();
    let (input, sig) = good.rsplit_once('.').unwrap();
    let mut rejected: Vec<(String, &str)> = Vec::new();
    // A forged signature.
    let mut flipped = sig.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    rejected.push((
        format!("{input}.{}", String::from_utf8(flipped).unwrap()),
        "invalid_signature",
    ));
    // Another key under the same kid.
    let impostor = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("k1");
    rejected.push((env.builder().sign(&impostor).unwrap(), "invalid_signature"));
    // An unknown key id.
    let stranger = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("k9");
    rejected.push((env.builder().sign(&stranger).unwrap(), "unknown_key"));
    // Garbage.
    rejected.push(("not.a.token".to_owned(), "malformed"));
    rejected.push((String::new(), "malformed"));
    // Expired (issued an hour ago with a ten-minute lifetime).
    env.clock.set_unix(NOW - 3_600);
    rejected.push((env.builder().sign(&env.k1).unwrap(), "expired"));
    env.clock.set_unix(NOW);
    // Wrong issuer, wrong audience.
    rejected.push((
        env.builder()
            .issuer("https://evil.example.com")
            .sign(&env.k1)
            .unwrap(),
        "invalid_issuer",
    ));
    rejected.push((
        env.builder()
            .audience("https://other.example.com")
            .sign(&env.k1)
            .unwrap(),
        "invalid_audience",
    ));

    for (token, kind) in &rejected {
        assert_eq!(verdict(&v, token), *kind);
        // The failing backend is never reached either: the token is
        // rejected for its own fault, not reported as a store failure.
        assert_eq!(verdict(&v_down, token), *kind);
    }
    assert_eq!(
        counting.calls(),
        0,
        "revocation consulted for a rejected token"
    );
    assert_eq!(down.calls.load(Ordering::SeqCst), 0);

    // A valid token is looked up exactly once.
    assert_eq!(verdict(&v, &good), "ok");
    assert_eq!(counting.calls(), 1);
}

#[test]
fn the_query_describes_the_verified_token() {
    let env = Env::new();
    let counting = Arc::new(Counting {
        answer: true,
        ..Counting::default()
    });
    let v = env.plain().revocation(counting.clone()).build().unwrap();
    let token = env
        .builder()
        .jwt_id("jti-7")
        .session_id("sess-7")
        .sign(&env.k2)
        .unwrap();
    // The implementation's answer decides.
    assert_eq!(verdict(&v, &token), "revoked");
    let asked = counting.asked.lock().unwrap().clone();
    assert_eq!(
        asked,
        [Asked {
            jti: Some("jti-7".to_owned()),
            subject: Some("alice".to_owned()),
            issued_at: Some(NOW),
            expires_at: Some(NOW + LIFE),
            key_id: Some("k2".to_owned()),
            session_id: Some("sess-7".to_owned()),
        }]
    );
    // A token without the optional claims asks with `None`s.
    let bare = env.raw(&json!({"iss": ISS, "aud": AUD, "exp": NOW + 60}));
    assert_eq!(verdict(&v, &bare), "revoked");
    let last = counting.asked.lock().unwrap().last().cloned().unwrap();
    assert_eq!(
        last,
        Asked {
            jti: None,
            subject: None,
            issued_at: None,
            expires_at: Some(NOW + 60),
            key_id: Some("k1".to_owned()),
            session_id: None,
        }
    );
}
