//! A dudect-style timing-leak check ("dude, is my code constant time?",
//! Reparaz, Balasch and Verbauwhede, DATE 2017) of the secret comparisons:
//! API key verification (directly and through the `Authorization` front
//! door), refresh token lookup and HS256 tag verification, next to two
//! deliberately leaky controls that the check must flag.
//!
//! Each check times one call at a time with [`Instant`] on inputs of two
//! classes, randomly interleaved: the presented secret (or the stored
//! digest, or the tag) differs from the right one in its *first* byte, or
//! in its *last* byte. An early-exit comparison would be faster for the
//! first class. Welch's t-test then compares the two timing distributions,
//! uncropped and cropped at several percentiles (to drop interrupts and
//! other outliers); the largest |t| is reported, and |t| >= 4.5 is a leak.
//!
//! ```text
//! cargo bench --bench timing -- --strict
//! cargo bench --bench timing -- [--strict] [--verbose] [--measurements N] [--budget SECONDS] [--seed N] [FILTER...]
//! ```
//!
//! `--strict` exits with status 1 when a verdict is not the expected one.
//! Under `cargo test --benches` (no `--bench` argument) every check runs a
//! few thousand measurements and nothing is judged. See `docs/timing.md`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokengate::api_key::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyRecord, ApiKeyVerifier, DEFAULT_ID_LEN, InMemoryApiKeyStore,
    NewApiKey, SecretDigest,
};
use tokengate::refresh::{RotateOutcome, RotateRequest};
use tokengate::testing::{BASE62, checksum, clock_at};
use tokengate::{
    Algorithm, Authenticator, Error, ErrorKind, FixedClock, Grant, InMemoryRefreshStore, KeyRing,
    RefreshRecord, RefreshStore, RefreshTokens, SigningKey, TokenBuilder, VerifyingKey,
};

/// The dudect threshold: |t| above it means the two classes take
/// different time, with overwhelming confidence.
const THRESHOLD: f64 = 4.5;
/// Inputs are prepared in batches of this many, then timed one by one.
const BATCH: usize = 1_000;
/// Batches timed and thrown away first (caches, branch predictors, CPU
/// frequency).
const WARMUP_BATCHES: usize = 5;
/// Percentiles at which the measurements are cropped (kept: those at or
/// under it), besides the uncropped test.
const CROPS: [f64; 6] = [99.9, RESOLUTION_CROP, 95.0, 90.0, 75.0, 50.0];
/// The crop whose standard error the table reports as the resolution.
const RESOLUTION_CROP: f64 = 99.0;

const NOW: i64 = 1_800_000_000;
const CHECKSUM_LEN: usize = 6;

// ---------------------------------------------------------------------------
// Randomness, checksums and the leaky comparison

/// xorshift64: enough to pick classes and bytes; not for secrets.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// 0 or 1, each with probability 1/2.
    fn class(&mut self) -> u8 {
        (self.next() >> 63) as u8
    }

    /// A byte in 1..=255: XORed into a byte, it always changes it.
    fn nonzero_byte(&mut self) -> u8 {
        self.below(255) as u8 + 1
    }

    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        for b in &mut out {
            *b = self.next() as u8;
        }
        out
    }
}

/// Replaces the character at `pos` of `text` with another base62
/// character and recomputes the checksum over `text[skip..]` (the key
/// itself, after any `Bearer ` scheme), so the key still reaches the store
/// and the digest comparison.
fn change_char(rng: &mut XorShift, out: &mut String, text: &str, pos: usize, skip: usize) {
    let current = text.as_bytes()[pos];
    let replacement = loop {
        let c = BASE62[rng.below(62) as usize];
        if c != current {
            break c;
        }
    };
    out.clear();
    out.push_str(&text[..pos]);
    out.push(char::from(replacement));
    out.push_str(&text[pos + 1..text.len() - CHECKSUM_LEN]);
    let sum = checksum(&out[skip..]);
    out.push_str(&sum);
}

