//! A JWK Set fetched from an identity provider: the cache and its refresh
//! policy, without the fetching.
//!
//! [`RemoteKeySet`] is a [`KeyStore`] that serves the last good document
//! from memory and decides, in one place, when the document must be
//! fetched again. It does no I/O: a driver (a background thread with a
//! blocking HTTP client, or a task on an async runtime) asks it
//! [`RemoteKeySet::due`] or [`RemoteKeySet::on_unknown_key`] for a
//! [`Fetch`], performs the request however it likes, and hands the answer
//! back to [`RemoteKeySet::complete`]. Every decision (the schedule, the
//! single flight, the cooldown, stale-if-error, the size cap) is made here,
//! on the injected [`Clock`], so it is tested without a network and behaves
//! the same under every driver.
//!
//! The discovery helpers ([`discovery_urls`], [`jwks_uri_from_discovery`])
//! and the URL rules ([`check_url`], [`redirect_allowed`]) are here for the
//! same reason.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use time::Duration;

use super::{JwkSetOptions, KeyQuery, KeySetStore, KeyStore, SkippedJwk, VerifyingKey};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::jws::{Algorithm, AlgorithmSet};

/// How a [`RemoteKeySet`] keeps its document fresh: plain settings,
/// changed field by field from [`KeySetPolicy::default`]. The defaults,
/// and why:
///
/// | field | default | why |
/// |---|---|---|
/// | `min_age` | 5 minutes | a provider that sends `max-age=0` or `no-cache` must not make every server fetch on every request |
/// | `max_age` | 1 hour | a provider that says "cache for a day" still has its removals (a compromised key) picked up within the hour |
/// | `default_age` | 15 minutes | the schedule when the response has no `Cache-Control: max-age` |
/// | `unknown_key_cooldown` | 30 seconds | a token with a `kid` the set lacks triggers a refetch only when the last *successful* fetch is older than this: a rotation is picked up within 30 s, and tokens with made-up `kid`s cost the provider at most one fetch per 30 s per server |
/// | `retry_after` | 30 seconds | after a failed fetch, the next attempt waits this long (the last good keys keep serving meanwhile); at least 1 s, like `min_age`, so a failing or `max-age=0` provider cannot make the driver fetch in a tight loop |
/// | `max_staleness` | 24 hours | how long the last good keys serve while every fetch fails: public keys do not go bad by themselves, and provider outages last hours; past it, [`Error::KeySetUnavailable`] (503) |
/// | `max_document_size` | 512 KiB | real sets are a few KiB; a larger body is refused, not parsed |
/// | `fetch_timeout` | 5 seconds | for the driver's request; a fetch not completed after twice this long (plus one second) counts as abandoned, so a lost driver cannot block refreshes |
/// | `max_redirects` | 3 | for the driver; never from `https` to `http` ([`redirect_allowed`]) |
/// | `max_waiters` | 1024 | requests waiting at once on an unknown-`kid` refetch; more are refused rather than queued without bound |
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeySetPolicy {
    /// The shortest time a document is kept, whatever `Cache-Control` says.
    pub min_age: Duration,
    /// The longest time a document is kept, whatever `Cache-Control` says.
    pub max_age: Duration,
    /// The time a document is kept without `Cache-Control: max-age`.
    pub default_age: Duration,
    /// How old the last successful fetch must be before an unknown `kid`
    /// triggers a refetch.
    pub unknown_key_cooldown: Duration,
    /// The wait after a failed fetch before the next.
    pub retry_after: Duration,
    /// How long the last good keys serve while every fetch fails.
    pub max_staleness: Duration,
    /// The largest document accepted, in bytes.
    pub max_document_size: usize,
    /// The driver's request timeout.
    pub fetch_timeout: Duration,
    /// The most redirects a driver follows.
    pub max_redirects: u8,
    /// The most requests waiting on one unknown-`kid` refetch.
    pub max_waiters: usize,
}

impl Default for KeySetPolicy {
    fn default() -> Self {
        Self {
            min_age: Duration::minutes(5),
            max_age: Duration::hours(1),
            default_age: Duration::minutes(15),
            unknown_key_cooldown: Duration::seconds(30),
            retry_after: Duration::seconds(30),
            max_staleness: Duration::hours(24),
            max_document_size: 512 * 1024,
            fetch_timeout: Duration::seconds(5),
            max_redirects: 3,
            max_waiters: 1024,
        }
    }
}

impl KeySetPolicy {
    fn check(&self) -> Result<(), Error> {
        let durations = [
            self.min_age,
            self.max_age,
            self.default_age,
            self.unknown_key_cooldown,
            self.retry_after,
            self.max_staleness,
            self.fetch_timeout,
        ];
        if durations.iter().any(|d| d.is_negative()) {
            return Err(Error::config(
                "a refresh policy duration cannot be negative",
            ));
        }
        if self.min_age < Duration::SECOND || self.retry_after < Duration::SECOND {
            // Below a second, a provider answering max-age=0 (or failing)
            // would have the driver fetch in a tight loop.
            return Err(Error::config(
                "a refresh policy's min_age and retry_after must be at least one second",
            ));
        }
        if self.min_age > self.max_age {
            return Err(Error::config(
                "a refresh policy's min_age cannot exceed its max_age",
            ));
        }
        if self.fetch_timeout.is_zero() {
            return Err(Error::config(
                "a refresh policy's fetch_timeout must be positive",
            ));
        }
        if self.max_document_size == 0 {
            return Err(Error::config(
                "a refresh policy's max_document_size must be positive",
            ));
        }
        Ok(())
    }

