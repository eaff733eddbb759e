//! A local copy of a shared revocation store, for the hot path of a fleet.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use time::Duration;

use super::list::RevocationList;
use super::{
    ChangeCursor, ChangeFeed, Revocation, RevocationChange, RevocationQuery, RevocationStore,
    Snapshot,
};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;

/// What a [`RevocationReplica`] does when it has not heard from its source
/// for longer than its staleness bound.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StalePolicy {
    /// Reject every token with [`Error::Store`] (answer 503): a revocation
    /// made elsewhere can never be missed for longer than the bound.
    FailClosed,
    /// Keep answering from the last known state: availability over a
    /// revocation that may have been missed.
    ServeStale,
}

/// What one [`RevocationReplica::sync`] did.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncReport {
    /// Changes applied from the feed (or loaded from a snapshot).
    pub applied: usize,
    /// `true` when the source could not continue from the replica's cursor
    /// and a snapshot was loaded in full.
    pub resynced: bool,
}

/// `last_contact` before the first load.
const NEVER: i64 = i64::MIN;

/// Why a replica refused to answer.
#[derive(Debug, thiserror::Error)]
enum ReplicaError {
    #[error("revocation replica has not loaded its source yet")]
    NotReady,
    #[error("revocation replica last heard from its source {seconds} s ago, over its bound")]
    Stale { seconds: i64 },
    #[error("a feed page does not start at the revocation replica's cursor")]
    OutOfOrder,
    #[error("the revocation store asked for a resync again right after a snapshot")]
    ResyncLoop,
}

/// A [`Revocation`] served from a local [`RevocationList`] that follows a
/// shared [`RevocationStore`] through its change feed.
///
/// Each server of a fleet keeps one. Lookups never touch the network; the
/// replica is brought up to date by [`sync`](Self::sync) (with a
/// synchronous store, from a background thread or timer), or, sans-IO, by
/// handing it what an asynchronous client read: [`apply`](Self::apply) for
/// feed pages (read from [`cursor`](Self::cursor)),
/// [`load_snapshot`](Self::load_snapshot) after a [`ChangeFeed::Resync`].
/// Those calls take turns; lookups never wait for them.
///
/// - **Ready:** until its first successful load, every lookup is
///   [`Error::Store`]: a restarted server rejects rather than accepting
///   tokens revoked while it was down.
/// - **Staleness:** every successful contact with the source (even one
///   that brought no change) restarts the staleness clock. Past
///   `max_staleness` the [`StalePolicy`] decides: reject with
///   [`Error::Store`], or serve the last known state. A revocation made
///   anywhere in the fleet is enforced here within the sync interval, and
///   never missed for longer than `max_staleness` under `FailClosed`.
/// - **Nothing lost:** the replica resumes from the cursor of the last
///   change it applied, and refuses a page that does not start there; a
///   source that trimmed its log past that cursor answers `Resync` and the
///   replica loads a snapshot in full, on top of what it knew (nothing is
///   ever un-revoked).
///
/// # Defaults
///
/// | setting | default |
/// |---|---|
/// | page size per feed read | 1,000 changes |
/// | clock | [`SystemClock`] |
#[derive(Debug)]
pub struct RevocationReplica {
    local: RevocationList,
    cursor: Mutex<ChangeCursor>,
    /// When the replica last heard from its source (Unix seconds), or
    /// [`NEVER`]. Read on every lookup, so an atomic, not a lock.
    last_contact: AtomicI64,
    max_staleness: i64,
    policy: StalePolicy,
    page: usize,
    clock: Arc<dyn Clock>,
}

impl RevocationReplica {
    /// An empty, not yet ready replica that tolerates `max_staleness`
    /// without contact with its source and then applies `policy`.
    pub fn new(max_staleness: Duration, policy: StalePolicy) -> Self {
        Self {
            local: RevocationList::without_journal(
                super::DEFAULT_RETENTION_MARGIN.whole_seconds(),
                None,
            ),
            cursor: Mutex::new(ChangeCursor::start()),
            last_contact: AtomicI64::new(NEVER),
            max_staleness: max_staleness.whole_seconds().max(0),
            policy,
            page: 1_000,
            clock: Arc::new(SystemClock),
        }
    }