/// The comparison this crate must never use on secrets: it returns at the
/// first differing byte. Not inlined, so the loop stays a loop.
#[inline(never)]
fn early_exit_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return false;
        }
    }
    true
}

/// The index of the byte a class changes: the first or the last.
fn position(class: u8, len: usize) -> usize {
    if class == 0 { 0 } else { len - 1 }
}

// ---------------------------------------------------------------------------
// What is measured

/// One operation under test, with its inputs for a batch.
trait Target {
    /// Prepares input `slot` of the batch for `class` (0: differs in the
    /// first byte, 1: differs in the last byte). Not timed.
    fn prepare(&mut self, rng: &mut XorShift, slot: usize, class: u8);

    /// Runs just before the timed call for `slot`. Not timed.
    fn arm(&mut self, _slot: usize) {}

    /// The timed call on input `slot`.
    fn run(&self, slot: usize);
}

fn api_key_setup() -> (ApiKeyFormat, ApiKeyIssuer, Arc<FixedClock>) {
    let clock = clock_at(NOW);
    let format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap();
    let issuer = ApiKeyIssuer::new(format.clone()).with_clock(clock.clone());
    (format, issuer, clock)
}

/// What an [`ApiKeySecret`] check calls.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyPath {
    /// `ApiKeyVerifier::verify`.
    Verify,
    /// `Authenticator::authenticate` with `Bearer <key>`.
    FrontDoor,
    /// `ApiKeyFormat::is_well_formed` only: length, alphabet, checksum.
    FormatOnly,
}

/// An API key of a known id, its secret wrong in the first or the last
/// character and the checksum recomputed, through `path`. Each
/// measurement starts from one of `POOL` stored keys picked at random.
struct ApiKeySecret {
    verifier: ApiKeyVerifier,
    door: Authenticator,
    path: KeyPath,
    /// The texts presented: keys, or `Bearer ` and a key.
    texts: Vec<String>,
    /// Where the key starts in a text.
    skip: usize,
    secret_start: usize,
    secret_len: usize,
    inputs: Vec<String>,
}

impl ApiKeySecret {
    fn new(path: KeyPath) -> Self {
        let (format, issuer, clock) = api_key_setup();
        let store = Arc::new(InMemoryApiKeyStore::new());
        let skip = if path == KeyPath::FrontDoor {
            "Bearer ".len()
        } else {
            0
        };
        let texts: Vec<String> = (0..POOL)
            .map(|i| {
                let key = issuer
                    .issue_into(&*store, NewApiKey::new(format!("owner-{i}")))
                    .unwrap();
                let prefix = if skip == 0 { "" } else { "Bearer " };
                format!("{prefix}{}", key.expose_secret())
            })
            .collect();
        let verifier = ApiKeyVerifier::new(format.clone(), store).with_clock(clock);
        let secret_len = format.key_len() - format.lead().len() - DEFAULT_ID_LEN - CHECKSUM_LEN;
        let mut t = Self {
            door: Authenticator::builder()
                .api_keys(verifier.clone())
                .build()
                .unwrap(),
            verifier,
            path,
            texts,
            skip,
            secret_start: skip + format.lead().len() + DEFAULT_ID_LEN,
            secret_len,
            inputs: (0..BATCH)
                .map(|_| String::with_capacity(skip + format.key_len()))
                .collect(),
        };
        for text in &t.texts {
            t.verifier.verify(&text[t.skip..]).unwrap();
            let header = format!("Bearer {}", &text[t.skip..]);
            t.door.authenticate(Some(&header)).unwrap();
        }
        let mut rng = XorShift::new(7);
        for class in [0, 1] {
            for _ in 0..100 {
                t.prepare(&mut rng, 0, class);
                let input = &t.inputs[0];
                let key = &input[t.skip..];
                assert!(t.verifier.format().is_well_formed(key));
                let kind = match path {
                    KeyPath::FrontDoor => {
                        let err = t.door.authenticate(Some(input)).unwrap_err();
                        err.cause().unwrap().kind()
                    }
                    _ => t.verifier.verify(key).unwrap_err().kind(),
                };
                assert_eq!(kind, ErrorKind::InvalidSecret, "class {class}");
            }
        }
        t
    }
}