    /// The time to keep a document whose response said `max_age` (`None`
    /// without a `Cache-Control: max-age`), clamped to
    /// [`min_age`](Self::min_age)..=[`max_age`](Self::max_age).
    pub fn keep_for(&self, max_age: Option<Duration>) -> Duration {
        max_age
            .unwrap_or(self.default_age)
            .clamp(self.min_age, self.max_age)
    }
}

/// Why a [`Fetch`] was started.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchReason {
    /// The set has never been fetched.
    Initial,
    /// The kept document's age reached its refresh time.
    Scheduled,
    /// The previous fetch failed and its retry time has come.
    Retry,
    /// A token named a `kid` the set lacks.
    UnknownKey,
}

/// A fetch the driver must perform and hand back to
/// [`RemoteKeySet::complete`]. Only one is in flight at a time.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "a started fetch blocks others until it completes or is abandoned"]
pub struct Fetch {
    id: u64,
    reason: FetchReason,
}

impl Fetch {
    /// Why it was started.
    pub fn reason(&self) -> FetchReason {
        self.reason
    }
}

/// What the driver got.
#[derive(Debug)]
pub enum FetchOutcome<'a> {
    /// A `200` response: its body and its `Cache-Control: max-age`, if any
    /// (see [`cache_control_max_age`]).
    Document {
        /// The body, as received.
        body: &'a [u8],
        /// The freshness lifetime the response declared.
        max_age: Option<Duration>,
    },
    /// Anything else: a status other than 200, a timeout, a refused
    /// redirect, a body over the size cap. Say what, for the status.
    Failed(String),
}

/// What [`RemoteKeySet::on_unknown_key`] decided.
#[derive(Debug, PartialEq, Eq)]
pub enum UnknownKeyAction {
    /// Fetch now (this caller performs it), then look again.
    Fetch(Fetch),
    /// A fetch is in flight: wait until [`RemoteKeySet::generation`] moves
    /// past `generation` (bounded by the policy's fetch timeout), then
    /// look again. The waiter was counted: call
    /// [`RemoteKeySet::stop_waiting`] when done.
    Wait {
        /// The generation the set had when the caller asked.
        generation: u64,
    },
    /// The last successful fetch is younger than the cooldown (or too many
    /// requests are waiting already): the token's key is unknown, refuse it.
    Refuse,
}

/// What [`RemoteKeySet::complete`] did with a fetch.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchResult {
    /// The document replaced the keys: this many usable keys, these
    /// members left out.
    Updated {
        /// The number of keys now served.
        keys: usize,
        /// The members left out of the document, with why.
        skipped: Vec<SkippedJwk>,
    },
    /// The fetch or the document failed; the last good keys (if any) keep
    /// serving. Why.
    Failed(String),
    /// The fetch was not the one in flight (it had been abandoned and
    /// another started): its answer was ignored.
    Superseded,
}

/// What an application can expose about a [`RemoteKeySet`] (a health or
/// metrics endpoint). Instants are Unix seconds.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySetStatus {
    /// When a document last replaced the keys.
    pub last_success: Option<i64>,
    /// When the last fetch completed or failed.
    pub last_attempt: Option<i64>,
    /// Why the last fetch failed, when it did (cleared by a success).
    pub last_error: Option<String>,
    /// The number of keys served.
    pub keys: usize,
    /// The members of the current document left out, with why.
    pub skipped: Vec<SkippedJwk>,
    /// When the next scheduled fetch is due.
    pub next_refresh: i64,
    /// Completed fetches, successful or not.
    pub fetches: u64,
    /// Of them, failed.
    pub failures: u64,
    /// `true` while a fetch is in flight.
    pub fetching: bool,
    /// `true` when the keys are served (fetched once, and not older than
    /// the maximum staleness).
    pub serving: bool,
}

#[derive(Debug, Default)]
struct State {
    last_success: Option<i64>,
    last_attempt: Option<i64>,
    last_error: Option<String>,
    next_refresh: i64,
    in_flight: Option<(u64, i64)>,
    next_id: u64,
    generation: u64,
    fetches: u64,
    failures: u64,
    waiters: usize,
}

/// A JWK Set fetched from an identity provider and kept fresh by a driver.
///
/// A [`KeyStore`]: lookups are served from memory, from the last document
/// that gave usable keys. Before the first successful fetch, and once the
/// last one is older than [`KeySetPolicy::max_staleness`], lookups fail
/// with [`Error::KeySetUnavailable`] (503: the token was not judged). A
/// lookup of a `kid` the set lacks answers [`Error::UnknownKey`] and marks
/// that a refetch is wanted, which [`RemoteKeySet::due`] then starts
/// (cooldown permitting); an async driver can instead await the refetch
/// through [`RemoteKeySet::on_unknown_key`].
///
/// ```
/// use tokengate::keys::{FetchOutcome, FetchResult, KeySetPolicy, RemoteKeySet};
/// use tokengate::{Algorithm, JwkSetOptions, SigningKey, SingleKeyStore};
///
/// let idp = SigningKey::generate(Algorithm::ES256)?;
/// let document = SingleKeyStore::new(idp.verifying_key()).jwks().to_json();
///
/// let keys = RemoteKeySet::new(KeySetPolicy::default(), JwkSetOptions::new())?;
/// // The driver's loop: ask, fetch, hand back.
/// if let Some(fetch) = keys.due() {
///     let body = document.as_bytes(); // an HTTP GET of the jwks_uri
///     let done = keys.complete(fetch, FetchOutcome::Document { body, max_age: None });
///     assert!(matches!(done, FetchResult::Updated { keys: 1, .. }));
/// }
/// assert!(keys.status().serving);
/// # Ok::<(), tokengate::Error>(())
/// ```
pub struct RemoteKeySet {
    keys: KeySetStore,
    options: JwkSetOptions,
    policy: KeySetPolicy,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    // The hot path reads these two atomics and never the lock: the last
    // instant (Unix seconds) the keys may serve, and whether a lookup met
    // an unknown `kid` since the last successful fetch.
    serve_until: AtomicI64,
    unknown_key_wanted: AtomicBool,
}

