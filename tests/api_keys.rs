//! API keys end to end, through the public API only: issue, store, verify,
//! list, rotate and revoke, and every way a presented key is refused.
//!
//! Each rejection is an attack actually tried: typos and foreign formats
//! (refused as `malformed` before any store lookup, proven by a store that
//! counts lookups), a forged key that pairs a real id with another secret
//! under a recomputed checksum, revoked and expired keys, a failing store.
//! Time is pinned with a shared [`FixedClock`]. Checksums come from
//! `tokengate::testing` (which computes them independently of the
//! library's checksum code) and digests from `ring::digest`, so the tests
//! do not trust the library's own helpers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use proptest::prelude::*;
use time::{Duration, OffsetDateTime};
use tokengate::api_key::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyRecord, ApiKeyStore, ApiKeyVerifier, DEFAULT_ID_LEN,
    DEFAULT_SECRET_LEN, InMemoryApiKeyStore, IssuedApiKey, KeyRotation, KeyRotationOutcome,
    NewApiKey, SecretDigest, VerifiedApiKey,
};
use tokengate::testing::{FailingApiKeyStore, T0, checksum, clock, reseal, with_checksum};
use tokengate::{Error, FixedClock, ScopeSet};

const DAY: i64 = 86_400;
const LEAD: &str = "acme_live_";
const ID_LEN: usize = 12;
const SECRET_LEN: usize = 33;
const CHECK_LEN: usize = 6;
const KEY_LEN: usize = 10 + ID_LEN + SECRET_LEN + CHECK_LEN;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The instant `unix` seconds after the epoch.
fn instant(unix: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(unix).unwrap()
}

/// The in-memory store behind a counter of `get` calls, to prove which
/// inputs reach the store.
#[derive(Debug, Default)]
struct CountingStore {
    inner: InMemoryApiKeyStore,
    gets: AtomicUsize,
}

impl CountingStore {
    fn gets(&self) -> usize {
        self.gets.load(Ordering::SeqCst)
    }
}

impl ApiKeyStore for CountingStore {
    fn get(&self, id: &str) -> Result<Option<Arc<ApiKeyRecord>>, Error> {
        self.gets.fetch_add(1, Ordering::SeqCst);
        self.inner.get(id)
    }
    fn insert(&self, record: ApiKeyRecord) -> Result<(), Error> {
        self.inner.insert(record)
    }
    fn revoke(&self, id: &str, at: OffsetDateTime) -> Result<bool, Error> {
        self.inner.revoke(id, at)
    }
    fn retire(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
        replaced_by: Option<&str>,
    ) -> Result<bool, Error> {
        self.inner.retire(id, expires_at, replaced_by)
    }
    fn rotate(&self, rotation: &KeyRotation) -> Result<KeyRotationOutcome, Error> {
        self.inner.rotate(rotation)
    }
    fn list_by_owner(&self, owner: &str) -> Result<Vec<Arc<ApiKeyRecord>>, Error> {
        self.inner.list_by_owner(owner)
    }
}

fn format() -> ApiKeyFormat {
    ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap()
}

struct Fixture {
    clock: Arc<FixedClock>,
    store: Arc<CountingStore>,
    issuer: ApiKeyIssuer,
    verifier: ApiKeyVerifier,
}

fn fixture() -> Fixture {
    let clock = clock();
    let store = Arc::new(CountingStore::default());
    let issuer = ApiKeyIssuer::new(format()).with_clock(clock.clone());
    let verifier = ApiKeyVerifier::new(format(), store.clone()).with_clock(clock.clone());
    Fixture {
        clock,
        store,
        issuer,
        verifier,
    }
}

fn scopes(s: &str) -> ScopeSet {
    ScopeSet::parse(s).unwrap()
}

/// The error kind of a rejected key; panics if the key is accepted.
fn rejection(verifier: &ApiKeyVerifier, presented: &str) -> &'static str {
    match verifier.verify(presented) {
        Ok(ok) => panic!("accepted {presented:?} as key {}", ok.id()),
        Err(e) => e.kind().as_str(),
    }
}

fn id_part(key: &str) -> &str {
    &key[LEAD.len()..LEAD.len() + ID_LEN]
}

fn secret_part(key: &str) -> &str {
    &key[LEAD.len() + ID_LEN..LEAD.len() + ID_LEN + SECRET_LEN]
}

/// Everything before the checksum.
fn checked_part(key: &str) -> &str {
    &key[..key.len() - CHECK_LEN]
}

fn sha256(data: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, data.as_bytes());
    d.as_ref().try_into().unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn issue(f: &Fixture, new: NewApiKey) -> IssuedApiKey {
    f.issuer.issue_into(&*f.store, new).unwrap()
}

// ---------------------------------------------------------------------------
// Round trips
// ---------------------------------------------------------------------------

/// The checksum against values computed outside the crate: the CRC-32
/// (IEEE 802.3, as zlib computes it) check value of the CRC catalogue
/// (`123456789` gives `0xCBF43926`), the pangram's (`0x414FA339`), and the
/// checksum of a whole key computed with Python's `zlib.crc32` (`0x9A2B1084`),
/// each written as six base62 digits, most significant first.
#[test]
fn checksums_match_crc32_values_computed_elsewhere() {
    assert_eq!(checksum("123456789"), "3jZRME");
    assert_eq!(
        checksum("The quick brown fox jumps over the lazy dog"),
        "1C9bYH"
    );
    let checked = format!("acme_live_{}{}", "Ab3".repeat(4), "x".repeat(SECRET_LEN));
    let key = format!("{checked}2p2kKK");
    assert_eq!(key.len(), KEY_LEN);
    assert!(format().is_well_formed(&key));
    for wrong in ["2p2kKL", "2p2kKJ", "3p2kKK", "000000"] {
        assert!(
            !format().is_well_formed(&format!("{checked}{wrong}")),
            "{wrong}"
        );
    }
}

#[test]
fn documented_shape_constants() {
    assert_eq!((DEFAULT_ID_LEN, DEFAULT_SECRET_LEN), (ID_LEN, SECRET_LEN));
    let f = format();
    assert_eq!(f.lead(), LEAD);
    assert_eq!(f.key_len(), KEY_LEN);
    assert!(f.secret_bits() > 196.0 && f.secret_bits() < 197.0);
}