impl Target for ApiKeySecret {
    fn prepare(&mut self, rng: &mut XorShift, slot: usize, class: u8) {
        let text = &self.texts[rng.below(self.texts.len() as u64) as usize];
        let pos = self.secret_start + position(class, self.secret_len);
        change_char(rng, &mut self.inputs[slot], text, pos, self.skip);
    }

    fn run(&self, slot: usize) {
        let input = black_box(self.inputs[slot].as_str());
        match self.path {
            KeyPath::Verify => {
                let r = self.verifier.verify(input);
                black_box(&r);
            }
            KeyPath::FrontDoor => {
                let r = self.door.authenticate(Some(input));
                black_box(&r);
            }
            KeyPath::FormatOnly => {
                black_box(self.verifier.format().is_well_formed(input));
            }
        }
    }
}

/// `ApiKeyVerifier::verify_record` with the right key and a stored digest
/// wrong in its first or its last byte: this drives the `subtle`
/// comparison itself (behind a hash, a changed secret character changes
/// every digest byte). With `leaky`, an early-exit comparison of the
/// stored digest follows: the control.
struct ApiKeyDigest {
    verifier: ApiKeyVerifier,
    key: String,
    record: ApiKeyRecord,
    records: Vec<Arc<ApiKeyRecord>>,
    leaky: bool,
}

impl ApiKeyDigest {
    fn new(leaky: bool) -> Self {
        let (format, issuer, clock) = api_key_setup();
        let (issued, record) = issuer.issue(NewApiKey::new("timing")).unwrap();
        let verifier =
            ApiKeyVerifier::new(format, Arc::new(InMemoryApiKeyStore::new())).with_clock(clock);
        let mut t = Self {
            verifier,
            key: issued.expose_secret().to_owned(),
            records: (0..BATCH).map(|_| Arc::new(record.clone())).collect(),
            record,
            leaky,
        };
        t.verifier
            .verify_record(&t.key, Arc::new(t.record.clone()))
            .unwrap();
        let mut rng = XorShift::new(7);
        for class in [0, 1] {
            t.prepare(&mut rng, 0, class);
            let err = t
                .verifier
                .verify_record(&t.key, Arc::clone(&t.records[0]))
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSecret, "class {class}");
        }
        t
    }
}

impl Target for ApiKeyDigest {
    fn prepare(&mut self, rng: &mut XorShift, slot: usize, class: u8) {
        let mut digest = *self.record.secret_digest.as_bytes();
        digest[position(class, digest.len())] ^= rng.nonzero_byte();
        let mut record = self.record.clone();
        record.secret_digest = SecretDigest::from_bytes(digest);
        self.records[slot] = Arc::new(record);
    }

    fn run(&self, slot: usize) {
        let record = &self.records[slot];
        let r = self
            .verifier
            .verify_record(black_box(&self.key), Arc::clone(record));
        black_box(&r);
        if self.leaky {
            black_box(early_exit_eq(
                black_box(record.secret_digest.as_bytes()),
                black_box(self.record.secret_digest.as_bytes()),
            ));
        }
    }
}

fn refresh_tokens(store: Arc<dyn RefreshStore>) -> (RefreshTokens, String) {
    let clock = clock_at(NOW);
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::hmac(Algorithm::HS256, &[0x5c; 32]).unwrap(),
        clock.clone(),
    ));
    let tokens = RefreshTokens::builder(
        store,
        ring,
        TokenBuilder::new().issuer("https://auth").audience("api"),
    )
    .without_access_token_revocation()
    .reuse_grace(tokengate::time::Duration::ZERO)
    .clock(clock)
    .build()
    .unwrap();
    let pair = tokens.login(Grant::new("timing")).unwrap();
    let token = pair.refresh_token.expose_secret().to_owned();
    (tokens, token)
}