impl fmt::Debug for RemoteKeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeySet")
            .field("keys", &self.keys.len())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl RemoteKeySet {
    /// An empty set (it serves nothing until the first fetch completes),
    /// on the system clock. `options` say how members are taken (such as
    /// [`JwkSetOptions::assume_alg`] for a provider whose RSA keys carry
    /// no `alg`).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] for an inconsistent policy (a
    /// negative duration, `min_age` above `max_age`, a zero timeout or
    /// size cap).
    pub fn new(policy: KeySetPolicy, options: JwkSetOptions) -> Result<Self, Error> {
        policy.check()?;
        Ok(Self {
            keys: KeySetStore::default(),
            options,
            policy,
            clock: Arc::new(SystemClock),
            state: Mutex::new(State::default()),
            serve_until: AtomicI64::new(i64::MIN),
            unknown_key_wanted: AtomicBool::new(false),
        })
    }

    /// The same set on another clock (tests, replays).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The policy.
    pub fn policy(&self) -> &KeySetPolicy {
        &self.policy
    }

    /// Loads a document kept from an earlier run (the last good one,
    /// persisted by the application), fetched at `fetched_at` (Unix
    /// seconds), so that a restart during a provider outage still serves
    /// until the maximum staleness counted from that instant. The next
    /// fetch is due at once.
    ///
    /// # Errors
    ///
    /// As [`KeySetStore::replace_from_jwks_with`], and
    /// [`Error::InvalidConfiguration`] for a document over the size cap;
    /// nothing changes then.
    pub fn load_cached(&self, document: &str, fetched_at: i64) -> Result<Vec<SkippedJwk>, Error> {
        if document.len() > self.policy.max_document_size {
            return Err(Error::config("the cached JWK Set is over the size cap"));
        }
        let skipped = self.keys.replace_from_jwks_with(document, self.options)?;
        let mut state = self.lock();
        self.succeeded(&mut state, fetched_at);
        state.generation = state.generation.saturating_add(1);
        Ok(skipped)
    }

    /// A fetch to perform now, if one is due and none is in flight: the
    /// first fetch, a scheduled refresh, a retry after a failure, or a
    /// refetch that a lookup of an unknown `kid` asked for (once the
    /// cooldown allows it). The driver calls this in its loop.
    pub fn due(&self) -> Option<Fetch> {
        let now = self.clock.now_unix();
        let mut state = self.lock();
        if self.in_flight(&state, now) {
            return None;
        }
        let reason = if state.last_success.is_none() && state.last_attempt.is_none() {
            FetchReason::Initial
        } else if now >= state.next_refresh {
            if state.last_error.is_some() {
                FetchReason::Retry
            } else {
                FetchReason::Scheduled
            }
        } else if self.unknown_key_wanted.load(Ordering::Relaxed) && self.cooled_down(&state, now) {
            FetchReason::UnknownKey
        } else {
            return None;
        };
        Some(self.start(&mut state, now, reason))
    }

    /// What to do about a token whose `kid` the set lacks, for a driver
    /// that can make the request wait (an async application): fetch now,
    /// wait for the fetch in flight, or refuse. A refetch happens only when
    /// the last successful fetch is older than the cooldown, so tokens
    /// with made-up `kid`s cannot make the server hammer the provider, and
    /// they cannot use up a budget either: a real rotation is still picked
    /// up within one cooldown.
    pub fn on_unknown_key(&self) -> UnknownKeyAction {
        let now = self.clock.now_unix();
        let mut state = self.lock();
        if self.in_flight(&state, now) {
            if state.waiters >= self.policy.max_waiters {
                return UnknownKeyAction::Refuse;
            }
            state.waiters = state.waiters.saturating_add(1);
            return UnknownKeyAction::Wait {
                generation: state.generation,
            };
        }
        if !self.cooled_down(&state, now) {
            return UnknownKeyAction::Refuse;
        }
        UnknownKeyAction::Fetch(self.start(&mut state, now, FetchReason::UnknownKey))
    }

    /// Ends a wait that [`UnknownKeyAction::Wait`] counted.
    pub fn stop_waiting(&self) {
        let mut state = self.lock();
        state.waiters = state.waiters.saturating_sub(1);
    }

    /// Counts completed fetches (and cached loads): a waiter looks again
    /// once it moved.
    pub fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Hands back what the driver got for `fetch`. A document that parses
    /// as a JWK Set with at least one usable key, within the size cap,
    /// replaces the keys; anything else leaves the last good keys in place
    /// and schedules a retry.
    pub fn complete(&self, fetch: Fetch, outcome: FetchOutcome<'_>) -> FetchResult {
        let now = self.clock.now_unix();
        // Parsed outside the lock: lookups never wait on a parse.
        let parsed = match outcome {
            FetchOutcome::Document { body, max_age } => {
                if body.len() > self.policy.max_document_size {
                    Err(format!(
                        "the document is {} bytes, over the {} byte cap",
                        body.len(),
                        self.policy.max_document_size
                    ))
                } else {
                    match std::str::from_utf8(body) {
                        Err(_) => Err("the document is not UTF-8".to_owned()),
                        Ok(text) => super::store::index_for_remote(text, self.options)
                            .map(|index| (index, max_age))
                            .map_err(|e| format!("the document gives no usable key: {e}")),
                    }
                }
            }
            FetchOutcome::Failed(why) => Err(why),
        };
        let mut state = self.lock();
        if state.in_flight.map(|(id, _)| id) != Some(fetch.id) {
            return FetchResult::Superseded;
        }
        state.in_flight = None;
        state.last_attempt = Some(now);
        state.fetches = state.fetches.saturating_add(1);
        state.generation = state.generation.saturating_add(1);
        match parsed {
            Ok((index, max_age)) => {
                let (keys, skipped) = self.keys.swap_index(index);
                self.succeeded(&mut state, now);
                state.last_error = None;
                self.unknown_key_wanted.store(false, Ordering::Relaxed);
                state.next_refresh =
                    now.saturating_add(self.policy.keep_for(max_age).whole_seconds());
                FetchResult::Updated { keys, skipped }
            }
            Err(why) => {
                state.failures = state.failures.saturating_add(1);
                state.last_error = Some(why.clone());
                state.next_refresh = now.saturating_add(self.policy.retry_after.whole_seconds());
                FetchResult::Failed(why)
            }
        }
    }

    /// The state, for a health or metrics endpoint.
    pub fn status(&self) -> KeySetStatus {
        let now = self.clock.now_unix();
        let state = self.lock();
        KeySetStatus {
            last_success: state.last_success,
            last_attempt: state.last_attempt,
            last_error: state.last_error.clone(),
            keys: self.keys.len(),
            skipped: self.keys.skipped(),
            next_refresh: state.next_refresh,
            fetches: state.fetches,
            failures: state.failures,
            fetching: self.in_flight(&state, now),
            serving: self.serving(&state, now).is_ok(),
        }
    }

    /// The seconds until the driver should call [`RemoteKeySet::due`]
    /// again (0 when a fetch is due now), so a driver sleeps exactly as
    /// long as needed.
    pub fn seconds_until_due(&self) -> i64 {
        let now = self.clock.now_unix();
        let state = self.lock();
        let mut at = state.next_refresh;
        if self.unknown_key_wanted.load(Ordering::Relaxed) {
            at = at.min(self.cooldown_end(&state));
        }
        if let Some((_, started)) = state.in_flight {
            at = at.min(started.saturating_add(self.abandon_after()));
        }
        at.saturating_sub(now).max(0)
    }

    fn start(&self, state: &mut State, now: i64, reason: FetchReason) -> Fetch {
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1);
        state.in_flight = Some((id, now));
        Fetch { id, reason }
    }

    /// Whole seconds on the clock after which an in-flight fetch counts
    /// as abandoned: at least twice the timeout, even though the clock
    /// counts whole seconds (a fetch started at x.999 reads as started at
    /// x), so a slow but live fetch of a sub-second timeout is never
    /// superseded.
    fn abandon_after(&self) -> i64 {
        let twice_ms = self
            .policy
            .fetch_timeout
            .whole_milliseconds()
            .saturating_mul(2);
        let seconds = i64::try_from(twice_ms.saturating_add(999) / 1000).unwrap_or(i64::MAX);
        seconds.saturating_add(1)
    }

    fn in_flight(&self, state: &State, now: i64) -> bool {
        state
            .in_flight
            .is_some_and(|(_, started)| now.saturating_sub(started) < self.abandon_after())
    }

    fn cooldown_end(&self, state: &State) -> i64 {
        // Counted from the last success; after failures, also no sooner
        // than the retry time, so a failing provider is not hammered.
        let from_success = state.last_success.map_or(i64::MIN, |at| {
            at.saturating_add(self.policy.unknown_key_cooldown.whole_seconds())
        });
        let from_failure = match (&state.last_error, state.last_attempt) {
            (Some(_), Some(at)) => at.saturating_add(self.policy.retry_after.whole_seconds()),
            _ => i64::MIN,
        };
        from_success.max(from_failure)
    }

    fn cooled_down(&self, state: &State, now: i64) -> bool {
        now >= self.cooldown_end(state)
    }

    fn succeeded(&self, state: &mut State, at: i64) {
        state.last_success = Some(at);
        self.serve_until.store(
            at.saturating_add(self.policy.max_staleness.whole_seconds()),
            Ordering::Release,
        );
    }

    fn serving(&self, state: &State, now: i64) -> Result<(), Error> {
        let Some(at) = state.last_success else {
            return Err(Error::KeySetUnavailable(match &state.last_error {
                Some(why) => format!("never fetched; the last attempt failed: {why}"),
                None => "never fetched".to_owned(),
            }));
        };
        if now.saturating_sub(at) > self.policy.max_staleness.whole_seconds() {
            return Err(Error::KeySetUnavailable(format!(
                "the last good document is older than the maximum staleness ({} s){}",
                self.policy.max_staleness.whole_seconds(),
                match &state.last_error {
                    Some(why) => format!("; the last attempt failed: {why}"),
                    None => String::new(),
                }
            )));
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KeyStore for RemoteKeySet {
    fn find_key(&self, query: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error> {
        let now = self.clock.now_unix();
        if now > self.serve_until.load(Ordering::Acquire) {
            // The rare path: the lock only to say why.
            let state = self.lock();
            self.serving(&state, now)?;
        }
        let found = self.keys.find_key(query);
        if matches!(found, Err(Error::UnknownKey { .. })) {
            self.unknown_key_wanted.store(true, Ordering::Relaxed);
        }
        found
    }

    fn algorithms(&self) -> AlgorithmSet {
        // Every public-key algorithm, plus what the current keys hold: the
        // keys change with each fetch, and a validator built before the
        // first fetch, or a provider rotating to a new key type, must reach
        // the key lookup (and its refetch) rather than be refused as an
        // algorithm not allowed.
        let mut set: AlgorithmSet = Algorithm::ALL
            .into_iter()
            .filter(|a| !a.is_symmetric())
            .collect();
        for alg in self.keys.algorithms().iter() {
            set.insert(alg);
        }
        set
    }
}

/// The `max-age` of a `Cache-Control` header value: `Some(0)` for
/// `no-cache` and `no-store` (clamped up to the minimum age by the policy),
/// `None` when the header gives no lifetime or is malformed.
pub fn cache_control_max_age(header: &str) -> Option<Duration> {
    let mut found = None;
    for directive in header.split(',') {
        let directive = directive.trim();
        let (name, value) = match directive.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-cache") || name.eq_ignore_ascii_case("no-store") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            let seconds: i64 = value.and_then(|v| v.parse().ok())?;
            if seconds < 0 {
                return None;
            }
            found = Some(Duration::seconds(seconds));
        }
    }
    found
}

/// Refuses a URL that is not `https` (or, with `allow_http`, `http`).
///
/// # Errors
///
/// [`Error::InvalidConfiguration`] naming the rule.
pub fn check_url(url: &str, allow_http: bool) -> Result<(), Error> {
    let lower = url
        .get(..8)
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    if lower.starts_with("https://") {
        return Ok(());
    }
    if lower.starts_with("http://") {
        if allow_http {
            return Ok(());
        }
        return Err(Error::config(
            "an http:// key set or discovery URL is refused: keys must come over https \
             (danger_allow_http is for tests and local development only)",
        ));
    }
    Err(Error::config(
        "a key set or discovery URL must start with https://",
    ))
}

/// `true` when a driver may follow a redirect from `from` to `to`: never
/// from `https` to anything else, and otherwise as [`check_url`] allows.
pub fn redirect_allowed(from: &str, to: &str, allow_http: bool) -> bool {
    let secure = |u: &str| {
        u.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
    };
    if secure(from) && !secure(to) {
        return false;
    }
    check_url(to, allow_http).is_ok()
}

/// The discovery documents to try for `issuer`, in order: OpenID Connect
/// Discovery (`{issuer}/.well-known/openid-configuration`) and RFC 8414
/// (`https://host/.well-known/oauth-authorization-server{path}`).
pub fn discovery_urls(issuer: &str) -> [String; 2] {
    let trimmed = issuer.trim_end_matches('/');
    let oidc = format!("{trimmed}/.well-known/openid-configuration");
    // RFC 8414 §3.1: the well-known segment goes between the host and
    // the issuer's path.
    let rfc8414 = match trimmed.find("://") {
        Some(scheme_end) => {
            let host_start = scheme_end.saturating_add(3);
            let rest = trimmed.get(host_start..).unwrap_or("");
            let (host, path) = match rest.find('/') {
                Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i..).unwrap_or("")),
                None => (rest, ""),
            };
            let scheme = trimmed.get(..host_start).unwrap_or("");
            format!("{scheme}{host}/.well-known/oauth-authorization-server{path}")
        }
        None => format!("{trimmed}/.well-known/oauth-authorization-server"),
    };
    [oidc, rfc8414]
}