#[test]
fn issue_insert_verify_round_trip() {
    let f = fixture();
    let (key, record) = f
        .issuer
        .issue(
            NewApiKey::new("svc-billing")
                .name("nightly export")
                .scopes(scopes("invoices:read invoices:write"))
                .metadata("team", "payments")
                .metadata("ticket", "OPS-17")
                .lifetime(Duration::days(90)),
        )
        .unwrap();
    let plain = key.expose_secret();

    // The key has the documented shape and carries its id.
    assert_eq!(plain.len(), KEY_LEN);
    assert!(plain.starts_with(LEAD));
    assert!(
        plain[LEAD.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
    );
    assert_eq!(id_part(plain), key.id());
    assert_eq!(&plain[KEY_LEN - CHECK_LEN..], checksum(checked_part(plain)));
    assert_eq!(
        key.display_prefix(),
        format!("{LEAD}{}…", &key.id()[..6]),
        "display prefix: lead and six id characters"
    );
    assert_eq!(key.display_prefix(), format().display_prefix(key.id()));

    // The record: everything asked for, no secret.
    assert_eq!(record.id, key.id());
    assert_eq!(record.owner, "svc-billing");
    assert_eq!(record.name, "nightly export");
    assert_eq!(record.scopes, scopes("invoices:write invoices:read"));
    assert_eq!(record.created_at, instant(T0));
    assert_eq!(record.expires_at, Some(instant(T0 + 90 * DAY)));
    assert_eq!(record.revoked_at, None);
    assert_eq!(record.replaced_by, None);
    assert_eq!(record.display_prefix, key.display_prefix());
    let metadata: BTreeMap<String, String> = [("team", "payments"), ("ticket", "OPS-17")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    assert_eq!(record.metadata, metadata);

    // Not stored yet: unknown.
    assert_eq!(rejection(&f.verifier, plain), "unknown_credential");
    f.store.insert(record.clone()).unwrap();

    let v: VerifiedApiKey = f.verifier.verify(plain).unwrap();
    assert_eq!(v.id(), key.id());
    assert_eq!(v.owner(), "svc-billing");
    assert_eq!(v.name(), "nightly export");
    assert!(v.scopes().contains("invoices:read") && v.scopes().contains("invoices:write"));
    assert_eq!(v.scopes().len(), 2);
    assert_eq!(v.metadata(), &metadata);
    assert_eq!(v.expires_at(), Some(instant(T0 + 90 * DAY)));
    assert_eq!(v.record(), &record);

    // A second insert of the same id is refused by the store.
    let err = f.store.insert(record).unwrap_err();
    assert_eq!(err.kind().as_str(), "store_failure");
}

#[test]
fn expiry_options() {
    let f = fixture();
    let at = OffsetDateTime::from_unix_timestamp(T0 + 3_600).unwrap();
    let fixed = issue(&f, NewApiKey::new("u").expires_at(at));
    assert_eq!(
        f.verifier
            .verify(fixed.expose_secret())
            .unwrap()
            .expires_at(),
        Some(instant(T0 + 3_600))
    );

    // Of `lifetime` and `expires_at`, the last one set wins.
    let later = issue(
        &f,
        NewApiKey::new("u")
            .lifetime(Duration::days(1))
            .expires_at(at),
    );
    assert_eq!(
        f.verifier
            .verify(later.expose_secret())
            .unwrap()
            .expires_at(),
        Some(instant(T0 + 3_600))
    );

    // No expiry: valid a century later.
    let forever = issue(&f, NewApiKey::new("u"));
    f.clock.set_unix(T0 + 100 * 365 * DAY);
    let v = f.verifier.verify(forever.expose_secret()).unwrap();
    assert_eq!(v.expires_at(), None);
    assert_eq!(
        rejection(&f.verifier, fixed.expose_secret()),
        "expired",
        "while the fixed-expiry key is expired by then"
    );
}

#[test]
fn issue_refuses_bad_requests() {
    let f = fixture();
    let cases = [
        NewApiKey::new(""),
        NewApiKey::new("u").lifetime(Duration::ZERO),
        NewApiKey::new("u").lifetime(Duration::seconds(-1)),
        NewApiKey::new("u").expires_at(OffsetDateTime::from_unix_timestamp(T0).unwrap()),
    ];
    for new in cases {
        let err = f.issuer.issue_into(&*f.store, new).unwrap_err();
        assert_eq!(err.kind().as_str(), "invalid_configuration");
    }
    assert!(f.store.inner.is_empty());
}

#[test]
fn issue_into_stores_the_record() {
    let f = fixture();
    assert!(f.store.inner.is_empty());
    let key = issue(
        &f,
        NewApiKey::new("ci")
            .name("deploy")
            .scopes(scopes("deploy:write"))
            .metadata("repo", "acme/web"),
    );
    assert_eq!(f.store.inner.len(), 1);
    let rec = f.store.get(key.id()).unwrap().unwrap();
    assert_eq!(rec.owner, "ci");
    assert_eq!(rec.name, "deploy");
    assert_eq!(
        rec.metadata.get("repo").map(String::as_str),
        Some("acme/web")
    );
    assert_eq!(
        rec.secret_digest.as_bytes(),
        &sha256(checked_part(key.expose_secret()))
    );
    let v = f.verifier.verify(key.expose_secret()).unwrap();
    assert_eq!(v.record(), &*rec);

    // Fresh randomness: two issues never share an id or a secret.
    let other = issue(&f, NewApiKey::new("ci"));
    assert_ne!(other.id(), key.id());
    assert_ne!(
        secret_part(other.expose_secret()),
        secret_part(key.expose_secret())
    );
}

#[test]
fn list_by_owner_returns_exactly_the_owners_keys() {
    let f = fixture();
    let alice: BTreeSet<String> = (0..3)
        .map(|i| {
            issue(&f, NewApiKey::new("alice").name(format!("k{i}")))
                .id()
                .to_owned()
        })
        .collect();
    let bob = issue(&f, NewApiKey::new("bob"));

    let listed: BTreeSet<String> = f
        .store
        .list_by_owner("alice")
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(r.owner, "alice");
            r.id.clone()
        })
        .collect();
    assert_eq!(listed, alice);

    let bobs = f.store.list_by_owner("bob").unwrap();
    assert_eq!(bobs.len(), 1);
    assert_eq!(bobs[0].id, bob.id());
    assert!(f.store.list_by_owner("carol").unwrap().is_empty());
    assert!(f.store.list_by_owner("ALICE").unwrap().is_empty());

    // A revoked key stays listed, marked revoked.
    assert!(f.verifier.revoke(bob.id()).unwrap());
    let bobs = f.store.list_by_owner("bob").unwrap();
    assert_eq!(bobs[0].revoked_at, Some(instant(T0)));
}

// ---------------------------------------------------------------------------
// Every error kind through verify
// ---------------------------------------------------------------------------