/// `RefreshTokens::inspect` through the in-memory store: a live token,
/// its secret wrong in the first or the last character, the checksum
/// recomputed. Each measurement starts from one of `POOL` live tokens
/// picked at random.
struct RefreshSecret {
    tokens: RefreshTokens,
    live: Vec<String>,
    secret_start: usize,
    secret_len: usize,
    inputs: Vec<String>,
}

impl RefreshSecret {
    fn new() -> Self {
        let store = Arc::new(InMemoryRefreshStore::new());
        let (tokens, first) = refresh_tokens(store);
        let mut live = vec![first];
        for i in 1..POOL {
            let pair = tokens.login(Grant::new(format!("user-{i}"))).unwrap();
            live.push(pair.refresh_token.expose_secret().to_owned());
        }
        let format = tokens.format();
        let secret_len = format.key_len() - format.lead().len() - DEFAULT_ID_LEN - CHECKSUM_LEN;
        let mut t = Self {
            secret_start: format.lead().len() + DEFAULT_ID_LEN,
            secret_len,
            inputs: (0..BATCH)
                .map(|_| String::with_capacity(format.key_len()))
                .collect(),
            tokens,
            live,
        };
        for token in &t.live {
            assert!(t.tokens.inspect(token).unwrap().is_some());
        }
        let mut rng = XorShift::new(7);
        for class in [0, 1] {
            for _ in 0..100 {
                t.prepare(&mut rng, 0, class);
                assert!(t.tokens.inspect(&t.inputs[0]).unwrap().is_none());
                // A wrong secret is refused before the token is consumed.
                let err = t.tokens.refresh(&t.inputs[0], None).unwrap_err();
                assert_eq!(err.kind(), ErrorKind::InvalidSecret, "class {class}");
            }
        }
        t
    }
}

impl Target for RefreshSecret {
    fn prepare(&mut self, rng: &mut XorShift, slot: usize, class: u8) {
        let token = &self.live[rng.below(self.live.len() as u64) as usize];
        let pos = self.secret_start + position(class, self.secret_len);
        change_char(rng, &mut self.inputs[slot], token, pos, 0);
    }

    fn run(&self, slot: usize) {
        let r = self.tokens.inspect(black_box(&self.inputs[slot]));
        black_box(&r);
    }
}

/// A refresh store that answers every lookup with the record installed
/// last, so a measurement can choose the stored digest.
#[derive(Debug, Default)]
struct OneRecordStore {
    current: RwLock<Option<Arc<RefreshRecord>>>,
}

impl OneRecordStore {
    fn set(&self, record: Arc<RefreshRecord>) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Some(record);
    }
}

