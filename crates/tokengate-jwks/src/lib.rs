//! # tokengate-jwks
//!
//! Keys from an identity provider for [`tokengate`]: an issuer's JWK Set,
//! found from its `jwks_uri` or by OpenID Connect discovery, fetched over
//! HTTPS and kept fresh in memory. Validators look keys up without ever
//! waiting on the network in the common case.
//!
//! Every policy decision (the refresh schedule that follows
//! `Cache-Control`, the single flight, the unknown-`kid` cooldown,
//! stale-if-error up to a maximum staleness, the size cap) is made by the
//! core's sans-IO [`RemoteKeySet`], configured by [`KeySetPolicy`] (its
//! documentation has the table of defaults and why). This crate is its
//! HTTP driver: a blocking client ([`ureq`], rustls) on one background
//! thread, and the waits that let a request ride out a key rotation.
//!
//! ## Quick start
//!
//! ```no_run
//! use std::time::Duration;
//! use tokengate::Validator;
//! use tokengate_jwks::RemoteJwks;
//!
//! // Discovery: {issuer}/.well-known/openid-configuration (then RFC 8414),
//! // whose `issuer` must equal this one exactly; `jwks_uri` is taken from it.
//! let jwks = RemoteJwks::from_issuer("https://idp.example.com/realms/acme").build()?;
//! jwks.wait_ready(Duration::from_secs(5))?; // the first fetch
//!
//! let validator = Validator::builder(jwks.key_set())
//!     .issuer("https://idp.example.com/realms/acme")
//!     .audience("https://api.example.com")
//!     .access_token_profile()
//!     .build()?;
//!
//! # let token = "";
//! // On a `kid` the set lacks, refetch once (cooldown permitting) and
//! // validate again, instead of failing the request during a rotation.
//! match jwks.validate_blocking(&validator, token) {
//!     Ok(verified) => println!("hello {:?}", verified.subject()),
//!     Err(e) if e.is_unavailable() => println!("503: {e}"), // key_set_unavailable
//!     Err(e) => println!("401: {}", e.kind()),
//! }
//!
//! // For a health endpoint.
//! let status = jwks.status();
//! println!("{} keys, next refresh at {}", status.keys, status.next_refresh);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Sync and async
//!
//! The fetch is blocking I/O on a thread this crate owns, so a sync
//! application needs no runtime, and an async one needs no particular
//! runtime: the same driver serves both.
//!
//! - **Scheduled refreshes** run on the background thread started by
//!   [`RemoteJwksBuilder::build`] and stopped when the [`RemoteJwks`] is
//!   dropped. It fetches when [`RemoteKeySet::due`] says so: first fetch,
//!   `Cache-Control` schedule (clamped), retries after failures, and a
//!   refetch that a lookup of an unknown `kid` asked for, once the
//!   cooldown allows (a plain [`Validator::validate`](tokengate::Validator::validate)
//!   that meets an unknown `kid` is answered `unknown_key` and the refetch
//!   starts within a fraction of a second).
//! - **A request that meets an unknown `kid`** can wait for that refetch
//!   instead of failing: [`RemoteJwks::validate_blocking`] (a sync
//!   application: the calling thread blocks, bounded by the fetch
//!   timeout) or `RemoteJwks::validate_async` (feature `async`: the task
//!   awaits, the thread is free). Both ask [`RemoteKeySet::on_unknown_key`]:
//!   the first caller's fetch is handed to the background thread, every
//!   other caller waits for that one fetch (single flight), and tokens with
//!   made-up `kid`s within the cooldown are refused at once, without a fetch
//!   and without a wait.
//! - Any validation call (custom claims with `validate_with`, per-route
//!   scopes, the front door) gets the same wait through
//!   [`RemoteJwks::retry_on_unknown_key_blocking`] or, async,
//!   `RemoteJwks::retry_on_unknown_key`.
//! - The async flavour needs no executor from tokio: it awaits a
//!   `tokio::sync::watch` channel, which works under any runtime.
//!
//! ## Why the HTTP lives here
//!
//! The core stays a pure library without an HTTP client, TLS stack or
//! runtime, and its policy is tested with an injected clock and no
//! network. Keeping the one driver in a companion crate means blocking and
//! async users share the same fetch code, the same limits and the same
//! tests against a real server, and an application that never fetches keys
//! compiles none of it.
//!
//! ## What the driver enforces
//!
//! - `https` only; `http` needs [`RemoteJwksBuilder::danger_allow_http`]
//!   (tests, local development).
//! - One timeout ([`KeySetPolicy::fetch_timeout`]) for the whole exchange,
//!   redirects included.
//! - At most [`KeySetPolicy::max_redirects`] redirects, each checked by
//!   [`redirect_allowed`](tokengate::keys::remote::redirect_allowed): never from
//!   `https` to `http`.
//! - The body is read up to [`KeySetPolicy::max_document_size`] and no
//!   further (a larger `Content-Length` is refused before reading); no
//!   compression is negotiated, so the cap is the size in memory.
//! - Every failure (status, timeout, TLS, redirect, size) becomes a failed
//!   fetch: the last good keys keep serving until the maximum staleness,
//!   then lookups fail with `key_set_unavailable` (answer 503, not 401).
//!
//! ## Observability
//!
//! [`RemoteJwks::status`] ([`KeySetStatus`]): last success, last error,
//! key count, skipped members with reasons, next refresh, fetch and failure
//! counts. With the `tracing` feature: a `debug` event per fetch, a `warn`
//! per failure and per skipped member, an `info` when key ids appear or
//! disappear (a rotation), all with target `tokengate_jwks`.
//!
//! ## Cold start during an outage
//!
//! Persist [`RemoteJwks::last_good_document`] and hand it back with
//! [`RemoteJwksBuilder::cached`] at the next start: the keys serve at once,
//! until the maximum staleness counted from when it was fetched.
//!
//! ## Features
//!
//! - `async`: `RemoteJwks::refresh_for_unknown_key` and
//!   `RemoteJwks::validate_async`.
//! - `tracing`: the events above.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod driver;
mod events;
mod http;