/// Reads `jwks_uri` from a discovery document, after checking that its
/// `issuer` equals `expected_issuer` exactly (OpenID Connect Discovery
/// §4.3, RFC 8414 §3.3: no normalisation, a trailing slash matters) and
/// that `jwks_uri` passes [`check_url`].
///
/// # Errors
///
/// [`Error::InvalidConfiguration`] for a document that is not a JSON
/// object, lacks `issuer` or `jwks_uri`, names another issuer, or gives an
/// `http` `jwks_uri` without `allow_http`.
pub fn jwks_uri_from_discovery(
    document: &[u8],
    expected_issuer: &str,
    allow_http: bool,
) -> Result<String, Error> {
    #[derive(serde::Deserialize)]
    struct Discovery {
        issuer: String,
        jwks_uri: String,
    }
    let parsed: Discovery = serde_json::from_slice(document).map_err(|_| {
        Error::config("the discovery document is not JSON with string `issuer` and `jwks_uri`")
    })?;
    if parsed.issuer != expected_issuer {
        return Err(Error::config(
            "the discovery document names another issuer than the configured one",
        ));
    }
    check_url(&parsed.jwks_uri, allow_http)?;
    Ok(parsed.jwks_uri)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::keys::{SigningKey, SingleKeyStore};

    struct Env {
        clock: Arc<FixedClock>,
        set: RemoteKeySet,
        a: SigningKey,
        b: SigningKey,
    }

    const T0: i64 = 1_800_000_000;

    fn env(policy: KeySetPolicy) -> Env {
        let clock = Arc::new(FixedClock::at_unix(T0));
        let set = RemoteKeySet::new(policy, JwkSetOptions::new())
            .unwrap()
            .with_clock(clock.clone());
        Env {
            clock,
            set,
            a: SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .with_key_id("a"),
            b: SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .with_key_id("b"),
        }
    }

    fn doc(keys: &[&SigningKey]) -> String {
        crate::keys::KeySetStore::new(keys.iter().map(|k| k.verifying_key()))
            .unwrap()
            .jwks()
            .to_json()
    }

    fn serve(set: &RemoteKeySet, fetch: Fetch, body: &str, max_age: Option<i64>) -> FetchResult {
        set.complete(
            fetch,
            FetchOutcome::Document {
                body: body.as_bytes(),
                max_age: max_age.map(Duration::seconds),
            },
        )
    }

    fn find(set: &RemoteKeySet, kid: &str) -> Result<Arc<VerifyingKey>, Error> {
        set.find_key(&KeyQuery::new(Algorithm::ES256, Some(kid)))
    }

    #[test]
    fn serves_nothing_before_the_first_fetch_then_the_document() {
        let e = env(KeySetPolicy::default());
        assert!(matches!(
            find(&e.set, "a"),
            Err(Error::KeySetUnavailable(_))
        ));
        let fetch = e.set.due().unwrap();
        assert_eq!(fetch.reason(), FetchReason::Initial);
        assert_eq!(e.set.due(), None, "single flight");
        assert!(matches!(
            serve(&e.set, fetch, &doc(&[&e.a]), None),
            FetchResult::Updated { keys: 1, .. }
        ));
        assert_eq!(find(&e.set, "a").unwrap().key_id(), "a");
        assert_eq!(e.set.due(), None);
        // Next refresh after the default age, 15 minutes.
        assert_eq!(e.set.seconds_until_due(), 15 * 60);
        e.clock.advance(15 * 60);
        assert_eq!(e.set.due().unwrap().reason(), FetchReason::Scheduled);
    }

    #[test]
    fn cache_control_is_clamped_between_min_and_max_age() {
        for (max_age, expect) in [
            (Some(0), 300),
            (Some(10), 300),
            (Some(1_800), 1_800),
            (Some(86_400), 3_600),
            (None, 900),
        ] {
            let e = env(KeySetPolicy::default());
            let f = e.set.due().unwrap();
            serve(&e.set, f, &doc(&[&e.a]), max_age);
            assert_eq!(e.set.status().next_refresh - T0, expect, "{max_age:?}");
        }
    }

    #[test]
    fn a_failed_fetch_keeps_the_last_good_keys_until_the_maximum_staleness() {
        let e = env(KeySetPolicy {
            max_staleness: Duration::hours(2),
            ..KeySetPolicy::default()
        });
        let f = e.set.due().unwrap();
        serve(&e.set, f, &doc(&[&e.a]), None);
        let bad: [FetchOutcome<'_>; 4] = [
            FetchOutcome::Failed("status 500".into()),
            FetchOutcome::Document {
                body: b"<html>",
                max_age: None,
            },
            FetchOutcome::Document {
                body: br#"{"keys":[]}"#,
                max_age: None,
            },
            FetchOutcome::Document {
                body: &[b' '; 600 * 1024],
                max_age: None,
            },
        ];
        for outcome in bad {
            e.clock.advance(15 * 60);
            let f = e.set.due().unwrap();
            assert!(matches!(e.set.complete(f, outcome), FetchResult::Failed(_)));
            assert_eq!(find(&e.set, "a").unwrap().key_id(), "a");
            // A retry is due after retry_after, not after a full age.
            assert_eq!(e.set.seconds_until_due(), 30);
        }
        assert_eq!(e.set.status().failures, 4);
        assert!(e.set.status().last_error.is_some());
        e.clock.set_unix(T0 + 2 * 3600 + 1);
        let err = find(&e.set, "a").unwrap_err();
        assert!(matches!(err, Error::KeySetUnavailable(_)));
        assert!(err.is_unavailable());
        assert!(!e.set.status().serving);
        // A later success serves again.
        let f = e.set.due().unwrap();
        assert_eq!(f.reason(), FetchReason::Retry);
        serve(&e.set, f, &doc(&[&e.a]), None);
        assert!(find(&e.set, "a").is_ok());
        assert_eq!(e.set.status().last_error, None);
    }

    #[test]
    fn an_unknown_kid_refetches_only_after_the_cooldown_since_the_last_success() {
        let e = env(KeySetPolicy::default());
        let f = e.set.due().unwrap();
        serve(&e.set, f, &doc(&[&e.a]), None);
        // Within the cooldown: refused, no fetch.
        assert!(matches!(find(&e.set, "b"), Err(Error::UnknownKey { .. })));
        assert_eq!(e.set.on_unknown_key(), UnknownKeyAction::Refuse);
        assert_eq!(e.set.due(), None);
        e.clock.advance(29);
        assert_eq!(e.set.due(), None);
        assert_eq!(e.set.seconds_until_due(), 1);
        e.clock.advance(1);
        // The lookup asked for a refetch; the driver's loop starts it.
        let f = e.set.due().unwrap();
        assert_eq!(f.reason(), FetchReason::UnknownKey);
        // Callers meanwhile wait for it rather than start another.
        let UnknownKeyAction::Wait { generation } = e.set.on_unknown_key() else {
            panic!("expected a wait")
        };
        serve(&e.set, f, &doc(&[&e.a, &e.b]), None);
        assert!(e.set.generation() > generation);
        e.set.stop_waiting();
        assert_eq!(find(&e.set, "b").unwrap().key_id(), "b");
        // Random kids right after: no fetch for 30 s, however many.
        for i in 0..1000 {
            let _ = find(&e.set, &format!("random-{i}"));
            assert_eq!(e.set.on_unknown_key(), UnknownKeyAction::Refuse);
        }
        assert_eq!(e.set.due(), None);
        assert_eq!(e.set.status().fetches, 2);
    }

    #[test]
    fn waiters_are_bounded() {
        let e = env(KeySetPolicy {
            max_waiters: 2,
            ..KeySetPolicy::default()
        });
        let f = e.set.due().unwrap();
        serve(&e.set, f, &doc(&[&e.a]), None);
        e.clock.advance(30);
        let UnknownKeyAction::Fetch(f) = e.set.on_unknown_key() else {
            panic!("expected a fetch")
        };
        assert!(matches!(
            e.set.on_unknown_key(),
            UnknownKeyAction::Wait { .. }
        ));
        assert!(matches!(
            e.set.on_unknown_key(),
            UnknownKeyAction::Wait { .. }
        ));
        assert_eq!(e.set.on_unknown_key(), UnknownKeyAction::Refuse);
        e.set.stop_waiting();
        assert!(matches!(
            e.set.on_unknown_key(),
            UnknownKeyAction::Wait { .. }
        ));
        serve(&e.set, f, &doc(&[&e.a]), None);
    }

    #[test]
    fn an_abandoned_fetch_stops_blocking_after_twice_the_timeout() {
        let e = env(KeySetPolicy::default());
        let lost = e.set.due().unwrap();
        assert_eq!(e.set.due(), None);
        // Twice the 5 s timeout, plus the second a whole-second clock
        // cannot see.
        e.clock.advance(10);
        assert_eq!(e.set.due(), None);
        e.clock.advance(1);
        let f = e.set.due().unwrap();
        // The lost fetch's late answer is ignored.
        assert_eq!(
            serve(&e.set, lost, &doc(&[&e.b]), None),
            FetchResult::Superseded
        );
        serve(&e.set, f, &doc(&[&e.a]), None);
        assert!(find(&e.set, "a").is_ok());
        assert!(find(&e.set, "b").is_err());
    }

    #[test]
    fn members_it_cannot_use_are_reported_not_fatal() {
        let e = env(KeySetPolicy::default());
        let good = doc(&[&e.a]);
        let mut value: serde_json::Value = serde_json::from_str(&good).unwrap();
        let keys = value["keys"].as_array_mut().unwrap();
        keys.push(serde_json::json!({"kty":"OKP","crv":"Ed448","kid":"ed448","x":"AAAA"}));
        keys.push(serde_json::json!({"kty":"AKP","alg":"ML-DSA-44","kid":"pq","pub":"AAAA"}));
        let f = e.set.due().unwrap();
        let FetchResult::Updated { keys, skipped } = serve(&e.set, f, &value.to_string(), None)
        else {
            panic!("expected an update")
        };
        assert_eq!(keys, 1);
        let kids: Vec<_> = skipped.iter().map(|s| s.kid.as_deref()).collect();
        assert_eq!(kids, [Some("ed448"), Some("pq")]);
        assert_eq!(e.set.status().skipped, skipped);
    }

    #[test]
    fn a_cached_document_serves_a_cold_start_until_its_staleness() {
        let e = env(KeySetPolicy {
            max_staleness: Duration::hours(1),
            ..KeySetPolicy::default()
        });
        e.set.load_cached(&doc(&[&e.a]), T0 - 600).unwrap();
        assert!(find(&e.set, "a").is_ok());
        // A fetch is due at once all the same.
        assert!(e.set.due().is_some());
        e.clock.advance(3000 + 1);
        assert!(matches!(
            find(&e.set, "a"),
            Err(Error::KeySetUnavailable(_))
        ));
    }

    #[test]
    fn policies_that_make_no_sense_are_refused() {
        for p in [
            KeySetPolicy {
                min_age: Duration::hours(2),
                ..KeySetPolicy::default()
            },
            KeySetPolicy {
                retry_after: Duration::seconds(-1),
                ..KeySetPolicy::default()
            },
            KeySetPolicy {
                fetch_timeout: Duration::ZERO,
                ..KeySetPolicy::default()
            },
            KeySetPolicy {
                min_age: Duration::ZERO,
                ..KeySetPolicy::default()
            },
            KeySetPolicy {
                retry_after: Duration::milliseconds(500),
                ..KeySetPolicy::default()
            },
            KeySetPolicy {
                max_document_size: 0,
                ..KeySetPolicy::default()
            },
        ] {
            assert!(RemoteKeySet::new(p, JwkSetOptions::new()).is_err());
        }
    }

    #[test]
    fn cache_control_parsing() {
        assert_eq!(
            cache_control_max_age("public, max-age=600"),
            Some(Duration::seconds(600))
        );
        assert_eq!(
            cache_control_max_age("MAX-AGE=\"60\""),
            Some(Duration::seconds(60))
        );
        assert_eq!(cache_control_max_age("no-store"), Some(Duration::ZERO));
        assert_eq!(
            cache_control_max_age("max-age=600, no-cache"),
            Some(Duration::ZERO)
        );
        assert_eq!(cache_control_max_age("max-age=-5"), None);
        assert_eq!(cache_control_max_age("max-age=soon"), None);
        assert_eq!(cache_control_max_age("public"), None);
        assert_eq!(cache_control_max_age(""), None);
    }

    #[test]
    fn url_rules() {
        assert!(check_url("https://idp.example.com/jwks", false).is_ok());
        assert!(check_url("HTTPS://idp.example.com/jwks", false).is_ok());
        assert!(check_url("http://idp.example.com/jwks", false).is_err());
        assert!(check_url("http://127.0.0.1:8080/jwks", true).is_ok());
        assert!(check_url("file:///etc/passwd", true).is_err());
        assert!(check_url("", true).is_err());
        assert!(!redirect_allowed("https://a/x", "http://a/x", true));
        assert!(redirect_allowed("https://a/x", "https://b/x", false));
        assert!(redirect_allowed("http://a/x", "http://b/x", true));
        assert!(!redirect_allowed("http://a/x", "http://b/x", false));
    }

    #[test]
    fn discovery_urls_follow_both_specs() {
        assert_eq!(
            discovery_urls("https://idp.example.com"),
            [
                "https://idp.example.com/.well-known/openid-configuration".to_owned(),
                "https://idp.example.com/.well-known/oauth-authorization-server".to_owned(),
            ]
        );
        assert_eq!(
            discovery_urls("https://idp.example.com/realms/acme/"),
            [
                "https://idp.example.com/realms/acme/.well-known/openid-configuration".to_owned(),
                "https://idp.example.com/.well-known/oauth-authorization-server/realms/acme"
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn discovery_checks_the_issuer_exactly() {
        let doc =
            br#"{"issuer":"https://idp.example.com","jwks_uri":"https://idp.example.com/keys"}"#;
        assert_eq!(
            jwks_uri_from_discovery(doc, "https://idp.example.com", false).unwrap(),
            "https://idp.example.com/keys"
        );
        for other in [
            "https://idp.example.com/",
            "https://evil.example.com",
            "http://idp.example.com",
        ] {
            assert!(
                jwks_uri_from_discovery(doc, other, false).is_err(),
                "{other}"
            );
        }
        let http =
            br#"{"issuer":"https://idp.example.com","jwks_uri":"http://idp.example.com/keys"}"#;
        assert!(jwks_uri_from_discovery(http, "https://idp.example.com", false).is_err());
        assert!(jwks_uri_from_discovery(http, "https://idp.example.com", true).is_ok());
        for garbage in [&b"[]"[..], b"{}", b"{\"issuer\":1}", b"\xff"] {
            assert!(jwks_uri_from_discovery(garbage, "https://idp.example.com", true).is_err());
        }
    }

    #[test]
    fn keys_it_serves_validate_tokens_end_to_end() {
        let e = env(KeySetPolicy::default());
        let f = e.set.due().unwrap();
        serve(&e.set, f, &doc(&[&e.a]), None);
        let set = Arc::new(e.set);
        let validator = crate::Validator::builder(Arc::clone(&set))
            .danger_accept_any_type()
            .issuer("https://idp.example.com")
            .audience("api")
            .clock(e.clock.clone())
            .build()
            .unwrap();
        let token = |key: &SigningKey| {
            crate::TokenBuilder::new()
                .issuer("https://idp.example.com")
                .audience("api")
                .clock(e.clock.clone())
                .sign(key)
                .unwrap()
        };
        assert!(validator.validate(&token(&e.a)).is_ok());
        let err = validator.validate(&token(&e.b)).unwrap_err();
        assert_eq!(err.unknown_key_id(), Some("b"));
        // The IdP rotates: one refetch after the cooldown picks it up.
        e.clock.advance(30);
        let f = set.due().unwrap();
        assert_eq!(f.reason(), FetchReason::UnknownKey);
        serve(&set, f, &doc(&[&e.a, &e.b]), None);
        assert!(validator.validate(&token(&e.b)).is_ok());
        let _ = SingleKeyStore::new(e.a.verifying_key());
    }

    #[test]
    fn a_sub_second_timeout_does_not_supersede_a_live_fetch() {
        let e = env(KeySetPolicy {
            fetch_timeout: Duration::milliseconds(500),
            ..KeySetPolicy::default()
        });
        // Started at x.999 by the wall clock: the clock reads x.
        let first = e.set.due().unwrap();
        // 1 ms later the clock reads x + 1; the fetch is still live.
        e.clock.advance(1);
        assert_eq!(
            e.set.on_unknown_key(),
            UnknownKeyAction::Wait { generation: 0 }
        );
        e.set.stop_waiting();
        assert_eq!(e.set.due(), None);
        assert!(matches!(
            serve(&e.set, first, &doc(&[&e.a]), None),
            FetchResult::Updated { keys: 1, .. }
        ));
        assert!(e.set.status().serving);
        // A fetch that really is lost (2 s: twice the timeout, rounded up,
        // plus the second the clock cannot see) is abandoned.
        e.clock.advance(15 * 60);
        let _lost = e.set.due().unwrap();
        e.clock.advance(1);
        assert_eq!(e.set.due(), None);
        e.clock.advance(1);
        assert!(e.set.due().is_some());
    }
}