impl RefreshStore for OneRecordStore {
    fn get(&self, _id: &str) -> Result<Option<Arc<RefreshRecord>>, Error> {
        Ok(self
            .current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }

    fn insert(&self, record: RefreshRecord) -> Result<(), Error> {
        self.set(Arc::new(record));
        Ok(())
    }

    fn rotate(&self, _request: &RotateRequest) -> Result<RotateOutcome, Error> {
        Ok(RotateOutcome::Unknown)
    }

    fn revoke_family(
        &self,
        _family_id: &str,
        _at: tokengate::time::OffsetDateTime,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn is_family_revoked(&self, _family_id: &str) -> Result<bool, Error> {
        Ok(false)
    }
}

/// `RefreshTokens::inspect` with the right token and a stored digest wrong
/// in its first or its last byte.
struct RefreshDigest {
    tokens: RefreshTokens,
    token: String,
    store: Arc<OneRecordStore>,
    record: RefreshRecord,
    records: Vec<Arc<RefreshRecord>>,
}

impl RefreshDigest {
    fn new() -> Self {
        let store = Arc::new(OneRecordStore::default());
        let (tokens, token) = refresh_tokens(store.clone());
        let record = (*store.get("").unwrap().unwrap()).clone();
        let mut t = Self {
            tokens,
            token,
            store,
            records: (0..BATCH).map(|_| Arc::new(record.clone())).collect(),
            record,
        };
        assert!(t.tokens.inspect(&t.token).unwrap().is_some());
        let mut rng = XorShift::new(7);
        for class in [0, 1] {
            t.prepare(&mut rng, 0, class);
            t.arm(0);
            assert!(t.tokens.inspect(&t.token).unwrap().is_none());
            let err = t.tokens.refresh(&t.token, None).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidSecret, "class {class}");
        }
        t
    }
}

impl Target for RefreshDigest {
    fn prepare(&mut self, rng: &mut XorShift, slot: usize, class: u8) {
        let mut digest = *self.record.secret_digest.as_bytes();
        digest[position(class, digest.len())] ^= rng.nonzero_byte();
        let mut record = self.record.clone();
        record.secret_digest = SecretDigest::from_bytes(digest);
        self.records[slot] = Arc::new(record);
    }

    fn arm(&mut self, slot: usize) {
        self.store.set(Arc::clone(&self.records[slot]));
    }

    fn run(&self, _slot: usize) {
        let r = self.tokens.inspect(black_box(&self.token));
        black_box(&r);
    }
}

/// `VerifyingKey::verify` for HS256 with a tag wrong in its first or its
/// last byte.
struct HmacTag {
    key: Arc<VerifyingKey>,
    message: Vec<u8>,
    tag: [u8; 32],
    tags: Vec<[u8; 32]>,
}

impl HmacTag {
    fn new(rng: &mut XorShift) -> Self {
        let signer = SigningKey::hmac(Algorithm::HS256, &rng.bytes::<32>()).unwrap();
        let token = TokenBuilder::new()
            .issuer("https://auth")
            .audience("api")
            .subject("timing")
            .sign(&signer)
            .unwrap();
        let message = token.as_bytes()[..token.rfind('.').unwrap()].to_vec();
        let tag: [u8; 32] = signer.sign(&message).unwrap().try_into().unwrap();
        let mut t = Self {
            key: signer.verifying_key(),
            message,
            tag,
            tags: vec![tag; BATCH],
        };
        t.key.verify(&t.message, &t.tag).unwrap();
        for class in [0, 1] {
            t.prepare(rng, 0, class);
            assert!(matches!(
                t.key.verify(&t.message, &t.tags[0]),
                Err(Error::InvalidSignature)
            ));
        }
        t
    }
}

impl Target for HmacTag {
    fn prepare(&mut self, rng: &mut XorShift, slot: usize, class: u8) {
        let mut tag = self.tag;
        tag[position(class, tag.len())] ^= rng.nonzero_byte();
        self.tags[slot] = tag;
    }

    fn run(&self, slot: usize) {
        let r = self
            .key
            .verify(black_box(&self.message), black_box(&self.tags[slot]));
        black_box(&r);
    }
}

/// The control: an early-exit comparison of two 32-byte digests.
struct EarlyExit {
    stored: [u8; 32],
    inputs: Vec<[u8; 32]>,
}

impl EarlyExit {
    fn new(rng: &mut XorShift) -> Self {
        let stored = rng.bytes::<32>();
        assert!(early_exit_eq(&stored, &stored));
        Self {
            stored,
            inputs: vec![stored; BATCH],
        }
    }
}

impl Target for EarlyExit {
    fn prepare(&mut self, rng: &mut XorShift, slot: usize, class: u8) {
        let mut input = self.stored;
        input[position(class, input.len())] ^= rng.nonzero_byte();
        assert!(!early_exit_eq(&self.stored, &input));
        self.inputs[slot] = input;
    }