/// The README's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokengate::keys::remote::{
    KeySetPolicy, KeySetStatus, RemoteKeySet, UnknownKeyAction, check_url, discovery_urls,
    jwks_uri_from_discovery,
};
use tokengate::{JwkSetOptions, Validator, Verified};

use crate::driver::Shared;
use crate::http::{GetError, HttpClient, std_duration};

/// Why a [`RemoteJwks`] could not be built.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is refused: a URL that is not `https` (or `http`
    /// without [`RemoteJwksBuilder::danger_allow_http`]), an inconsistent
    /// [`KeySetPolicy`], a cached document that does not load.
    #[error("configuration refused: {0}")]
    Config(#[source] tokengate::Error),
    /// No discovery document could be fetched from the issuer: why, for
    /// each URL tried.
    #[error("discovery for {issuer} failed: {reasons}")]
    Discovery {
        /// The configured issuer.
        issuer: String,
        /// Each URL tried and why it gave no document.
        reasons: String,
    },
    /// A discovery document was fetched and refused: it names another
    /// issuer than the configured one (OpenID Connect Discovery §4.3), its
    /// `jwks_uri` is not `https`, or it is not a discovery document.
    #[error("discovery document at {url} refused: {source}")]
    DiscoveryRefused {
        /// Where the document came from.
        url: String,
        /// Why it was refused.
        #[source]
        source: tokengate::Error,
    },
    /// The refresh thread could not be started.
    #[error("could not start the refresh thread: {0}")]
    Thread(#[source] std::io::Error),
}

/// What a wait for a refetch on an unknown `kid` came to
/// (`RemoteJwks::refresh_for_unknown_key`,
/// [`RemoteJwks::refresh_for_unknown_key_blocking`]).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnknownKeyRefresh {
    /// A fetch completed (this caller's or the one in flight): look the
    /// key up again. It may have failed or may still lack the `kid`.
    Refetched,
    /// No fetch: the last successful one is younger than the cooldown, or
    /// too many requests are waiting already. The key is unknown.
    Refused,
    /// The fetch in flight did not complete within the wait's bound.
    TimedOut,
}