    /// Reads time from `clock`.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Keeps entries `margin` past their tokens' `exp`, and prunes subject
    /// entries after `max_token_lifetime` (see
    /// [`RevocationList::max_token_lifetime`]); use the source's settings.
    #[must_use]
    pub fn retention(mut self, margin: Duration, max_token_lifetime: Option<Duration>) -> Self {
        self.local = RevocationList::without_journal(
            margin.whole_seconds().max(0),
            max_token_lifetime.map(|d| d.whole_seconds().max(0)),
        );
        self
    }

    /// Reads at most `changes` changes per feed request (at least 1).
    #[must_use]
    pub fn page_size(mut self, changes: usize) -> Self {
        self.page = changes.max(1);
        self
    }

    fn last_contact(&self) -> Option<i64> {
        let last = self.last_contact.load(Ordering::Acquire);
        (last != NEVER).then_some(last)
    }

    /// Brings the replica up to date from `source`: feed pages until the
    /// source has nothing newer, or a full snapshot when the source answers
    /// [`ChangeFeed::Resync`] (at most once per call). Concurrent calls
    /// (and [`apply`](Self::apply), [`load_snapshot`](Self::load_snapshot))
    /// take turns.
    ///
    /// # Errors
    ///
    /// The source's errors, and [`Error::Store`] when the source answers
    /// `Resync` again right after a snapshot. The replica keeps what it had
    /// applied, and its staleness clock keeps running.
    pub fn sync(&self, source: &dyn RevocationStore) -> Result<SyncReport, Error> {
        let mut cursor = self.writer();
        let mut report = SyncReport::default();
        loop {
            match source.changes_since(&cursor, self.page)? {
                ChangeFeed::Changes {
                    changes,
                    cursor: next,
                } => {
                    let n = changes.len();
                    self.merge(&mut cursor, &changes, next)?;
                    report.applied = report.applied.saturating_add(n);
                    if n < self.page {
                        return Ok(report);
                    }
                }
                ChangeFeed::Resync if report.resynced => {
                    return Err(Error::store(ReplicaError::ResyncLoop));
                }
                ChangeFeed::Resync => {
                    let snapshot = source.snapshot()?;
                    report.applied = report.applied.saturating_add(snapshot.changes.len());
                    report.resynced = true;
                    self.merge(&mut cursor, &snapshot.changes, snapshot.cursor)?;
                }
            }
        }
    }

    /// Applies a feed page the application read itself: `changes` are
    /// what the feed returned after `after`, and `cursor` the cursor it
    /// returned with them. Counts as contact with the source.
    ///
    /// # Errors
    ///
    /// [`Error::Store`] when `after` is not the replica's cursor (a page
    /// skipped, repeated out of order, or read before another call moved
    /// the cursor): nothing is applied; read again from
    /// [`cursor`](Self::cursor).
    pub fn apply(
        &self,
        after: &ChangeCursor,
        changes: &[RevocationChange],
        cursor: ChangeCursor,
    ) -> Result<(), Error> {
        let mut current = self.writer();
        if *current != *after {
            return Err(Error::store(ReplicaError::OutOfOrder));
        }
        self.merge(&mut current, changes, cursor)
    }

    /// Adds `snapshot` to the local state (after a [`ChangeFeed::Resync`],
    /// or at start) and follows the feed from its cursor. Revocations are
    /// never taken back, so what the replica knew stays (a source that lost
    /// writes in a restart does not un-revoke them here); entries that
    /// expire leave with [`prune`](Self::prune).
    ///
    /// # Errors
    ///
    /// Never for the in-memory copy; kept fallible for symmetry with the
    /// store calls.
    pub fn load_snapshot(&self, snapshot: Snapshot) -> Result<(), Error> {
        let mut current = self.writer();
        self.merge(&mut current, &snapshot.changes, snapshot.cursor)
    }

