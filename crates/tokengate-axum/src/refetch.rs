//! Riding out an identity provider's key rotation: on a token whose `kid`
//! the key set lacks, await one refetch of the set and authenticate again,
//! instead of failing the request.
//!
//! The layer needs two things from a key source ([`KeyRefresh`]): a
//! counter that moves whenever the keys were fetched, read before the
//! first attempt, and a future that resolves once a refetch has completed
//! (or was refused). Every decision about *whether* to fetch (single
//! flight, the unknown-`kid` cooldown that keeps made-up `kid`s from
//! hammering the provider, the number of waiters) is the core's
//! [`RemoteKeySet`]; the source only performs the fetch and wakes the
//! waiters.
//!
//! Two sources ship:
//!
//! - [`RemoteKeySetRefresh`]: a [`RemoteKeySet`] whose document the
//!   application fetches with its own async HTTP client (a closure).
//! - With the `jwks` feature, `tokengate_jwks::RemoteJwks` (the
//!   workspace's HTTP driver) implements [`KeyRefresh`] directly.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokengate::RemoteKeySet;
use tokengate::keys::remote::{FetchOutcome, UnknownKeyAction};
use tokio::sync::watch;

/// A boxed future, as [`KeyRefresh`] returns.
pub type RefreshFuture<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// A key source that can be refetched while a request waits.
///
/// Object safe; used as `Arc<dyn KeyRefresh>`.
pub trait KeyRefresh: fmt::Debug + Send + Sync + 'static {
    /// A counter that moves each time a fetch completes. The layer reads
    /// it before authenticating, so a fetch that completed in between
    /// counts.
    fn generation(&self) -> u64;

    /// Awaits a refetch after a lookup met an unknown `kid` at generation
    /// `seen`: `true` when the keys were fetched since `seen` (look again),
    /// `false` when no refetch happened (refused by the cooldown, or timed
    /// out). Must be bounded in time.
    fn refresh_after(&self, seen: u64) -> RefreshFuture<'_>;
}

/// What an application's fetch of a JWK Set gave.
#[derive(Debug)]
pub enum Fetched {
    /// A `200` with this body and this `Cache-Control: max-age`, if any
    /// (see [`tokengate::keys::remote::cache_control_max_age`]).
    Document {
        /// The body.
        body: Vec<u8>,
        /// The lifetime the response declared.
        max_age: Option<tokengate::time::Duration>,
    },
    /// Anything else, and why.
    Failed(String),
}

type FetchFn = dyn Fn() -> Pin<Box<dyn Future<Output = Fetched> + Send>> + Send + Sync;

/// A [`RemoteKeySet`] refetched by the application's own async fetch.
///
/// On an unknown `kid` the set decides: the first request starts the fetch
/// (on a task of its own, so a request that goes away does not abandon
/// it), the others await it, and within the cooldown every request is
/// refused at once. The wait is bounded by the set's
/// [`fetch_timeout`](tokengate::keys::remote::KeySetPolicy::fetch_timeout)
/// plus a second; the fetch itself is cut at the fetch timeout.
///
/// Scheduled refreshes (the `Cache-Control` schedule,
/// [`RemoteKeySet::due`]) are the application's driver's job, not this
/// type's: it handles only the unknown-`kid` refetch a request waits for.
///
/// ```no_run
/// use std::sync::Arc;
/// use tokengate::{JwkSetOptions, RemoteKeySet};
/// use tokengate::keys::remote::KeySetPolicy;
/// use tokengate_axum::{Fetched, RemoteKeySetRefresh};
///
/// let set = Arc::new(RemoteKeySet::new(KeySetPolicy::default(), JwkSetOptions::new())?);
/// let refresh = RemoteKeySetRefresh::new(Arc::clone(&set), || async {
///     // GET the jwks_uri with the application's HTTP client.
///     Fetched::Failed("no client in this example".into())
/// });
/// # Ok::<(), tokengate::Error>(())
/// ```
pub struct RemoteKeySetRefresh {
    set: Arc<RemoteKeySet>,
    fetch: Arc<FetchFn>,
    done: watch::Sender<u64>,
}