enum Source {
    JwksUri(String),
    Issuer(String),
}

/// Configures a [`RemoteJwks`]: from [`RemoteJwks::from_jwks_uri`] or
/// [`RemoteJwks::from_issuer`].
#[must_use = "a builder does nothing until build() is called"]
pub struct RemoteJwksBuilder {
    source: Source,
    policy: KeySetPolicy,
    options: JwkSetOptions,
    allow_http: bool,
    roots: Vec<Vec<u8>>,
    cached: Option<(String, i64)>,
}

impl std::fmt::Debug for RemoteJwksBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteJwksBuilder")
            .field("policy", &self.policy)
            .field("allow_http", &self.allow_http)
            .field("roots", &self.roots.len())
            .field("cached", &self.cached.is_some())
            .finish_non_exhaustive()
    }
}

impl RemoteJwksBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            policy: KeySetPolicy::default(),
            options: JwkSetOptions::new(),
            allow_http: false,
            roots: Vec::new(),
            cached: None,
        }
    }

    /// The refresh policy ([`KeySetPolicy::default`] unless set): the
    /// schedule, cooldown, staleness, and the fetch's timeout, redirect
    /// limit and size cap.
    pub fn policy(mut self, policy: KeySetPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How members are taken, such as
    /// [`JwkSetOptions::assume_alg`] for a provider whose RSA keys carry no
    /// `alg` (Entra ID does this).
    pub fn options(mut self, options: JwkSetOptions) -> Self {
        self.options = options;
        self
    }

    /// **Accepts `http://` URLs** for discovery, the `jwks_uri` and
    /// redirects between `http` URLs. Only for tests and local development:
    /// over `http`, anyone on the path can substitute their own keys and
    /// mint tokens the validator accepts. A redirect from `https` to `http`
    /// stays refused.
    pub fn danger_allow_http(mut self) -> Self {
        self.allow_http = true;
        self
    }

    /// Trusts only these root certificates (DER) instead of the bundled
    /// Mozilla roots: for a provider behind a private certificate
    /// authority. Call once per certificate.
    pub fn root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots.push(der.into());
        self
    }

    /// A document kept from an earlier run ([`RemoteJwks::last_good_document`])
    /// and the Unix second it was fetched: it serves at once, so a restart
    /// during a provider outage still validates tokens until the maximum
    /// staleness counted from `fetched_at`. A fetch is still made at once.
    pub fn cached(mut self, document: impl Into<String>, fetched_at: i64) -> Self {
        self.cached = Some((document.into(), fetched_at));
        self
    }

    /// Checks the URLs, runs discovery (blocking, each request within the
    /// policy's fetch timeout), loads the cached document, and starts the
    /// refresh thread, which makes the first fetch at once.
    ///
    /// Discovery blocks the calling thread: in async code, build before
    /// the runtime starts or inside `spawn_blocking` (a `jwks_uri` source
    /// makes no request here).
    ///
    /// # Errors
    ///
    /// [`Error::Config`] for a refused URL or policy or a cached document
    /// that gives no key; [`Error::Discovery`] when no discovery document
    /// could be fetched; [`Error::DiscoveryRefused`] for a discovery
    /// document naming another issuer or an `http` `jwks_uri`;
    /// [`Error::Thread`] when the thread cannot start.
    pub fn build(self) -> Result<RemoteJwks, Error> {
        let set = Arc::new(RemoteKeySet::new(self.policy, self.options).map_err(Error::Config)?);
        let client = HttpClient::new(&self.policy, self.allow_http, &self.roots);
        let jwks_uri = match self.source {
            Source::JwksUri(uri) => {
                check_url(&uri, self.allow_http).map_err(Error::Config)?;
                uri
            }
            Source::Issuer(issuer) => discover(&client, &issuer, self.allow_http)?,
        };
        let shared = Arc::new(Shared::new(Arc::clone(&set), jwks_uri, client));
        if let Some((document, fetched_at)) = &self.cached {
            set.load_cached(document, *fetched_at)
                .map_err(Error::Config)?;
            shared.set_last_good(document, *fetched_at);
        }
        let worker = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("tokengate-jwks".into())
                .spawn(move || shared.run())
                .map_err(Error::Thread)?
        };
        Ok(RemoteJwks {
            shared,
            worker: Some(worker),
        })
    }
}