#[test]
fn malformed_keys_are_refused_before_any_lookup() {
    let f = fixture();
    let key = issue(&f, NewApiKey::new("u"));
    let k = key.expose_secret();
    let body = &k[LEAD.len()..KEY_LEN - CHECK_LEN];

    // Keys of other formats, really issued (and stored in the same store).
    let foreign = |fmt: ApiKeyFormat| {
        ApiKeyIssuer::new(fmt)
            .issue_into(&*f.store, NewApiKey::new("u"))
            .unwrap()
            .expose_secret()
            .to_owned()
    };
    let test_env = foreign(
        ApiKeyFormat::new("acme")
            .unwrap()
            .environment("test")
            .unwrap(),
    );
    let no_env = foreign(ApiKeyFormat::new("acme").unwrap());
    let other_org = foreign(
        ApiKeyFormat::new("other")
            .unwrap()
            .environment("live")
            .unwrap(),
    );
    let longer = foreign(format().secret_len(40).unwrap());
    // `acme_` with a secret 5 longer has the same total length as ours.
    let same_len_no_env = foreign(ApiKeyFormat::new("acme").unwrap().secret_len(38).unwrap());
    assert_eq!(same_len_no_env.len(), KEY_LEN);
    assert_eq!(test_env.len(), KEY_LEN);

    let mut cases: Vec<(String, &str)> = vec![
        (String::new(), "empty"),
        ("acme_live_".into(), "lead only"),
        ("acme_live_not-a-key".into(), "short with a dash"),
        (format!("{k}0"), "one extra character"),
        (format!("{k}{k}"), "doubled"),
        (format!(" {k}"), "leading space"),
        (format!("{k}\n"), "trailing newline"),
        (k[1..].to_owned(), "first character dropped"),
        // Only the lead is wrong: the checksum is recomputed over it.
        (
            with_checksum(&format!("acne_live_{body}")),
            "wrong prefix, valid checksum",
        ),
        (
            with_checksum(&format!("ACME_live_{body}")),
            "upper-case prefix",
        ),
        (
            with_checksum(&format!("acme_test_{body}")),
            "wrong environment, valid checksum",
        ),
        (
            with_checksum(&format!("acme_LIVE_{body}")),
            "upper-case environment",
        ),
        (
            with_checksum(&format!("acme-live-{body}")),
            "dashes for underscores",
        ),
        (test_env, "key of acme_test_"),
        (no_env, "key of acme_ (no environment)"),
        (other_org, "key of other_live_"),
        (longer, "key of acme_live_ with a longer secret"),
        (same_len_no_env, "key of acme_ with the same total length"),
        // Only the checksum is wrong.
        (format!("{}zzzzzz", checked_part(k)), "checksum above u32"),
        (format!("{}000000", checked_part(k)), "checksum zero"),
        (k.to_ascii_uppercase(), "upper-cased key"),
        (k.to_ascii_lowercase(), "lower-cased key"),
    ];
    // Only the alphabet is wrong: one body character replaced, checksum
    // recomputed over the bad body.
    for bad in ["-", "+", "/", "=", "_", ".", " ", "\0", "é"] {
        let checked = format!("{LEAD}{bad}{}", &body[bad.len()..]);
        cases.push((with_checksum(&checked), "bad alphabet, valid checksum"));
    }
    // Every truncation.
    for n in 0..KEY_LEN {
        cases.push((k[..n].to_owned(), "truncated"));
    }

    for (candidate, why) in &cases {
        let before = f.store.gets();
        let err = f.verifier.verify(candidate).unwrap_err();
        assert_eq!(err.kind().as_str(), "malformed", "{why}: {candidate:?}");
        assert!(err.is_rejection(), "{why}");
        assert_eq!(f.store.gets(), before, "{why}: reached the store");
        assert!(!format().is_well_formed(candidate), "{why}");
    }
    // The real key still works, and did reach the store.
    f.verifier.verify(k).unwrap();
    assert_eq!(f.store.gets(), 1);
}

#[test]
fn key_of_another_format_with_same_lead_and_length_is_never_accepted() {
    // id 16 + secret 29 == 12 + 33: the shape alone cannot tell these apart,
    // so the key gets past the checksum, but its "id" is not in the store.
    let f = fixture();
    let other = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap()
        .id_len(16)
        .unwrap()
        .secret_len(29)
        .unwrap();
    assert_eq!(other.key_len(), KEY_LEN);
    let key = ApiKeyIssuer::new(other)
        .issue_into(&*f.store, NewApiKey::new("u"))
        .unwrap();
    let kind = rejection(&f.verifier, key.expose_secret());
    assert!(matches!(kind, "malformed" | "unknown_credential"), "{kind}");
}

#[test]
fn unknown_key_with_valid_checksum() {
    let f = fixture();
    let stored = issue(&f, NewApiKey::new("u"));
    // Issued but never stored.
    let (loose, _) = f.issuer.issue(NewApiKey::new("u")).unwrap();
    assert!(format().is_well_formed(loose.expose_secret()));
    let before = f.store.gets();
    assert_eq!(
        rejection(&f.verifier, loose.expose_secret()),
        "unknown_credential"
    );
    assert_eq!(f.store.gets(), before + 1, "a well-formed key is looked up");

    // Built by hand: a made-up id and secret under a valid checksum.
    let made_up = with_checksum(&format!(
        "{LEAD}{}{}",
        "A".repeat(ID_LEN),
        "b".repeat(SECRET_LEN)
    ));
    assert_eq!(rejection(&f.verifier, &made_up), "unknown_credential");
    // The stored key's secret under another id.
    let moved = with_checksum(&format!(
        "{LEAD}{}{}",
        "Z".repeat(ID_LEN),
        secret_part(stored.expose_secret())
    ));
    assert_eq!(rejection(&f.verifier, &moved), "unknown_credential");
    f.verifier.verify(stored.expose_secret()).unwrap();
}

#[test]
fn invalid_secret_forged_with_real_id_and_recomputed_checksum() {
    let f = fixture();
    let key = issue(&f, NewApiKey::new("u"));
    let k = key.expose_secret();

    // The checksum helper reproduces the library's: resealing the real key
    // gives the real key.
    assert_eq!(with_checksum(checked_part(k)), k);

    let (donor, _) = f.issuer.issue(NewApiKey::new("u")).unwrap();
    let forged = with_checksum(&format!(
        "{LEAD}{}{}",
        key.id(),
        secret_part(donor.expose_secret())
    ));
    assert!(format().is_well_formed(&forged));
    assert_eq!(rejection(&f.verifier, &forged), "invalid_secret");

    // Secrets differing from the real one in a single character, each
    // resealed: all refused.
    let secret = secret_part(k);
    for i in 0..SECRET_LEN {
        let mut s = secret.as_bytes().to_vec();
        s[i] = if s[i] == b'a' { b'b' } else { b'a' };
        let forged = with_checksum(&format!(
            "{LEAD}{}{}",
            key.id(),
            std::str::from_utf8(&s).unwrap()
        ));
        assert_eq!(
            rejection(&f.verifier, &forged),
            "invalid_secret",
            "position {i}"
        );
    }
    // The forgery without a recomputed checksum is merely malformed.
    let unsealed = format!(
        "{LEAD}{}{}{}",
        key.id(),
        secret_part(donor.expose_secret()),
        &k[KEY_LEN - CHECK_LEN..]
    );
    assert_eq!(rejection(&f.verifier, &unsealed), "malformed");
    f.verifier.verify(k).unwrap();
}