    fn run(&self, slot: usize) {
        black_box(early_exit_eq(
            black_box(&self.stored),
            black_box(&self.inputs[slot]),
        ));
    }
}

// ---------------------------------------------------------------------------
// Measuring and testing

/// Welch's t-test, accumulated online (Welford) for the two classes.
#[derive(Clone, Copy, Default)]
struct Welch {
    n: [f64; 2],
    mean: [f64; 2],
    m2: [f64; 2],
}

impl Welch {
    fn push(&mut self, class: u8, x: f64) {
        let c = usize::from(class);
        self.n[c] += 1.0;
        let delta = x - self.mean[c];
        self.mean[c] += delta / self.n[c];
        self.m2[c] += delta * (x - self.mean[c]);
    }

    /// The standard error of the difference of the means.
    fn se(&self) -> f64 {
        if self.n[0] < 2.0 || self.n[1] < 2.0 {
            return f64::INFINITY;
        }
        let v0 = self.m2[0] / (self.n[0] - 1.0);
        let v1 = self.m2[1] / (self.n[1] - 1.0);
        (v0 / self.n[0] + v1 / self.n[1]).sqrt()
    }

    fn t(&self) -> f64 {
        let se = self.se();
        if se == 0.0 || se.is_infinite() {
            return 0.0;
        }
        (self.mean[0] - self.mean[1]) / se
    }
}

/// Timings in nanoseconds with their classes.
struct Samples {
    class: Vec<u8>,
    ns: Vec<u64>,
}

fn measure(target: &mut dyn Target, want: usize, budget: Duration, rng: &mut XorShift) -> Samples {
    let mut s = Samples {
        class: Vec::with_capacity(want),
        ns: Vec::with_capacity(want),
    };
    let mut classes = [0u8; BATCH];
    let mut times = [0u64; BATCH];
    let start = Instant::now();
    let mut batch = 0usize;
    while s.ns.len() < want && start.elapsed() < budget {
        for (slot, class) in classes.iter_mut().enumerate() {
            *class = rng.class();
            target.prepare(rng, slot, *class);
        }
        for (slot, time) in times.iter_mut().enumerate() {
            target.arm(slot);
            let t0 = Instant::now();
            target.run(slot);
            let dt = t0.elapsed();
            *time = u64::try_from(dt.as_nanos()).unwrap_or(u64::MAX);
        }
        batch += 1;
        if batch > WARMUP_BATCHES {
            let take = (want - s.ns.len()).min(BATCH);
            s.class.extend_from_slice(&classes[..take]);
            s.ns.extend_from_slice(&times[..take]);
        }
    }
    s
}

/// The result of one check.
struct Outcome {
    measurements: usize,
    max_t: f64,
    /// The crop of the largest |t| (`None`: uncropped).
    crop: Option<f64>,
    /// Mean time of each class at that crop, in nanoseconds.
    means: [f64; 2],
    /// The smallest difference of the means the test cropped at the 99th
    /// percentile would have flagged: `THRESHOLD` standard errors, in
    /// nanoseconds. (Tighter crops have smaller errors but also cut off
    /// part of any shift, so they say less.)
    resolution: f64,
    /// Every test: its crop, its threshold in ns, |t| and the means.
    tests: Vec<(Option<f64>, u64, f64, [f64; 2])>,
}

fn analyse(s: &Samples) -> Outcome {
    let mut sorted = s.ns.clone();
    sorted.sort_unstable();
    let thresholds: Vec<(Option<f64>, u64)> = std::iter::once((None, u64::MAX))
        .chain(CROPS.iter().map(|&p| {
            let idx = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
            (Some(p), sorted.get(idx).copied().unwrap_or(u64::MAX))
        }))
        .collect();
    let mut tests = vec![Welch::default(); thresholds.len()];
    for (&class, &ns) in s.class.iter().zip(&s.ns) {
        for (test, &(_, limit)) in tests.iter_mut().zip(&thresholds) {
            if ns <= limit {
                test.push(class, ns as f64);
            }
        }
    }
    let (best, test) = tests
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.t().abs().total_cmp(&b.1.t().abs()))
        .unwrap();
    Outcome {
        measurements: s.ns.len(),
        max_t: test.t().abs(),
        crop: thresholds[best].0,
        means: test.mean,
        resolution: thresholds
            .iter()
            .position(|&(crop, _)| crop == Some(RESOLUTION_CROP))
            .map_or(f64::NAN, |i| THRESHOLD * tests[i].se()),
        tests: tests
            .iter()
            .zip(&thresholds)
            .map(|(t, &(crop, limit))| (crop, limit, t.t().abs(), t.mean))
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// The run

/// What a check should show.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A real check: the two classes must not be told apart.
    NoLeak,
    /// A control: the leak must be flagged, or the harness is blind.
    Leak,
    /// Shown to explain other rows; never counted as unexpected.
    Diagnostic,
}

struct Check {
    id: &'static str,
    what: &'static str,
    expect: Expect,
    make: fn(&mut XorShift) -> Box<dyn Target>,
}

/// Live keys or tokens the inputs of a check start from: each
/// measurement changes one picked at random. (With a single key, each
/// class has only 61 possible inputs, and timing differences between
/// those two small sets, in the format check, get flagged; see
/// `docs/timing.md`.)
const POOL: usize = 4_096;

const CHECKS: [Check; 9] = [
    Check {
        id: "api-key-secret",
        what: "`ApiKeyVerifier::verify`: secret wrong in 1st vs last char",
        expect: Expect::NoLeak,
        make: |_| Box::new(ApiKeySecret::new(KeyPath::Verify)),
    },
    Check {
        id: "api-key-digest",
        what: "`ApiKeyVerifier::verify_record`: stored digest wrong in 1st vs last byte",
        expect: Expect::NoLeak,
        make: |_| Box::new(ApiKeyDigest::new(false)),
    },
    Check {
        id: "api-key-front-door",
        what: "`Authenticator::authenticate` `Bearer <API key>`: secret wrong in 1st vs last char",
        expect: Expect::NoLeak,
        make: |_| Box::new(ApiKeySecret::new(KeyPath::FrontDoor)),
    },
    Check {
        id: "refresh-secret",
        what: "`RefreshTokens::inspect`: secret wrong in 1st vs last char",
        expect: Expect::NoLeak,
        make: |_| Box::new(RefreshSecret::new()),
    },
    Check {
        id: "refresh-digest",
        what: "`RefreshTokens::inspect`: stored digest wrong in 1st vs last byte",
        expect: Expect::NoLeak,
        make: |_| Box::new(RefreshDigest::new()),
    },
    Check {
        id: "hmac-tag",
        what: "`VerifyingKey::verify` HS256: tag wrong in 1st vs last byte",
        expect: Expect::NoLeak,
        make: |rng| Box::new(HmacTag::new(rng)),
    },
    Check {
        id: "control-early-exit",
        what: "control: early-exit compare of 32-byte digests",
        expect: Expect::Leak,
        make: |rng| Box::new(EarlyExit::new(rng)),
    },
    Check {
        id: "control-api-key",
        what: "control: `verify_record` + early-exit compare of the digest",
        expect: Expect::Leak,
        make: |_| Box::new(ApiKeyDigest::new(true)),
    },
    Check {
        id: "diag-api-key-format",
        what: "diagnostic: api-key-secret's inputs, `ApiKeyFormat::is_well_formed` only",
        expect: Expect::Diagnostic,
        make: |_| Box::new(ApiKeySecret::new(KeyPath::FormatOnly)),
    },
];

struct Options {
    judge: bool,
    strict: bool,
    verbose: bool,
    measurements: usize,
    budget: Duration,
    seed: u64,
    filters: Vec<String>,
}

impl Options {
    fn from_args() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let judge = args.iter().any(|a| a == "--bench");
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0x9e37_79b9_7f4a_7c15, |d| d.as_nanos() as u64);
        let mut o = Self {
            judge,
            strict: false,
            verbose: false,
            measurements: if judge { 5_000_000 } else { 2_000 },
            budget: Duration::from_secs(if judge { 30 } else { 10 }),
            seed,
            filters: Vec::new(),
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let mut value = || {
                it.next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or_else(|| panic!("{arg} takes a number"))
            };
            match arg.as_str() {
                "--strict" => o.strict = true,
                "--verbose" => o.verbose = true,
                "--measurements" => o.measurements = value() as usize,
                "--budget" => o.budget = Duration::from_secs(value()),
                "--seed" => o.seed = value(),
                a if a.starts_with('-') => {}
                _ => o.filters.push(arg),
            }
        }
        o
    }
}