/// Fetches the issuer's discovery documents in order (OpenID Connect, then
/// RFC 8414) and takes `jwks_uri` from the first one fetched.
fn discover(client: &HttpClient, issuer: &str, allow_http: bool) -> Result<String, Error> {
    check_url(issuer, allow_http).map_err(Error::Config)?;
    let mut reasons = Vec::new();
    for url in discovery_urls(issuer) {
        match client.get(&url) {
            Ok(response) => {
                return jwks_uri_from_discovery(&response.body, issuer, allow_http)
                    .map_err(|source| Error::DiscoveryRefused { url, source });
            }
            Err(why @ (GetError::Status(_) | GetError::Other(_))) => {
                reasons.push(format!("{url}: {why}"));
            }
        }
    }
    Err(Error::Discovery {
        issuer: issuer.to_owned(),
        reasons: reasons.join("; "),
    })
}

/// An identity provider's JWK Set, kept fresh by a background thread.
///
/// Hand [`RemoteJwks::key_set`] to [`Validator::builder`]; validate with
/// [`RemoteJwks::validate_blocking`] or `RemoteJwks::validate_async` to
/// ride out rotations. Dropping it stops the thread (after the fetch in
/// progress, if any, which the fetch timeout bounds); validators keep
/// serving the last keys until the maximum staleness.
#[derive(Debug)]
pub struct RemoteJwks {
    shared: Arc<Shared>,
    worker: Option<JoinHandle<()>>,
}

impl Drop for RemoteJwks {
    fn drop(&mut self) {
        self.shared.stop();
    }
}

impl RemoteJwks {
    /// Follows the JWK Set at `jwks_uri` (`https` only, unless
    /// [`RemoteJwksBuilder::danger_allow_http`]).
    pub fn from_jwks_uri(jwks_uri: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::new(Source::JwksUri(jwks_uri.into()))
    }

    /// Follows the JWK Set of `issuer`, found by discovery at build time:
    /// `{issuer}/.well-known/openid-configuration`, then RFC 8414's
    /// `/.well-known/oauth-authorization-server{path}`. The document's
    /// `issuer` must equal `issuer` exactly (a trailing slash matters).
    pub fn from_issuer(issuer: impl Into<String>) -> RemoteJwksBuilder {
        RemoteJwksBuilder::new(Source::Issuer(issuer.into()))
    }

    /// The key store, for [`Validator::builder`] (cloning the `Arc` is
    /// cheap; every clone serves the same keys).
    pub fn key_set(&self) -> Arc<RemoteKeySet> {
        Arc::clone(&self.shared.set)
    }

    /// The URL the keys are fetched from (after discovery).
    pub fn jwks_uri(&self) -> &str {
        &self.shared.jwks_uri
    }

    /// The state, for a health or metrics endpoint.
    pub fn status(&self) -> KeySetStatus {
        self.shared.set.status()
    }

    /// The last document that gave keys and the Unix second it was fetched
    /// (or loaded): persist it for [`RemoteJwksBuilder::cached`].
    pub fn last_good_document(&self) -> Option<(String, i64)> {
        self.shared
            .last_good()
            .map(|(document, at)| (document.to_string(), at))
    }