#[test]
fn revoked() {
    let f = fixture();
    let key = issue(&f, NewApiKey::new("u"));
    let other = issue(&f, NewApiKey::new("u"));
    f.clock.advance(10);
    assert!(f.verifier.revoke(key.id()).unwrap());
    assert_eq!(rejection(&f.verifier, key.expose_secret()), "revoked");
    let err = f.verifier.verify(key.expose_secret()).unwrap_err();
    assert!(matches!(err, Error::Revoked) && err.is_rejection());

    // Revoking again keeps the first instant; unknown ids report false.
    f.clock.advance(10);
    assert!(f.verifier.revoke(key.id()).unwrap());
    assert_eq!(
        f.store.get(key.id()).unwrap().unwrap().revoked_at,
        Some(instant(T0 + 10))
    );
    assert!(!f.verifier.revoke("nope").unwrap());
    assert!(!f.verifier.revoke(other.id().get(..11).unwrap()).unwrap());

    // Revocation is only reported to the holder of the secret.
    let (donor, _) = f.issuer.issue(NewApiKey::new("u")).unwrap();
    let forged = with_checksum(&format!(
        "{LEAD}{}{}",
        key.id(),
        secret_part(donor.expose_secret())
    ));
    assert_eq!(rejection(&f.verifier, &forged), "invalid_secret");

    // Other keys are untouched.
    f.verifier.verify(other.expose_secret()).unwrap();
}

#[test]
fn expired_at_the_exact_instant() {
    let f = fixture();
    let key = issue(&f, NewApiKey::new("u").lifetime(Duration::seconds(100)));
    f.clock.set_unix(T0 + 99);
    f.verifier.verify(key.expose_secret()).unwrap();
    f.clock.set_unix(T0 + 100);
    match f.verifier.verify(key.expose_secret()) {
        Err(e @ Error::Expired { exp, now }) => {
            assert_eq!((exp, now), (T0 + 100, T0 + 100));
            assert_eq!(e.kind().as_str(), "expired");
            assert!(e.is_rejection());
        }
        other => panic!("expected expired, got {other:?}"),
    }
    f.clock.set_unix(T0 + 10 * DAY);
    assert_eq!(rejection(&f.verifier, key.expose_secret()), "expired");

    // Expiry is only reported to the holder of the secret.
    let (donor, _) = f.issuer.issue(NewApiKey::new("u")).unwrap();
    let forged = with_checksum(&format!(
        "{LEAD}{}{}",
        key.id(),
        secret_part(donor.expose_secret())
    ));
    assert_eq!(rejection(&f.verifier, &forged), "invalid_secret");
}

#[test]
fn every_single_character_change_is_rejected() {
    let f = fixture();
    let key = issue(&f, NewApiKey::new("u"));
    let k = key.expose_secret();
    let original: Vec<char> = k.chars().collect();
    let mut replacements: Vec<char> =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"
            .chars()
            .collect();
    replacements.extend(['-', ' ', '.', '+', '/', '=', '\0', '\n', 'é', '€', '😀']);

    let mut candidates = Vec::new();
    for i in 0..original.len() {
        for &c in &replacements {
            if original[i] == c {
                continue;
            }
            let mut m = original.clone();
            m[i] = c;
            candidates.push(m.into_iter().collect::<String>());
        }
        // Deletion, insertion and adjacent transposition at `i`.
        let mut m = original.clone();
        m.remove(i);
        candidates.push(m.into_iter().collect());
        let mut m = original.clone();
        m.insert(i, 'x');
        candidates.push(m.into_iter().collect());
        if i + 1 < original.len() && original[i] != original[i + 1] {
            let mut m = original.clone();
            m.swap(i, i + 1);
            candidates.push(m.into_iter().collect());
        }
    }
    assert!(candidates.len() > KEY_LEN * 70);

    let before = f.store.gets();
    for candidate in &candidates {
        let kind = rejection(&f.verifier, candidate);
        assert!(
            matches!(kind, "malformed" | "invalid_secret" | "unknown_credential"),
            "{candidate:?}: {kind}"
        );
        // CRC32 detects every error confined to 32 consecutive bits, so a
        // single changed or swapped character always fails the checksum:
        // none of these costs a store lookup.
        assert_eq!(kind, "malformed", "{candidate:?}");
    }
    assert_eq!(f.store.gets(), before, "a typo reached the store");
    f.verifier.verify(k).unwrap();
}

// ---------------------------------------------------------------------------
// Properties: arbitrary input never panics and never reaches the store
// unless it carries a valid checksum.
// ---------------------------------------------------------------------------

