//! The state shared by a [`RemoteJwks`](crate::RemoteJwks), its refresh
//! thread and the callers that wait on a refetch.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokengate::keys::remote::{Fetch, FetchOutcome, FetchResult, RemoteKeySet};

use crate::events;
use crate::http::HttpClient;

/// How often the refresh thread looks at the set when nothing woke it: the
/// bound on how late a refetch that a plain
/// [`Validator::validate`](tokengate::Validator::validate) asked for (by
/// meeting an unknown `kid`) starts.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
struct Wake {
    stop: bool,
    handed: Option<Fetch>,
}

/// What the refresh thread and the callers share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) set: Arc<RemoteKeySet>,
    pub(crate) jwks_uri: String,
    client: HttpClient,
    wake: Mutex<Wake>,
    wake_cv: Condvar,
    completions: Mutex<u64>,
    completions_cv: Condvar,
    last_good: Mutex<Option<(Arc<str>, i64)>>,
    #[cfg(feature = "tracing")]
    kids: Mutex<Vec<String>>,
    #[cfg(feature = "async")]
    pub(crate) watch: tokio::sync::watch::Sender<u64>,
}

impl Shared {
    pub(crate) fn new(set: Arc<RemoteKeySet>, jwks_uri: String, client: HttpClient) -> Self {
        Self {
            set,
            jwks_uri,
            client,
            wake: Mutex::default(),
            wake_cv: Condvar::new(),
            completions: Mutex::new(0),
            completions_cv: Condvar::new(),
            last_good: Mutex::new(None),
            #[cfg(feature = "tracing")]
            kids: Mutex::default(),
            #[cfg(feature = "async")]
            watch: tokio::sync::watch::channel(0).0,
        }
    }

    /// The refresh thread: performs the fetches handed to it and those the
    /// set says are due, then sleeps until woken or the poll interval.
    pub(crate) fn run(&self) {
        loop {
            let handed = {
                let mut wake = lock(&self.wake);
                if wake.stop {
                    return;
                }
                wake.handed.take()
            };
            if let Some(fetch) = handed.or_else(|| self.set.due()) {
                self.perform(fetch);
                continue;
            }
            let wake = lock(&self.wake);
            if wake.stop || wake.handed.is_some() {
                continue;
            }
            drop(
                self.wake_cv
                    .wait_timeout(wake, POLL_INTERVAL)
                    .unwrap_or_else(PoisonError::into_inner),
            );
            // A tick for async waiters, so each re-checks its deadline at
            // least once per poll interval even when no fetch completes.
            #[cfg(feature = "async")]
            if self.watch.receiver_count() > 0 {
                self.watch.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }

    /// Asks the refresh thread to stop at its next wake.
    pub(crate) fn stop(&self) {
        lock(&self.wake).stop = true;
        self.wake_cv.notify_all();
    }

    /// Gives a fetch that a caller started to the refresh thread, which
    /// performs it at once.
    pub(crate) fn hand_over(&self, fetch: Fetch) {
        let mut wake = lock(&self.wake);
        if wake.stop {
            drop(wake);
            self.set
                .complete(fetch, FetchOutcome::Failed("the refresher stopped".into()));
            self.completed();
            return;
        }
        // Single flight: the set hands out one fetch at a time, so nothing
        // is ever replaced here.
        wake.handed = Some(fetch);
        drop(wake);
        self.wake_cv.notify_all();
    }

    /// Performs `fetch` and hands the answer to the set.
    pub(crate) fn perform(&self, fetch: Fetch) -> FetchResult {
        events::fetch_started(fetch.reason(), &self.jwks_uri);
        let result = match self.client.get(&self.jwks_uri) {
            Ok(response) => {
                let result = self.set.complete(
                    fetch,
                    FetchOutcome::Document {
                        body: &response.body,
                        max_age: response.max_age,
                    },
                );
                if matches!(result, FetchResult::Updated { .. })
                    && let Ok(text) = std::str::from_utf8(&response.body)
                {
                    let at = self.set.status().last_success.unwrap_or_default();
                    *lock(&self.last_good) = Some((Arc::from(text), at));
                    #[cfg(feature = "tracing")]
                    events::rotation(&mut lock(&self.kids), text);
                }
                result
            }
            Err(why) => self
                .set
                .complete(fetch, FetchOutcome::Failed(why.to_string())),
        };
        events::fetch_done(&result, &self.jwks_uri);
        self.completed();
        result
    }

    /// Wakes every caller waiting on a completion.
    fn completed(&self) {
        let mut count = lock(&self.completions);
        *count = count.wrapping_add(1);
        drop(count);
        self.completions_cv.notify_all();
        #[cfg(feature = "async")]
        self.watch.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Blocks until `done` holds, re-checked after every completion, or
    /// until `timeout`; returns whether it held.
    pub(crate) fn wait_until(&self, timeout: Duration, done: impl Fn(&Self) -> bool) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut guard = lock(&self.completions);
        loop {
            if done(self) {
                return true;
            }
            let remaining = match deadline {
                Some(at) => at.saturating_duration_since(Instant::now()),
                None => timeout,
            };
            if remaining.is_zero() {
                return false;
            }
            guard = self
                .completions_cv
                .wait_timeout(guard, remaining)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The last document that replaced the keys, and when.
    pub(crate) fn last_good(&self) -> Option<(Arc<str>, i64)> {
        lock(&self.last_good).clone()
    }

    pub(crate) fn set_last_good(&self, document: &str, at: i64) {
        *lock(&self.last_good) = Some((Arc::from(document), at));
        #[cfg(feature = "tracing")]
        events::rotation(&mut lock(&self.kids), document);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