    /// Blocks until the keys serve, or the first fetch has failed, or
    /// `timeout` passes.
    ///
    /// # Errors
    ///
    /// [`tokengate::Error::KeySetUnavailable`] with the last fetch error
    /// when the keys do not serve.
    pub fn wait_ready(&self, timeout: Duration) -> Result<(), tokengate::Error> {
        self.shared.wait_until(timeout, |shared| {
            let status = shared.set.status();
            status.serving || status.fetches > 0
        });
        let status = self.status();
        if status.serving {
            return Ok(());
        }
        Err(tokengate::Error::KeySetUnavailable(
            match status.last_error {
                Some(why) => format!("the JWK Set does not serve: {why}"),
                None => "the JWK Set was not fetched in time".to_owned(),
            },
        ))
    }

    /// Validates `token` with `validator` (built over
    /// [`RemoteJwks::key_set`]); when its `kid` is unknown, waits for one
    /// refetch ([`RemoteJwks::refresh_for_unknown_key_blocking`]) and
    /// validates once more. The calling thread blocks for at most the
    /// fetch timeout (plus a second), and only when a refetch is allowed.
    ///
    /// # Errors
    ///
    /// As [`Validator::validate`].
    pub fn validate_blocking(
        &self,
        validator: &Validator,
        token: &str,
    ) -> Result<Verified, tokengate::Error> {
        self.retry_on_unknown_key_blocking(|| validator.validate(token))
    }

    /// Runs `check` (any validation over [`RemoteJwks::key_set`]:
    /// [`Validator::validate_with`] for custom claims,
    /// [`Validator::validate_for`], the front door's `authenticate`...);
    /// when it fails with [`tokengate::Error::UnknownKey`], waits for one
    /// refetch as [`RemoteJwks::validate_blocking`] does and runs it once
    /// more.
    ///
    /// # Errors
    ///
    /// `check`'s.
    pub fn retry_on_unknown_key_blocking<T>(
        &self,
        mut check: impl FnMut() -> Result<T, tokengate::Error>,
    ) -> Result<T, tokengate::Error> {
        let seen = self.shared.set.generation();
        match check() {
            Err(e @ tokengate::Error::UnknownKey { .. }) => match self.refresh_blocking(Some(seen))
            {
                UnknownKeyRefresh::Refetched => check(),
                _ => Err(e),
            },
            other => other,
        }
    }

    /// Waits for a refetch after a lookup met an unknown `kid`, blocking
    /// the calling thread: starts one (handed to the refresh thread) when
    /// the cooldown allows, or waits for the one in flight, or refuses at
    /// once. Then look the key up again.
    pub fn refresh_for_unknown_key_blocking(&self) -> UnknownKeyRefresh {
        self.refresh_blocking(None)
    }

    /// The wait's bound: the fetch timeout, plus a second for the answer
    /// to be handed back.
    fn wait_bound(&self) -> Duration {
        std_duration(self.shared.set.policy().fetch_timeout).saturating_add(Duration::from_secs(1))
    }

    /// As [`RemoteJwks::refresh_for_unknown_key_blocking`]; a refusal after
    /// the set moved past `seen` (the generation the caller's lookup saw)
    /// counts as refetched: another caller's fetch completed meanwhile.
    fn refresh_blocking(&self, seen: Option<u64>) -> UnknownKeyRefresh {
        let set = &self.shared.set;
        if seen.is_some_and(|seen| set.generation() > seen) {
            // A fetch completed since the caller's lookup: look again
            // rather than start another.
            return UnknownKeyRefresh::Refetched;
        }
        let (generation, counted) = match set.on_unknown_key() {
            UnknownKeyAction::Fetch(fetch) => {
                let generation = set.generation();
                self.shared.hand_over(fetch);
                (generation, false)
            }
            UnknownKeyAction::Wait { generation } => (generation, true),
            UnknownKeyAction::Refuse => {
                return if seen.is_some_and(|seen| set.generation() > seen) {
                    UnknownKeyRefresh::Refetched
                } else {
                    UnknownKeyRefresh::Refused
                };
            }
        };
        let moved = self.shared.wait_until(self.wait_bound(), |shared| {
            shared.set.generation() > generation
        });
        if counted {
            set.stop_waiting();
        }
        if moved {
            UnknownKeyRefresh::Refetched
        } else {
            UnknownKeyRefresh::TimedOut
        }
    }