    /// The cursor lock, held by whoever changes the local state.
    fn writer(&self) -> std::sync::MutexGuard<'_, ChangeCursor> {
        self.cursor.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn merge(
        &self,
        cursor: &mut ChangeCursor,
        changes: &[RevocationChange],
        next: ChangeCursor,
    ) -> Result<(), Error> {
        for change in changes {
            self.local.apply(change)?;
        }
        *cursor = next;
        self.last_contact
            .store(self.clock.now_unix(), Ordering::Release);
        Ok(())
    }

    /// The cursor of the last change applied.
    pub fn cursor(&self) -> ChangeCursor {
        self.cursor
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// `true` once the replica has loaded its source at least once.
    pub fn is_ready(&self) -> bool {
        self.last_contact().is_some()
    }

    /// How long since the last contact with the source; `None` before the
    /// first.
    pub fn staleness(&self) -> Option<Duration> {
        let last = self.last_contact()?;
        Some(Duration::seconds(
            self.clock.now_unix().saturating_sub(last).max(0),
        ))
    }

    /// Drops expired entries from the local copy (see
    /// [`RevocationList::prune`]).
    pub fn prune(&self) -> usize {
        self.local.prune(self.clock.now())
    }
}

impl Revocation for RevocationReplica {
    fn retention_margin(&self) -> Option<Duration> {
        self.local.retention_margin()
    }

    fn is_revoked(&self, query: &RevocationQuery<'_>) -> Result<bool, Error> {
        let Some(last) = self.last_contact() else {
            return Err(Error::store(ReplicaError::NotReady));
        };
        let age = self.clock.now_unix().saturating_sub(last);
        if age > self.max_staleness && self.policy == StalePolicy::FailClosed {
            return Err(Error::store(ReplicaError::Stale { seconds: age }));
        }
        self.local.is_revoked(query)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::error::ErrorKind;
    use time::OffsetDateTime;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(s).unwrap()
    }

    #[test]
    fn follows_the_feed_and_fails_closed_when_stale() {
        let clock = Arc::new(FixedClock::at_unix(1_000));
        let source = RevocationList::new().with_change_feed();
        let replica = RevocationReplica::new(Duration::seconds(30), StalePolicy::FailClosed)
            .clock(clock.clone())
            .page_size(2);
        let q = RevocationQuery::for_jti(Some("j3"));
        assert_eq!(
            replica.is_revoked(&q).unwrap_err().kind(),
            ErrorKind::StoreFailure,
            "not ready before the first load"
        );
        for i in 0..5 {
            source.revoke_token(&format!("j{i}"), t(5_000)).unwrap();
        }
        let report = replica.sync(&source).unwrap();
        assert_eq!(report.applied, 5);
        assert!(!report.resynced);
        assert!(replica.is_revoked(&q).unwrap());
        clock.advance(30);
        assert!(replica.is_revoked(&q).unwrap(), "at the bound: still fresh");
        clock.advance(1);
        assert_eq!(
            replica.is_revoked(&q).unwrap_err().kind(),
            ErrorKind::StoreFailure
        );
        // Contact with no change restores service.
        assert_eq!(replica.sync(&source).unwrap().applied, 0);
        assert!(replica.is_revoked(&q).unwrap());
    }

    #[test]
    fn serve_stale_keeps_answering() {
        let clock = Arc::new(FixedClock::at_unix(1_000));
        let source = RevocationList::new().with_change_feed();
        source.revoke_key("k").unwrap();
        let replica = RevocationReplica::new(Duration::seconds(1), StalePolicy::ServeStale)
            .clock(clock.clone());
        replica.sync(&source).unwrap();
        clock.advance(3_600);
        let q = RevocationQuery::default().with_key_and_session(Some("k"), None);
        assert!(replica.is_revoked(&q).unwrap());
        assert_eq!(replica.staleness(), Some(Duration::hours(1)));
    }

