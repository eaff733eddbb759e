//! Several servers sharing state through the store traits, as a fleet
//! behind a load balancer does: the refresh and revocation services of
//! each server take the traits, not the in-memory types, so a revocation
//! written on one server is enforced on the others.
//!
//! The shared revocation store here is a test double of a networked store:
//! one map and one change log behind a mutex, shared by reference, with
//! none of `RevocationList`'s code. It passes the same conformance suite as
//! the in-memory list.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use time::{Duration, OffsetDateTime};
use tokengate::revocation::{ChangeCursor, ChangeFeed, RevocationChange, Snapshot};
use tokengate::testing::conformance;
use tokengate::{
    Algorithm, Error, ErrorKind, FixedClock, Grant, InMemoryRefreshStore, KeyRing, RefreshTokens,
    Revocation, RevocationQuery, RevocationReplica, RevocationStore, SigningKey, StalePolicy,
    TokenBuilder, Validator,
};

const T0: i64 = 1_750_000_000;
const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

/// What the shared store holds: the latest instant per revoked id, by
/// kind, and the log of every write.
#[derive(Debug, Default)]
struct Shared {
    entries: HashMap<(&'static str, String), i64>,
    log: Vec<RevocationChange>,
}

/// A revocation store shared by every server of the fleet.
#[derive(Debug, Default)]
struct SharedRevocations {
    state: Mutex<Shared>,
}

impl SharedRevocations {
    fn write(&self, kind: &'static str, id: &str, at: i64, change: RevocationChange) {
        let mut s = self.state.lock().unwrap();
        let e = s.entries.entry((kind, id.to_owned())).or_insert(at);
        *e = (*e).max(at);
        s.log.push(change);
    }

    fn get(&self, kind: &'static str, id: &str) -> Option<i64> {
        self.state
            .lock()
            .unwrap()
            .entries
            .get(&(kind, id.to_owned()))
            .copied()
    }
}

impl Revocation for SharedRevocations {
    fn is_revoked(&self, q: &RevocationQuery<'_>) -> Result<bool, Error> {
        Ok(q.jti.is_some_and(|j| self.get("jti", j).is_some())
            || q.session_id.is_some_and(|s| self.get("sid", s).is_some())
            || q.key_id.is_some_and(|k| self.get("kid", k).is_some())
            || q.subject.is_some_and(|sub| {
                self.get("sub", sub)
                    .is_some_and(|before| q.issued_at.is_none_or(|iat| iat < before))
            }))
    }
}

impl RevocationStore for SharedRevocations {
    fn revoke_token(&self, jti: &str, expires_at: OffsetDateTime) -> Result<(), Error> {
        let change = RevocationChange::Token {
            jti: jti.to_owned(),
            expires_at,
        };
        self.write("jti", jti, expires_at.unix_timestamp(), change);
        Ok(())
    }
    fn revoke_subject_before(&self, subject: &str, before: OffsetDateTime) -> Result<(), Error> {
        // Whole seconds, rounded up: a token issued in the second of the
        // logout is revoked.
        let secs = before.unix_timestamp() + i64::from(before.nanosecond() > 0);
        let before = OffsetDateTime::from_unix_timestamp(secs).unwrap();
        let change = RevocationChange::SubjectBefore {
            subject: subject.to_owned(),
            before,
        };
        self.write("sub", subject, secs, change);
        Ok(())
    }
    fn revoke_key(&self, kid: &str) -> Result<(), Error> {
        let change = RevocationChange::Key {
            kid: kid.to_owned(),
        };
        self.write("kid", kid, 0, change);
        Ok(())
    }
    fn revoke_session(&self, sid: &str, until: OffsetDateTime) -> Result<(), Error> {
        let change = RevocationChange::Session {
            sid: sid.to_owned(),
            until,
        };
        self.write("sid", sid, until.unix_timestamp(), change);
        Ok(())
    }
    fn changes_since(&self, cursor: &ChangeCursor, limit: usize) -> Result<ChangeFeed, Error> {
        let s = self.state.lock().unwrap();
        let from: usize = if cursor.is_start() {
            0
        } else {
            match cursor.as_str().parse() {
                Ok(n) if n <= s.log.len() => n,
                _ => return Ok(ChangeFeed::Resync),
            }
        };
        let changes: Vec<RevocationChange> = s.log[from..].iter().take(limit).cloned().collect();
        let to = from + changes.len();
        let cursor = if to == from {
            cursor.clone()
        } else {
            ChangeCursor::new(to.to_string())
        };
        Ok(ChangeFeed::Changes { changes, cursor })
    }
    fn snapshot(&self) -> Result<Snapshot, Error> {
        let s = self.state.lock().unwrap();
        Ok(Snapshot {
            changes: s.log.clone(),
            cursor: ChangeCursor::new(s.log.len().to_string()),
        })
    }
}

#[test]
fn the_shared_store_double_meets_the_contract() {
    conformance::revocation_store(SharedRevocations::default);
}

/// One API server: its refresh service and its validator, both over the
/// fleet's shared stores.
struct Server {
    tokens: RefreshTokens,
    validator: Validator,
}

impl Server {
    fn verdict(&self, access: &str) -> &'static str {
        match self.validator.validate(access) {
            Ok(_) => "ok",
            Err(e) => e.kind().as_str(),
        }
    }
}