    /// Stops the refresh thread and waits for it to end (at most the fetch
    /// timeout, when a fetch is in progress). Dropping does the same
    /// without waiting.
    pub fn shutdown(mut self) {
        self.shared.stop();
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(feature = "async")]
impl RemoteJwks {
    /// Awaits a refetch after a lookup met an unknown `kid`: starts one
    /// (performed by the refresh thread) when the cooldown allows, or
    /// awaits the one in flight, or refuses at once. The task awaits; no
    /// thread blocks. Works under any executor; the wait ends when the
    /// fetch completes, which its timeout bounds. Cancel-safe: a dropped
    /// future gives up its place among the waiters.
    pub async fn refresh_for_unknown_key(&self) -> UnknownKeyRefresh {
        self.refresh_async(None).await
    }

    /// Validates `token` with `validator` (built over
    /// [`RemoteJwks::key_set`]); when its `kid` is unknown, awaits one
    /// refetch (`RemoteJwks::refresh_for_unknown_key`) and validates once
    /// more, so a request that arrives during a rotation succeeds rather
    /// than fails.
    ///
    /// # Errors
    ///
    /// As [`Validator::validate`].
    pub async fn validate_async(
        &self,
        validator: &Validator,
        token: &str,
    ) -> Result<Verified, tokengate::Error> {
        self.retry_on_unknown_key(|| validator.validate(token))
            .await
    }

    /// Runs `check` (any validation over [`RemoteJwks::key_set`]:
    /// [`Validator::validate_with`] for custom claims,
    /// [`Validator::validate_for`], the front door's `authenticate`...);
    /// when it fails with [`tokengate::Error::UnknownKey`], awaits one
    /// refetch as [`RemoteJwks::validate_async`] does and runs it once
    /// more.
    ///
    /// # Errors
    ///
    /// `check`'s.
    pub async fn retry_on_unknown_key<T>(
        &self,
        mut check: impl FnMut() -> Result<T, tokengate::Error>,
    ) -> Result<T, tokengate::Error> {
        let seen = self.shared.set.generation();
        match check() {
            Err(e @ tokengate::Error::UnknownKey { .. }) => {
                match self.refresh_async(Some(seen)).await {
                    UnknownKeyRefresh::Refetched => check(),
                    _ => Err(e),
                }
            }
            other => other,
        }
    }

    async fn refresh_async(&self, seen: Option<u64>) -> UnknownKeyRefresh {
        struct StopWaiting<'a>(&'a RemoteKeySet);
        impl Drop for StopWaiting<'_> {
            fn drop(&mut self) {
                self.0.stop_waiting();
            }
        }
        let set = &*self.shared.set;
        let mut changes = self.shared.watch.subscribe();
        if seen.is_some_and(|seen| set.generation() > seen) {
            return UnknownKeyRefresh::Refetched;
        }
        let (generation, _counted) = match set.on_unknown_key() {
            UnknownKeyAction::Fetch(fetch) => {
                let generation = set.generation();
                self.shared.hand_over(fetch);
                (generation, None)
            }
            UnknownKeyAction::Wait { generation } => (generation, Some(StopWaiting(set))),
            UnknownKeyAction::Refuse => {
                return if seen.is_some_and(|seen| set.generation() > seen) {
                    UnknownKeyRefresh::Refetched
                } else {
                    UnknownKeyRefresh::Refused
                };
            }
        };
        // Bounded like the blocking wait: the refresh thread ticks the
        // channel every poll interval, so the deadline is re-checked even
        // when no fetch completes.
        let deadline = std::time::Instant::now() + self.wait_bound();
        let moved = changes
            .wait_for(|_| set.generation() > generation || std::time::Instant::now() >= deadline)
            .await
            .is_ok()
            && set.generation() > generation;
        if moved {
            UnknownKeyRefresh::Refetched
        } else {
            UnknownKeyRefresh::TimedOut
        }
    }
}