impl fmt::Debug for RemoteKeySetRefresh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteKeySetRefresh")
            .field("set", &self.set)
            .finish_non_exhaustive()
    }
}

impl RemoteKeySetRefresh {
    /// Refetches `set` with `fetch` when a request meets an unknown `kid`.
    pub fn new<F, Fut>(set: Arc<RemoteKeySet>, fetch: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Fetched> + Send + 'static,
    {
        let generation = set.generation();
        Self {
            set,
            fetch: Arc::new(move || Box::pin(fetch())),
            done: watch::Sender::new(generation),
        }
    }

    /// The key set, for [`Validator::builder`](tokengate::Validator::builder).
    pub fn key_set(&self) -> Arc<RemoteKeySet> {
        Arc::clone(&self.set)
    }

    fn fetch_timeout(&self) -> Duration {
        let t = self.set.policy().fetch_timeout;
        Duration::from_millis(u64::try_from(t.whole_milliseconds()).unwrap_or(5_000))
    }

    async fn wait_past(&self, generation: u64) -> bool {
        let mut changes = self.done.subscribe();
        let bound = self.fetch_timeout().saturating_add(Duration::from_secs(1));
        let set = &self.set;
        let moved =
            tokio::time::timeout(bound, changes.wait_for(|_| set.generation() > generation)).await;
        matches!(moved, Ok(Ok(_))) || set.generation() > generation
    }
}

impl KeyRefresh for RemoteKeySetRefresh {
    fn generation(&self) -> u64 {
        self.set.generation()
    }

    fn refresh_after(&self, seen: u64) -> RefreshFuture<'_> {
        Box::pin(async move {
            if self.set.generation() > seen {
                return true;
            }
            match self.set.on_unknown_key() {
                UnknownKeyAction::Fetch(fetch) => {
                    let generation = self.set.generation();
                    let set = Arc::clone(&self.set);
                    let run = Arc::clone(&self.fetch);
                    let done = self.done.clone();
                    let timeout = self.fetch_timeout();
                    tokio::spawn(async move {
                        let fetched = tokio::time::timeout(timeout, run()).await;
                        let _ = match &fetched {
                            Ok(Fetched::Document { body, max_age }) => set.complete(
                                fetch,
                                FetchOutcome::Document {
                                    body,
                                    max_age: *max_age,
                                },
                            ),
                            Ok(Fetched::Failed(why)) => {
                                set.complete(fetch, FetchOutcome::Failed(why.clone()))
                            }
                            Err(_) => set.complete(
                                fetch,
                                FetchOutcome::Failed("the fetch timed out".into()),
                            ),
                        };
                        done.send_replace(set.generation());
                    });
                    self.wait_past(generation).await
                }
                UnknownKeyAction::Wait { generation } => {
                    struct StopWaiting<'a>(&'a RemoteKeySet);
                    impl Drop for StopWaiting<'_> {
                        fn drop(&mut self) {
                            self.0.stop_waiting();
                        }
                    }
                    let _counted = StopWaiting(&self.set);
                    self.wait_past(generation).await
                }
                UnknownKeyAction::Refuse => self.set.generation() > seen,
            }
        })
    }
}

#[cfg(feature = "jwks")]
impl KeyRefresh for tokengate_jwks::RemoteJwks {
    fn generation(&self) -> u64 {
        self.key_set().generation()
    }

    fn refresh_after(&self, seen: u64) -> RefreshFuture<'_> {
        Box::pin(async move {
            if self.key_set().generation() > seen {
                return true;
            }
            let outcome = self.refresh_for_unknown_key().await;
            outcome == tokengate_jwks::UnknownKeyRefresh::Refetched
                || self.key_set().generation() > seen
        })
    }
}

/// Shares one source between several doors.
impl<R: KeyRefresh> KeyRefresh for Arc<R> {
    fn generation(&self) -> u64 {
        (**self).generation()
    }

    fn refresh_after(&self, seen: u64) -> RefreshFuture<'_> {
        (**self).refresh_after(seen)
    }
}