/// Verifies `s` against a store holding one real key and checks the
/// outcome against `is_well_formed` and the number of lookups.
fn check_arbitrary(s: &str) -> Result<(), TestCaseError> {
    let store = Arc::new(CountingStore::default());
    let issuer = ApiKeyIssuer::new(format());
    issuer.issue_into(&*store, NewApiKey::new("u")).unwrap();
    let verifier = ApiKeyVerifier::new(format(), store.clone());
    let err = match verifier.verify(s) {
        Ok(v) => return Err(TestCaseError::fail(format!("accepted as {}", v.id()))),
        Err(e) => e,
    };
    if format().is_well_formed(s) {
        prop_assert_eq!(err.kind().as_str(), "unknown_credential");
        prop_assert_eq!(store.gets(), 1);
    } else {
        prop_assert_eq!(err.kind().as_str(), "malformed");
        prop_assert_eq!(store.gets(), 0, "malformed input reached the store");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_are_malformed_without_lookup(s in any::<String>()) {
        check_arbitrary(&s)?;
    }

    #[test]
    fn arbitrary_strings_of_key_length(s in "[ -~]{61}") {
        check_arbitrary(&s)?;
    }

    #[test]
    fn lead_and_arbitrary_base62(body in "[0-9A-Za-z]{51}") {
        let s = format!("{LEAD}{body}");
        // Valid only when the last six characters happen to be the
        // checksum of the rest (about one in 2^32).
        prop_assert_eq!(
            format().is_well_formed(&s),
            body[45..] == checksum(&s[..KEY_LEN - CHECK_LEN])
        );
        check_arbitrary(&s)?;
    }

    #[test]
    fn lead_and_near_miss_lengths(body in "[0-9A-Za-z]{0,60}") {
        let s = format!("{LEAD}{body}");
        check_arbitrary(&s)?;
        prop_assert!(body.len() == 51 || !format().is_well_formed(&s));
    }

    #[test]
    fn sealed_arbitrary_base62_is_looked_up_and_unknown(body in "[0-9A-Za-z]{45}") {
        let s = with_checksum(&format!("{LEAD}{body}"));
        prop_assert!(format().is_well_formed(&s));
        check_arbitrary(&s)?;
    }
}

// ---------------------------------------------------------------------------
// Rotation
// ---------------------------------------------------------------------------

#[test]
fn rotation_grace_boundary_and_inheritance() {
    let f = fixture();
    let old = issue(
        &f,
        NewApiKey::new("svc")
            .name("deploy")
            .scopes(scopes("deploy:write logs:read"))
            .metadata("team", "platform")
            .lifetime(Duration::days(30)),
    );
    f.clock.advance(10 * DAY);
    let rotated_at = T0 + 10 * DAY;
    let grace = 3_600;
    let new = f
        .issuer
        .rotate(&*f.store, old.id(), Duration::seconds(grace))
        .unwrap();
    let deadline = rotated_at + grace;
    assert_ne!(new.id(), old.id());

    // The successor inherits everything but the secret and the clock.
    let old_rec = f.store.get(old.id()).unwrap().unwrap();
    let new_rec = f.store.get(new.id()).unwrap().unwrap();
    assert_eq!(new_rec.owner, "svc");
    assert_eq!(new_rec.name, "deploy");
    assert_eq!(new_rec.scopes, scopes("logs:read deploy:write"));
    assert_eq!(new_rec.metadata, old_rec.metadata);
    assert_eq!(
        new_rec.metadata.get("team").map(String::as_str),
        Some("platform")
    );
    assert_eq!(new_rec.created_at, instant(rotated_at));
    assert_eq!(
        new_rec.expires_at.unwrap() - new_rec.created_at,
        Duration::seconds(30 * DAY),
        "the successor's lifetime equals the old key's"
    );
    assert_eq!(new_rec.revoked_at, None);
    assert_ne!(
        new_rec.secret_digest.as_bytes(),
        old_rec.secret_digest.as_bytes()
    );
    assert_eq!(old_rec.replaced_by.as_deref(), Some(new.id()));
    assert_eq!(old_rec.expires_at, Some(instant(deadline)));

    // Both work during the grace period...
    let v = f.verifier.verify(new.expose_secret()).unwrap();
    assert_eq!((v.owner(), v.name()), ("svc", "deploy"));
    f.verifier.verify(old.expose_secret()).unwrap();
    f.clock.set_unix(deadline - 1);
    f.verifier.verify(old.expose_secret()).unwrap();
    // ...and the old one stops at the deadline, exactly.
    f.clock.set_unix(deadline);
    match f.verifier.verify(old.expose_secret()) {
        Err(Error::Expired { exp, now }) => assert_eq!((exp, now), (deadline, deadline)),
        other => panic!("expected expired, got {other:?}"),
    }
    f.verifier.verify(new.expose_secret()).unwrap();
    assert_eq!(f.store.list_by_owner("svc").unwrap().len(), 2);

    // The successor expires a full lifetime after the rotation.
    f.clock.set_unix(rotated_at + 30 * DAY - 1);
    f.verifier.verify(new.expose_secret()).unwrap();
    f.clock.set_unix(rotated_at + 30 * DAY);
    assert_eq!(rejection(&f.verifier, new.expose_secret()), "expired");
}

#[test]
fn rotation_of_a_key_without_expiry() {
    let f = fixture();
    let old = issue(&f, NewApiKey::new("svc").scopes(scopes("a")));
    let new = f
        .issuer
        .rotate(&*f.store, old.id(), Duration::seconds(60))
        .unwrap();
    assert_eq!(f.store.get(new.id()).unwrap().unwrap().expires_at, None);
    assert_eq!(
        f.store.get(old.id()).unwrap().unwrap().expires_at,
        Some(instant(T0 + 60))
    );
    f.clock.set_unix(T0 + 59);
    f.verifier.verify(old.expose_secret()).unwrap();
    f.clock.set_unix(T0 + 60);
    assert_eq!(rejection(&f.verifier, old.expose_secret()), "expired");
    f.clock.set_unix(T0 + 50 * 365 * DAY);
    f.verifier.verify(new.expose_secret()).unwrap();
}

#[test]
fn rotation_grace_never_extends_the_old_expiry() {
    let f = fixture();
    let old = issue(&f, NewApiKey::new("svc").lifetime(Duration::seconds(100)));
    f.issuer
        .rotate(&*f.store, old.id(), Duration::days(1))
        .unwrap();
    assert_eq!(
        f.store.get(old.id()).unwrap().unwrap().expires_at,
        Some(instant(T0 + 100))
    );
    f.clock.set_unix(T0 + 100);
    assert_eq!(rejection(&f.verifier, old.expose_secret()), "expired");
}

#[test]
fn rotating_a_revoked_key_fails() {
    let f = fixture();
    let key = issue(&f, NewApiKey::new("svc"));
    f.verifier.revoke(key.id()).unwrap();
    let err = f
        .issuer
        .rotate(&*f.store, key.id(), Duration::seconds(60))
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "revoked");
    assert_eq!(f.store.inner.len(), 1, "no successor was stored");
    assert_eq!(f.store.get(key.id()).unwrap().unwrap().replaced_by, None);
}

#[test]
fn rotating_an_unknown_id_fails() {
    let f = fixture();
    issue(&f, NewApiKey::new("svc"));
    for id in ["", "nope", "AAAAAAAAAAAA"] {
        let err = f
            .issuer
            .rotate(&*f.store, id, Duration::seconds(60))
            .unwrap_err();
        assert_eq!(err.kind().as_str(), "unknown_credential", "{id:?}");
    }
    assert_eq!(f.store.inner.len(), 1);
}

/// The in-memory store with something happening between a rotation's read
/// of the old key and its write: with a barrier, `get` waits until every
/// party has read (so concurrent rotations all see the key unrotated); with
/// `revoke_after_get`, the key is revoked right after it was read (a
/// revocation landing mid-rotation).
#[derive(Debug, Default)]
struct Interleaving {
    inner: InMemoryApiKeyStore,
    barrier: Option<Barrier>,
    revoke_after_get: AtomicBool,
}

impl ApiKeyStore for Interleaving {
    fn get(&self, id: &str) -> Result<Option<Arc<ApiKeyRecord>>, Error> {
        let found = self.inner.get(id)?;
        if let Some(b) = &self.barrier {
            b.wait();
        }
        if self.revoke_after_get.swap(false, Ordering::SeqCst) {
            self.inner.revoke(id, instant(T0))?;
        }
        Ok(found)
    }
    fn insert(&self, record: ApiKeyRecord) -> Result<(), Error> {
        self.inner.insert(record)
    }
    fn revoke(&self, id: &str, at: OffsetDateTime) -> Result<bool, Error> {
        self.inner.revoke(id, at)
    }
    fn retire(
        &self,
        id: &str,
        expires_at: OffsetDateTime,
        replaced_by: Option<&str>,
    ) -> Result<bool, Error> {
        self.inner.retire(id, expires_at, replaced_by)
    }
    fn rotate(&self, rotation: &KeyRotation) -> Result<KeyRotationOutcome, Error> {
        self.inner.rotate(rotation)
    }
    fn list_by_owner(&self, owner: &str) -> Result<Vec<Arc<ApiKeyRecord>>, Error> {
        self.inner.list_by_owner(owner)
    }
}