fn server(
    keys: &Arc<KeyRing>,
    refresh: &Arc<InMemoryRefreshStore>,
    revocations: &Arc<SharedRevocations>,
    clock: &Arc<FixedClock>,
) -> Server {
    let tokens = RefreshTokens::builder(
        refresh.clone(),
        keys.clone(),
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
    Server { tokens, validator }
}

#[test]
fn reuse_detected_on_server_a_revokes_the_family_on_server_b() {
    let clock = Arc::new(FixedClock::at_unix(T0));
    let keys = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::ES256).unwrap(),
        clock.clone(),
    ));
    let refresh = Arc::new(InMemoryRefreshStore::new());
    let revocations = Arc::new(SharedRevocations::default());
    let a = server(&keys, &refresh, &revocations, &clock);
    let b = server(&keys, &refresh, &revocations, &clock);

    // Log in on A, refresh on B: one family across the fleet.
    let first = a
        .tokens
        .login(Grant::new("alice").client_id("app"))
        .unwrap();
    clock.advance(60);
    let second = b
        .tokens
        .refresh(first.refresh_token.expose_secret(), Some("app"))
        .unwrap();
    assert_eq!(b.verdict(&second.access_token), "ok");
    assert_eq!(a.verdict(&second.access_token), "ok");
    let other = b.tokens.login(Grant::new("bob").client_id("app")).unwrap();

    // A thief replays the first refresh token; the balancer sends it to A.
    let err = a
        .tokens
        .refresh(first.refresh_token.expose_secret(), Some("app"))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RefreshTokenReused);

    // B rejects every access token of the family, and its refresh token.
    for access in [&first.access_token, &second.access_token] {
        assert_eq!(b.verdict(access), "revoked");
    }
    assert_eq!(
        b.tokens
            .refresh(second.refresh_token.expose_secret(), Some("app"))
            .unwrap_err()
            .kind(),
        ErrorKind::Revoked
    );
    // Other families are untouched.
    assert_eq!(b.verdict(&other.access_token), "ok");

    // A third server validates from a local replica of the shared store:
    // it enforces the revocation once it has synced, never waiting on the
    // store per request.
    let replica = Arc::new(
        RevocationReplica::new(Duration::seconds(30), StalePolicy::FailClosed).clock(clock.clone()),
    );
    let c = Validator::builder(keys.clone())
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .revocation(replica.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let verdict = |t: &str| match c.validate(t) {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    };
    assert_eq!(verdict(&second.access_token), "store_failure", "not ready");
    replica.sync(&*revocations).unwrap();
    assert_eq!(verdict(&second.access_token), "revoked");
    assert_eq!(verdict(&other.access_token), "ok");

    // Logout on B reaches A and the replica's next sync.
    b.tokens
        .revoke(other.refresh_token.expose_secret(), Some("app"))
        .unwrap();
    assert_eq!(a.verdict(&other.access_token), "revoked");
    assert_eq!(verdict(&other.access_token), "ok", "until the next sync");
    replica.sync(&*revocations).unwrap();
    assert_eq!(verdict(&other.access_token), "revoked");
}

#[test]
fn a_compromised_key_is_refused_by_servers_that_still_hold_it() {
    let clock = Arc::new(FixedClock::at_unix(T0));
    // The issuer's old key, and the attacker's copy of it.
    let der = SigningKey::generate_pkcs8_der(Algorithm::ES256).unwrap();
    let old = || {
        SigningKey::from_pkcs8_der(Algorithm::ES256, &der)
            .unwrap()
            .with_key_id("k-old")
    };
    let stolen = old();
    let ring = Arc::new(KeyRing::with_clock(old(), clock.clone()));
    ring.rotate(
        SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_key_id("k-new"),
        Duration::hours(1),
    )
    .unwrap();
    let revocations = Arc::new(SharedRevocations::default());
    let validator = |keys: Arc<dyn tokengate::KeyStore>| {
        Validator::builder(keys)
            .danger_accept_any_type()
            .issuer(ISS)
            .audience(AUD)
            .revocation(revocations.clone())
            .clock(clock.clone())
            .build()
            .unwrap()
    };
    // Server A validates against the ring; server B against the key set it
    // fetched before the compromise, which still holds the old key.
    let a = validator(ring.clone());
    let b = validator(Arc::new(
        tokengate::KeySetStore::new([old().verifying_key()]).unwrap(),
    ));
    let verdict = |v: &Validator, t: &str| match v.validate(t) {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    };
    // The attacker mints tokens with the stolen key, any iat it likes.
    let forged = TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .subject("mallory")
        .clock(clock.clone())
        .sign(&stolen)
        .unwrap();
    assert_eq!(
        verdict(&a, &forged),
        "ok",
        "within the old key's grace period"
    );
    assert_eq!(verdict(&b, &forged), "ok");

    assert!(ring.revoke_compromised("k-old", &*revocations).unwrap());
    // A no longer holds the key; B still does, and refuses its tokens
    // through the shared revocation store, including ones minted later.
    assert_eq!(verdict(&a, &forged), "unknown_key");
    assert_eq!(verdict(&b, &forged), "revoked");
    clock.advance(60);
    let later = TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .subject("mallory")
        .clock(clock.clone())
        .sign(&stolen)
        .unwrap();
    assert_eq!(verdict(&b, &later), "revoked");
    // The current key's tokens are untouched.
    let current = TokenBuilder::new()
        .issuer(ISS)
        .audience(AUD)
        .subject("alice")
        .clock(clock.clone())
        .sign(&ring.current())
        .unwrap();
    assert_eq!(verdict(&a, &current), "ok");
}