fn main() -> ExitCode {
    let o = Options::from_args();
    let mut rng = XorShift::new(o.seed);
    println!(
        "dudect-style timing check: backend {}, {} build, seed {}, up to {} measurements or {} s per check{}",
        tokengate::CRYPTO_BACKEND,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        o.seed,
        o.measurements,
        o.budget.as_secs(),
        if o.judge {
            ""
        } else {
            " (smoke run: not judged)"
        },
    );
    println!();
    println!(
        "| check | what | measurements | max \\|t\\| | at crop | mean 1st / last (ns) | 4.5 SE at 99th pct (ns) | verdict | expected |"
    );
    println!("|---|---|---:|---:|---|---|---:|---|---|");
    let started = Instant::now();
    let mut unexpected = Vec::new();
    let mut details = Vec::new();
    for check in CHECKS
        .iter()
        .filter(|c| o.filters.is_empty() || o.filters.iter().any(|f| c.id.contains(f.as_str())))
    {
        let mut target = (check.make)(&mut rng);
        let samples = measure(&mut *target, o.measurements, o.budget, &mut rng);
        drop(target);
        let out = analyse(&samples);
        let leak = out.max_t >= THRESHOLD;
        let verdict = match (o.judge, leak) {
            (false, _) => "not judged (smoke run)",
            (true, true) => "LEAK",
            (true, false) => "no leak detected",
        };
        let expected = match check.expect {
            Expect::NoLeak => "no leak detected",
            Expect::Leak => "LEAK",
            Expect::Diagnostic => "(diagnostic)",
        };
        if o.judge && check.expect != Expect::Diagnostic && leak != (check.expect == Expect::Leak) {
            unexpected.push(check.id);
        }
        let crop = out
            .crop
            .map_or_else(|| "none".to_owned(), |p| format!("{p}th pct"));
        println!(
            "| {} | {} | {} | {:.2} | {} | {:.1} / {:.1} | {:.2} | {} | {} |",
            check.id,
            check.what,
            out.measurements,
            out.max_t,
            crop,
            out.means[0],
            out.means[1],
            out.resolution,
            verdict,
            expected,
        );
        if o.verbose {
            for (crop, limit, t, means) in &out.tests {
                let crop = crop.map_or_else(|| "none".to_owned(), |p| format!("{p}th pct"));
                details.push(format!(
                    "{:<26} crop {:<10} <= {:>8} ns  |t| {:>8.2}  means {:.2} / {:.2}",
                    check.id, crop, limit, t, means[0], means[1]
                ));
            }
        }
    }
    println!();
    for line in &details {
        println!("{line}");
    }
    if !details.is_empty() {
        println!();
    }
    println!("total {:.0} s", started.elapsed().as_secs_f64());
    if !o.judge {
        println!("smoke run: run `cargo bench --bench timing` for verdicts");
        return ExitCode::SUCCESS;
    }
    if unexpected.is_empty() {
        println!("every verdict as expected (|t| threshold {THRESHOLD})");
        ExitCode::SUCCESS
    } else {
        println!(
            "UNEXPECTED verdicts: {} (rerun on an idle machine before concluding anything)",
            unexpected.join(", ")
        );
        if o.strict {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }
}