#[test]
fn concurrent_rotations_of_one_key_make_exactly_one_successor() {
    let parties = 4;
    let store = Interleaving {
        barrier: Some(Barrier::new(parties)),
        ..Interleaving::default()
    };
    let issuer = ApiKeyIssuer::new(format()).with_clock(clock());
    let key = issuer.issue_into(&store, NewApiKey::new("svc")).unwrap();
    // Every rotation reads the key before any of them writes.
    let results: Vec<Result<String, Error>> = thread::scope(|s| {
        let handles: Vec<_> = (0..parties)
            .map(|_| {
                s.spawn(|| {
                    issuer
                        .rotate(&store, key.id(), Duration::hours(1))
                        .map(|k| k.id().to_owned())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert_eq!(e.kind().as_str(), "invalid_configuration", "{e}");
        }
    }
    // One successor in the store, the one the old key names.
    let keys = store.list_by_owner("svc").unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let old = store.inner.get(key.id()).unwrap().unwrap();
    assert_eq!(old.replaced_by.as_ref(), Some(winners[0]));
}

#[test]
fn a_key_revoked_mid_rotation_gets_no_successor() {
    let store = Interleaving::default();
    let issuer = ApiKeyIssuer::new(format()).with_clock(clock());
    let key = issuer.issue_into(&store, NewApiKey::new("svc")).unwrap();
    // The revocation lands after the rotation read the key, before it
    // wrote anything.
    store.revoke_after_get.store(true, Ordering::SeqCst);
    let err = issuer
        .rotate(&store, key.id(), Duration::hours(1))
        .map(|k| k.id().to_owned())
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "revoked");
    assert_eq!(store.list_by_owner("svc").unwrap().len(), 1);
    let old = store.inner.get(key.id()).unwrap().unwrap();
    assert_eq!((old.replaced_by.as_ref(), old.expires_at), (None, None));
    assert!(old.revoked_at.is_some());
}

// ---------------------------------------------------------------------------
// Concurrency
// ---------------------------------------------------------------------------

#[test]
fn concurrent_verification_while_issuing_and_revoking() {
    const KEYS: usize = 1_000;
    const VERIFIERS: usize = 4;
    const MIN_CHURN: usize = 200;

    let store = Arc::new(InMemoryApiKeyStore::new());
    let issuer = ApiKeyIssuer::new(format());
    let verifier = ApiKeyVerifier::new(format(), store.clone());

    let keys: Arc<Vec<IssuedApiKey>> = Arc::new(
        (0..KEYS)
            .map(|i| {
                issuer
                    .issue_into(&*store, NewApiKey::new(format!("owner-{}", i % 10)))
                    .unwrap()
            })
            .collect(),
    );
    // Every seventh key is revoked before any thread starts.
    let revoked: Arc<Vec<bool>> = Arc::new((0..KEYS).map(|i| i % 7 == 0).collect());
    for (key, _) in keys.iter().zip(revoked.iter()).filter(|(_, r)| **r) {
        assert!(verifier.revoke(key.id()).unwrap());
    }
    let revoked_count = revoked.iter().filter(|r| **r).count();

    let barrier = Arc::new(Barrier::new(VERIFIERS + 1));
    let done = Arc::new(AtomicUsize::new(0));

    let mut verifying = Vec::new();
    for t in 0..VERIFIERS {
        let (keys, revoked, verifier) = (keys.clone(), revoked.clone(), verifier.clone());
        let (barrier, done) = (barrier.clone(), done.clone());
        verifying.push(thread::spawn(move || {
            barrier.wait();
            let (mut ok, mut refused) = (0, 0);
            for pass in 0..2 {
                for j in 0..KEYS {
                    // Each thread walks the keys from a different offset.
                    let i = (j + t * KEYS / VERIFIERS + pass * 97) % KEYS;
                    match verifier.verify(keys[i].expose_secret()) {
                        Ok(v) => {
                            assert!(!revoked[i], "revoked key {i} accepted");
                            assert_eq!(v.id(), keys[i].id());
                            ok += 1;
                        }
                        Err(e) => {
                            assert!(revoked[i], "key {i} refused: {e}");
                            assert_eq!(e.kind().as_str(), "revoked");
                            refused += 1;
                        }
                    }
                }
            }
            done.fetch_add(1, Ordering::SeqCst);
            (ok, refused)
        }));
    }

    let churn = {
        let (issuer, verifier, store) = (issuer.clone(), verifier.clone(), store.clone());
        let (barrier, done) = (barrier.clone(), done.clone());
        thread::spawn(move || {
            barrier.wait();
            let mut n = 0;
            while n < MIN_CHURN || done.load(Ordering::SeqCst) < VERIFIERS {
                let key = issuer.issue_into(&*store, NewApiKey::new("churn")).unwrap();
                verifier.verify(key.expose_secret()).unwrap();
                assert!(verifier.revoke(key.id()).unwrap());
                assert_eq!(
                    verifier
                        .verify(key.expose_secret())
                        .unwrap_err()
                        .kind()
                        .as_str(),
                    "revoked"
                );
                n += 1;
            }
            n
        })
    };

    let mut results = Vec::new();
    for h in verifying {
        results.push(h.join().unwrap());
    }
    let churned = churn.join().unwrap();

    for (ok, refused) in results {
        assert_eq!(ok, 2 * (KEYS - revoked_count));
        assert_eq!(refused, 2 * revoked_count);
    }
    assert!(churned >= MIN_CHURN);
    assert_eq!(store.len(), KEYS + churned);
    let churn_records = store.list_by_owner("churn").unwrap();
    assert_eq!(churn_records.len(), churned);
    assert!(churn_records.iter().all(|r| r.revoked_at.is_some()));
}

// ---------------------------------------------------------------------------
// A failing store
// ---------------------------------------------------------------------------

#[test]
fn store_failure_fails_closed() {
    let store = Arc::new(FailingApiKeyStore::default());
    let issuer = ApiKeyIssuer::new(format());
    let verifier = ApiKeyVerifier::new(format(), store.clone());
    let (key, _) = issuer.issue(NewApiKey::new("u")).unwrap();

    let err = verifier.verify(key.expose_secret()).unwrap_err();
    assert_eq!(err.kind().as_str(), "store_failure");
    assert!(err.is_internal() && !err.is_rejection());
    assert!(!err.to_string().contains(key.expose_secret()));
    assert_eq!(store.gets(), 1);

    // Malformed input is refused before the store is asked.
    assert_eq!(rejection(&verifier, "acme_live_typo"), "malformed");
    assert_eq!(store.gets(), 1);

    // Every other operation surfaces the failure too.
    let err = issuer.issue_into(&*store, NewApiKey::new("u")).unwrap_err();
    assert_eq!(err.kind().as_str(), "store_failure");
    let err = issuer
        .rotate(&*store, key.id(), Duration::seconds(1))
        .unwrap_err();
    assert_eq!(err.kind().as_str(), "store_failure");
    let err = verifier.revoke(key.id()).unwrap_err();
    assert_eq!(err.kind().as_str(), "store_failure");
}

// ---------------------------------------------------------------------------
// Secrets never leak
// ---------------------------------------------------------------------------

#[test]
fn debug_output_never_shows_the_secret() {
    let f = fixture();
    let (key, record) = f
        .issuer
        .issue(NewApiKey::new("u").name("n").metadata("m", "v"))
        .unwrap();
    f.store.insert(record.clone()).unwrap();
    let verified = f.verifier.verify(key.expose_secret()).unwrap();
    let secret = secret_part(key.expose_secret());

    let shown = [
        format!("{key:?}"),
        format!("{key:#?}"),
        format!("{record:?}"),
        format!("{record:#?}"),
        format!("{verified:?}"),
        format!("{:?}", f.verifier),
        format!("{:?}", f.issuer),
    ];
    for s in &shown {
        assert!(!s.contains(key.expose_secret()), "{s}");
        // No 8-character window of the secret appears anywhere.
        for w in 0..=SECRET_LEN - 8 {
            assert!(!s.contains(&secret[w..w + 8]), "{s}");
        }
        // Nor the digest, in hex.
        assert!(
            !s.contains(&hex(&sha256(checked_part(key.expose_secret())))),
            "{s}"
        );
    }
    assert!(shown[0].contains("[redacted]"));
    assert!(shown[0].contains(key.display_prefix()));
}

#[test]
fn record_serializes_without_plaintext_and_round_trips() {
    let f = fixture();
    let (key, record) = f
        .issuer
        .issue(
            NewApiKey::new("svc")
                .name("export")
                .scopes(scopes("a:read b:write"))
                .metadata("team", "data")
                .lifetime(Duration::days(7)),
        )
        .unwrap();
    let secret = secret_part(key.expose_secret());
    let checked = checked_part(key.expose_secret());

    // The digest is SHA-256 of the lead, id and secret (everything before
    // the checksum), and of nothing else: not of the secret alone, which
    // would let a relabelled key verify, nor of the whole key.
    assert_eq!(checked, format!("{LEAD}{}{secret}", key.id()));
    assert_eq!(record.secret_digest.as_bytes(), &sha256(checked));
    assert_ne!(record.secret_digest.as_bytes(), &sha256(secret));
    assert_ne!(
        record.secret_digest.as_bytes(),
        &sha256(key.expose_secret())
    );
    assert_eq!(
        record.secret_digest.as_bytes(),
        SecretDigest::from_bytes(sha256(checked)).as_bytes()
    );

    let json = serde_json::to_string(&record).unwrap();
    assert!(!json.contains(secret), "{json}");
    assert!(!json.contains(key.expose_secret()), "{json}");
    for w in 0..=SECRET_LEN - 8 {
        assert!(!json.contains(&secret[w..w + 8]), "{json}");
    }
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["secret_digest"], hex(&sha256(checked)));
    assert_eq!(value["id"], key.id());
    assert_eq!(value["scopes"], "a:read b:write");
    assert_eq!(value["expires_at"], T0 + 7 * DAY);
    let fields: BTreeSet<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        fields,
        BTreeSet::from([
            "id",
            "secret_digest",
            "owner",
            "name",
            "scopes",
            "created_at",
            "expires_at",
            "revoked_at",
            "replaced_by",
            "display_prefix",
            "metadata",
        ])
    );

    let back: ApiKeyRecord = serde_json::from_str(&json).unwrap();
    assert_eq!(back, record);

    // A record read back from JSON verifies the key it was issued for.
    f.store.insert(back).unwrap();
    f.verifier.verify(key.expose_secret()).unwrap();

    // A digest that is not lowercase hex does not deserialize.
    let bad = json.replace(&hex(&sha256(checked)), &"G".repeat(64));
    assert!(serde_json::from_str::<ApiKeyRecord>(&bad).is_err());
}

// ---------------------------------------------------------------------------
// The scanner regex and `is_well_formed`
// ---------------------------------------------------------------------------

/// Finds the matches of a regex of the exact form `\bLEAD[0-9A-Za-z]{N}\b`
/// in `text`. Panics on any other form.
fn find_with_regex<'t>(regex: &str, text: &'t str) -> Vec<&'t str> {
    let inner = regex
        .strip_prefix(r"\b")
        .and_then(|r| r.strip_suffix(r"\b"))
        .unwrap();
    let (lead, rest) = inner.split_once("[0-9A-Za-z]{").unwrap();
    let n: usize = rest.strip_suffix('}').unwrap().parse().unwrap();
    assert!(lead.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let end = i + lead.len() + n;
        let boundary_before = i == 0 || !word(bytes[i - 1]);
        let boundary_after = end == bytes.len() || (end < bytes.len() && !word(bytes[end]));
        if boundary_before
            && end <= bytes.len()
            && text[i..].starts_with(lead)
            && bytes[i + lead.len()..end]
                .iter()
                .all(u8::is_ascii_alphanumeric)
            && boundary_after
        {
            out.push(&text[i..end]);
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

#[test]
fn regex_is_exact() {
    assert_eq!(format().regex(), r"\bacme_live_[0-9A-Za-z]{51}\b");
    assert_eq!(
        ApiKeyFormat::new("acme").unwrap().regex(),
        r"\bacme_[0-9A-Za-z]{51}\b"
    );
    let custom = ApiKeyFormat::new("x9")
        .unwrap()
        .environment("dev")
        .unwrap()
        .id_len(16)
        .unwrap()
        .secret_len(40)
        .unwrap();
    assert_eq!(custom.regex(), r"\bx9_dev_[0-9A-Za-z]{62}\b");
    assert_eq!(custom.key_len(), "x9_dev_".len() + 62);
}

#[test]
fn regex_finds_keys_in_text_and_is_well_formed_filters_them() {
    let f = fixture();
    let a = issue(&f, NewApiKey::new("u"));
    let b = issue(&f, NewApiKey::new("u"));
    let (a, b) = (a.expose_secret(), b.expose_secret());
    // A typo: the regex still matches it (shape only), the checksum does not.
    let typo = format!("{}{}", &a[..20], if &a[20..21] == "x" { "y" } else { "x" }) + &a[21..];

    let text = format!(
        "export KEY={a}\n\
         curl -H 'Authorization: Bearer {b}'\n\
         typo: {typo},\n\
         glued: x{a} and {a}_suffix and {a}9\n\
         short: acme_live_abc and other_live_{}\n",
        &a[LEAD.len()..]
    );
    let found = find_with_regex(&format().regex(), &text);
    assert_eq!(found, vec![a, b, typo.as_str()]);
    let valid: Vec<&str> = found
        .into_iter()
        .filter(|c| format().is_well_formed(c))
        .collect();
    assert_eq!(valid, vec![a, b]);

    // Every key that is well formed matches the regex on its own.
    for k in [a, b] {
        assert_eq!(find_with_regex(&format().regex(), k), vec![k]);
    }
}

#[test]
fn is_well_formed_agrees_with_verify_on_shape() {
    let f = fixture();
    let key = issue(&f, NewApiKey::new("u"));
    let k = key.expose_secret();
    let (loose, _) = f.issuer.issue(NewApiKey::new("u")).unwrap();
    let (donor, _) = f.issuer.issue(NewApiKey::new("u")).unwrap();
    let forged = with_checksum(&format!(
        "{LEAD}{}{}",
        key.id(),
        secret_part(donor.expose_secret())
    ));
    let candidates = [
        k.to_owned(),
        loose.expose_secret().to_owned(),
        forged,
        String::new(),
        k[..KEY_LEN - 1].to_owned(),
        format!("{}A", &k[..KEY_LEN - 1]),
        k.replace("acme_live_", "acme_test_"),
        with_checksum(&format!("{LEAD}{}", "-".repeat(45))),
        "acme_live_not-a-key".to_owned(),
    ];
    for c in &candidates {
        let well_formed = format().is_well_formed(c);
        let shape_ok = match f.verifier.verify(c) {
            Ok(_) => true,
            Err(e) => e.kind().as_str() != "malformed",
        };
        assert_eq!(well_formed, shape_ok, "{c:?}");
    }
    assert!(format().is_well_formed(k));
    assert!(!format().is_well_formed(&k.replace("acme_live_", "acme_test_")));
}

// ---------------------------------------------------------------------------
// A key is bound to its format (prefix and environment)

/// `key` with its lead `from` replaced by `to` and its checksum recomputed:
/// the same id and secret under another prefix or environment, well formed
/// for the other format.
fn relabel(key: &str, from: &str, to: &str) -> String {
    assert!(key.starts_with(from), "{key} does not start with {from}");
    reseal(&format!("{to}{}", &key[from.len()..]))
}

fn test_format() -> ApiKeyFormat {
    ApiKeyFormat::new("acme")
        .unwrap()
        .environment("test")
        .unwrap()
}

#[test]
fn a_test_key_relabelled_live_is_refused_by_the_live_verifier() {
    // Both environments share one record store.
    let clock = clock();
    let store = Arc::new(InMemoryApiKeyStore::new());
    let test_issuer = ApiKeyIssuer::new(test_format()).with_clock(clock.clone());
    let live_issuer = ApiKeyIssuer::new(format()).with_clock(clock.clone());
    let test = ApiKeyVerifier::new(test_format(), store.clone()).with_clock(clock.clone());
    let live = ApiKeyVerifier::new(format(), store.clone()).with_clock(clock.clone());

    let test_key = test_issuer
        .issue_into(&*store, NewApiKey::new("ci").scopes(scopes("orders:write")))
        .unwrap();
    let live_key = live_issuer
        .issue_into(&*store, NewApiKey::new("billing"))
        .unwrap();
    test.verify(test_key.expose_secret()).unwrap();
    live.verify(live_key.expose_secret()).unwrap();

    // The test key as a live key: well formed, right id, right secret.
    let promoted = relabel(test_key.expose_secret(), "acme_test_", LEAD);
    assert!(format().is_well_formed(&promoted));
    assert_eq!(format().key_id(&promoted).unwrap(), test_key.id());
    assert_eq!(rejection(&live, &promoted), "invalid_secret");
    let record = store.get(test_key.id()).unwrap().unwrap();
    assert_eq!(
        live.verify_record(&promoted, record).unwrap_err().kind(),
        tokengate::ErrorKind::InvalidSecret
    );
    // And a live key as a test key.
    let demoted = relabel(live_key.expose_secret(), LEAD, "acme_test_");
    assert_eq!(rejection(&test, &demoted), "invalid_secret");
    // Another prefix of the same length, without an environment.
    let other = ApiKeyFormat::new("acmelive2").unwrap();
    assert_eq!(other.key_len(), KEY_LEN);
    let moved = relabel(live_key.expose_secret(), LEAD, "acmelive2_");
    let other_verifier = ApiKeyVerifier::new(other, store.clone()).with_clock(clock);
    assert_eq!(rejection(&other_verifier, &moved), "invalid_secret");
    // The originals still work.
    test.verify(test_key.expose_secret()).unwrap();
    live.verify(live_key.expose_secret()).unwrap();
}

#[test]
fn a_live_issuer_refuses_to_rotate_a_test_key() {
    let clock = clock();
    let store = Arc::new(InMemoryApiKeyStore::new());
    let test_issuer = ApiKeyIssuer::new(test_format()).with_clock(clock.clone());
    let live_issuer = ApiKeyIssuer::new(format()).with_clock(clock.clone());
    let test_key = test_issuer
        .issue_into(&*store, NewApiKey::new("ci").scopes(scopes("orders:write")))
        .unwrap();
    let err = live_issuer
        .rotate(&*store, test_key.id(), Duration::hours(1))
        .map(|k| k.display_prefix().to_owned())
        .unwrap_err();
    assert_eq!(err.kind(), tokengate::ErrorKind::InvalidConfiguration);
    // Nothing changed: no successor, the test key untouched.
    assert_eq!(store.list_by_owner("ci").unwrap().len(), 1);
    let record = store.get(test_key.id()).unwrap().unwrap();
    assert_eq!(
        (record.replaced_by.as_ref(), record.expires_at),
        (None, None)
    );
    // Its own issuer rotates it.
    let next = test_issuer
        .rotate(&*store, test_key.id(), Duration::hours(1))
        .unwrap();
    assert!(next.expose_secret().starts_with("acme_test_"));
    // A format with the same lead but other lengths is another format too.
    let longer_ids = test_format().id_len(16).unwrap().secret_len(29).unwrap();
    let err = ApiKeyIssuer::new(longer_ids)
        .with_clock(clock)
        .rotate(&*store, next.id(), Duration::hours(1))
        .map(|k| k.display_prefix().to_owned())
        .unwrap_err();
    assert_eq!(err.kind(), tokengate::ErrorKind::InvalidConfiguration);
}