    #[test]
    fn a_foreign_cursor_resyncs_and_nothing_is_unrevoked() {
        let first = RevocationList::new().with_change_feed();
        for i in 0..3 {
            first.revoke_token(&format!("a{i}"), t(5_000)).unwrap();
        }
        let replica = RevocationReplica::new(Duration::seconds(30), StalePolicy::FailClosed)
            .clock(Arc::new(FixedClock::at_unix(1_000)));
        replica.sync(&first).unwrap();
        // The source is replaced by another list (a restart that lost its
        // writes): the cursor is not one of its own, so the replica loads a
        // snapshot, on top of what it knew.
        let second = RevocationList::new().with_change_feed();
        second.revoke_token("b", t(5_000)).unwrap();
        let report = replica.sync(&second).unwrap();
        assert!(report.resynced);
        for jti in ["a0", "b"] {
            assert!(
                replica
                    .is_revoked(&RevocationQuery::for_jti(Some(jti)))
                    .unwrap(),
                "{jti}"
            );
        }
    }

    #[test]
    fn a_page_that_does_not_start_at_the_cursor_is_refused() {
        let source = RevocationList::new().with_change_feed();
        source.revoke_token("a", t(5_000)).unwrap();
        let replica = RevocationReplica::new(Duration::seconds(30), StalePolicy::FailClosed)
            .clock(Arc::new(FixedClock::at_unix(1_000)));
        let ChangeFeed::Changes { changes, cursor } =
            source.changes_since(&ChangeCursor::start(), 10).unwrap()
        else {
            panic!("changes")
        };
        replica
            .apply(&ChangeCursor::start(), &changes, cursor.clone())
            .unwrap();
        source.revoke_token("b", t(5_000)).unwrap();
        let ChangeFeed::Changes {
            changes: next,
            cursor: after_b,
        } = source.changes_since(&cursor, 10).unwrap()
        else {
            panic!("changes")
        };
        // Replaying the first page's start, or skipping ahead, is refused.
        for stale in [ChangeCursor::start(), after_b.clone()] {
            assert_eq!(
                replica
                    .apply(&stale, &next, after_b.clone())
                    .unwrap_err()
                    .kind(),
                ErrorKind::StoreFailure
            );
        }
        assert!(
            !replica
                .is_revoked(&RevocationQuery::for_jti(Some("b")))
                .unwrap()
        );
        replica.apply(&cursor, &next, after_b).unwrap();
        assert!(
            replica
                .is_revoked(&RevocationQuery::for_jti(Some("b")))
                .unwrap()
        );
    }

    /// A store that always asks for a resync.
    #[derive(Debug)]
    struct AlwaysResync(RevocationList);

    impl Revocation for AlwaysResync {
        fn is_revoked(&self, q: &RevocationQuery<'_>) -> Result<bool, Error> {
            self.0.is_revoked(q)
        }
    }

    impl RevocationStore for AlwaysResync {
        fn revoke_token(&self, jti: &str, exp: time::OffsetDateTime) -> Result<(), Error> {
            self.0.revoke_token(jti, exp)
        }
        fn revoke_subject_before(&self, s: &str, b: time::OffsetDateTime) -> Result<(), Error> {
            self.0.revoke_subject_before(s, b)
        }
        fn revoke_key(&self, kid: &str) -> Result<(), Error> {
            self.0.revoke_key(kid)
        }
        fn revoke_session(&self, sid: &str, u: time::OffsetDateTime) -> Result<(), Error> {
            self.0.revoke_session(sid, u)
        }
        fn changes_since(&self, _: &ChangeCursor, _: usize) -> Result<ChangeFeed, Error> {
            Ok(ChangeFeed::Resync)
        }
        fn snapshot(&self) -> Result<Snapshot, Error> {
            self.0.snapshot()
        }
    }

    #[test]
    fn a_source_that_always_asks_for_a_resync_does_not_loop() {
        let source = AlwaysResync(RevocationList::new().with_change_feed());
        source.revoke_key("k").unwrap();
        let replica = RevocationReplica::new(Duration::seconds(30), StalePolicy::FailClosed)
            .clock(Arc::new(FixedClock::at_unix(1_000)));
        assert_eq!(
            replica.sync(&source).unwrap_err().kind(),
            ErrorKind::StoreFailure
        );
        // What the one snapshot brought is kept.
        let q = RevocationQuery::default().with_key_and_session(Some("k"), None);
        assert!(replica.is_revoked(&q).unwrap());
    }
}
