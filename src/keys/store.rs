//! Where a validator finds the key for a token.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use time::Duration;

use super::{JwkSet, JwkSetOptions, SigningKey, SkippedJwk, VerifyingKey};
use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::jws::{Algorithm, AlgorithmSet};

/// What a validator asks a [`KeyStore`] for: the key of the token's `alg`
/// and, when the header has one, its `kid`.
///
/// Non-exhaustive so that fields can be added; stores read the fields,
/// only the crate builds queries.
#[non_exhaustive]
#[derive(Debug, Clone, Copy)]
pub struct KeyQuery<'a> {
    /// The token's algorithm, already checked against the allow-list.
    pub alg: Algorithm,
    /// The token's `kid` header, if any.
    pub kid: Option<&'a str>,
}

impl<'a> KeyQuery<'a> {
    pub(crate) fn new(alg: Algorithm, kid: Option<&'a str>) -> Self {
        Self { alg, kid }
    }

    /// The [`Error::UnknownKey`] a store answers when no key matches this
    /// query: it carries the query's `kid` (truncated, see
    /// [`Error::unknown_key`]).
    pub fn unknown_key(&self) -> Error {
        Error::unknown_key(self.kid)
    }
}

/// Finds the verification key for a token.
///
/// Implementations must return only a key whose algorithm equals
/// `query.alg` (the validator checks again and rejects a mismatch), must be
/// fast (they run on every request: serve from memory, refresh elsewhere)
/// and must not trust the token for anything but the `kid` and `alg` to look
/// up.
///
/// # The rule for tokens without `kid`
///
/// The stores in this crate accept a token without `kid` only when they hold
/// exactly one key of the token's algorithm; with several candidates the
/// token is refused as [`Error::UnknownKey`] rather than tried against each
/// key in turn (which would multiply the cost of forged tokens and blur
/// which key vouched for a token).
pub trait KeyStore: Debug + Send + Sync {
    /// The key for `query`.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownKey`] ([`KeyQuery::unknown_key`]) when no key
    /// matches; [`Error::Store`] when a backend fails (the token is then
    /// rejected).
    fn find_key(&self, query: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error>;

    /// The key for `query`, borrowed from the store when it can be: what a
    /// validator calls on every token. The default returns
    /// [`find_key`](Self::find_key)'s own handle. A store whose keys cannot
    /// change while it is shared, such as [`SingleKeyStore`], lends its
    /// key instead, so that threads validating at the same time do not all
    /// write to one reference count (a cache line the cores would pass
    /// back and forth).
    ///
    /// # Errors
    ///
    /// As [`find_key`](Self::find_key), which it must agree with.
    fn find_key_ref(&self, query: &KeyQuery<'_>) -> Result<Cow<'_, Arc<VerifyingKey>>, Error> {
        self.find_key(query).map(Cow::Owned)
    }

    /// The algorithms of the keys the store holds now. A validator never
    /// allows an algorithm outside this set.
    fn algorithms(&self) -> AlgorithmSet;
}

impl<S: KeyStore + ?Sized> KeyStore for Arc<S> {
    fn find_key(&self, query: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error> {
        (**self).find_key(query)
    }
    fn find_key_ref(&self, query: &KeyQuery<'_>) -> Result<Cow<'_, Arc<VerifyingKey>>, Error> {
        (**self).find_key_ref(query)
    }
    fn algorithms(&self) -> AlgorithmSet {
        (**self).algorithms()
    }
}

/// A store of exactly one key.
///
/// A token matches when its `alg` equals the key's and its `kid`, if any,
/// equals the key's key id.
#[derive(Debug, Clone)]
pub struct SingleKeyStore {
    key: Arc<VerifyingKey>,
}

impl SingleKeyStore {
    /// A store holding `key`.
    pub fn new(key: impl Into<Arc<VerifyingKey>>) -> Self {
        Self { key: key.into() }
    }

    /// The public keys as a JWK Set (empty for an HMAC key).
    pub fn jwks(&self) -> JwkSet {
        self.key.to_jwk().into_iter().collect()
    }
}

impl KeyStore for SingleKeyStore {
    fn find_key(&self, query: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error> {
        self.find_key_ref(query).map(Cow::into_owned)
    }

    fn find_key_ref(&self, query: &KeyQuery<'_>) -> Result<Cow<'_, Arc<VerifyingKey>>, Error> {
        let kid_ok = query.kid.is_none_or(|kid| kid == self.key.key_id());
        if self.key.algorithm() == query.alg && kid_ok {
            Ok(Cow::Borrowed(&self.key))
        } else {
            Err(query.unknown_key())
        }
    }

    fn algorithms(&self) -> AlgorithmSet {
        AlgorithmSet::only(self.key.algorithm())
    }
}

/// An immutable index of keys by `kid` and `alg`.
#[derive(Debug, Default)]
pub(super) struct KeyIndex {
    by_kid: HashMap<String, Vec<Arc<VerifyingKey>>>,
    /// Per algorithm, the key to use for a token without `kid`: set only when
    /// the index holds exactly one key of that algorithm.
    sole: Vec<(Algorithm, Arc<VerifyingKey>)>,
    algorithms: AlgorithmSet,
    len: usize,
    /// The JWK Set members the import that made this index left out.
    skipped: Vec<SkippedJwk>,
}

impl KeyIndex {
    fn build(keys: impl IntoIterator<Item = Arc<VerifyingKey>>) -> Result<Self, Error> {
        let mut index = Self::default();
        let mut counts: Vec<(Algorithm, usize, Arc<VerifyingKey>)> = Vec::new();
        for key in keys {
            let slot = index.by_kid.entry(key.key_id().to_owned()).or_default();
            if slot.iter().any(|k| k.algorithm() == key.algorithm()) {
                return Err(Error::config(
                    "two keys share one key id and algorithm; lookups would be ambiguous",
                ));
            }
            index.algorithms.insert(key.algorithm());
            match counts.iter_mut().find(|(a, _, _)| *a == key.algorithm()) {
                Some(entry) => entry.1 = entry.1.saturating_add(1),
                None => counts.push((key.algorithm(), 1, Arc::clone(&key))),
            }
            slot.push(key);
            index.len = index.len.saturating_add(1);
        }
        index.sole = counts
            .into_iter()
            .filter(|(_, n, _)| *n == 1)
            .map(|(a, _, k)| (a, k))
            .collect();
        Ok(index)
    }

    fn find(&self, query: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error> {
        let found = match query.kid {
            Some(kid) => self
                .by_kid
                .get(kid)
                .and_then(|keys| keys.iter().find(|k| k.algorithm() == query.alg)),
            None => self
                .sole
                .iter()
                .find(|(a, _)| *a == query.alg)
                .map(|(_, k)| k),
        };
        found.map(Arc::clone).ok_or_else(|| query.unknown_key())
    }

    fn jwks(&self) -> JwkSet {
        let mut keys: Vec<&Arc<VerifyingKey>> = self.by_kid.values().flatten().collect();
        keys.sort_by(|a, b| (a.key_id(), a.algorithm()).cmp(&(b.key_id(), b.algorithm())));
        keys.into_iter().filter_map(|k| k.to_jwk()).collect()
    }
}

/// A set of verification keys, such as an identity provider's JWK Set,
/// replaceable atomically while validators use it.
///
/// Readers take a snapshot (one reference-count increment under a
/// read lock held for nanoseconds); [`KeySetStore::replace`] builds the new
/// index first and swaps it in, so a refresh never blocks validation for
/// longer than a pointer swap and a failed refresh leaves the old keys in
/// place.
#[derive(Debug, Default)]
pub struct KeySetStore {
    index: RwLock<Arc<KeyIndex>>,
    /// The index's algorithms, kept apart from the lock: a validator asks
    /// for them on every token, and an atomic load costs no shared write.
    /// Written under the write lock that swaps the index, so swaps keep
    /// them in step; a reader racing a swap may pair the old set with the
    /// new index, as two lock acquisitions always could, which moves a
    /// token between `AlgorithmNotAllowed` and `UnknownKey` and never lets
    /// one through (the key found must have the token's algorithm).
    algorithms: AtomicU16,
}

impl KeySetStore {
    /// A store of `keys` (owned or shared, such as
    /// [`SigningKey::verifying_key`]).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when two keys share a key id and an
    /// algorithm.
    pub fn new<K>(keys: impl IntoIterator<Item = K>) -> Result<Self, Error>
    where
        K: Into<Arc<VerifyingKey>>,
    {
        Ok(Self::of(KeyIndex::build(keys.into_iter().map(Into::into))?))
    }

    /// A store of the signature keys of a JWK Set document, such as an
    /// identity provider's `/.well-known/jwks.json`; see
    /// [`VerifyingKey::from_jwk_set_with`] for which members are taken.
    /// `oct` members (secrets) are skipped; `assume_alg` binds members
    /// without `alg` of its key type.
    ///
    /// A member that cannot be used is left out, not fatal: the store holds
    /// the others, and [`KeySetStore::skipped`] says which were left out and
    /// why (log them).
    ///
    /// ```
    /// use tokengate::{Algorithm, KeySetStore, SigningKey, SingleKeyStore};
    ///
    /// let idp = SigningKey::generate(Algorithm::ES256)?;
    /// let jwks = SingleKeyStore::new(idp.verifying_key()).jwks().to_json();
    /// let store = KeySetStore::from_jwks(&jwks, None)?;
    /// for member in store.skipped() {
    ///     eprintln!("JWK Set {member}");
    /// }
    /// assert_eq!(store.len(), 1);
    /// # Ok::<(), tokengate::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`VerifyingKey::from_jwk_set_with`]: a document that is not a JWK
    /// Set, or one that gives no usable key
    /// ([`KeyError::NoUsableKey`](crate::KeyError::NoUsableKey)).
    pub fn from_jwks(json: &str, assume_alg: Option<Algorithm>) -> Result<Self, Error> {
        Self::from_jwks_with(json, options(assume_alg))
    }

    /// As [`KeySetStore::from_jwks`], with [`JwkSetOptions`] (to import the
    /// `oct` members of a private, trusted document, for instance).
    ///
    /// # Errors
    ///
    /// As [`VerifyingKey::from_jwk_set_with`].
    pub fn from_jwks_with(json: &str, options: JwkSetOptions) -> Result<Self, Error> {
        Ok(Self::of(index_of_jwks(json, options)?))
    }

    /// Atomically replaces every key. On error the previous keys stay.
    ///
    /// # Errors
    ///
    /// As [`KeySetStore::new`].
    pub fn replace<K>(&self, keys: impl IntoIterator<Item = K>) -> Result<(), Error>
    where
        K: Into<Arc<VerifyingKey>>,
    {
        self.swap_index(KeyIndex::build(keys.into_iter().map(Into::into))?);
        Ok(())
    }

    /// Atomically replaces every key with those of a freshly fetched JWK
    /// Set document, taken as by [`KeySetStore::from_jwks`], and returns
    /// the members left out (also kept for [`KeySetStore::skipped`]).
    ///
    /// A refresh never drops keys silently: a document that gives no usable
    /// key (an empty set, a set of encryption keys, a broken document) is
    /// an error and the previous keys stay; members left out of a document
    /// that does give keys are returned, to be logged.
    ///
    /// # Errors
    ///
    /// As [`KeySetStore::from_jwks`]; the store is then unchanged.
    pub fn replace_from_jwks(
        &self,
        json: &str,
        assume_alg: Option<Algorithm>,
    ) -> Result<Vec<SkippedJwk>, Error> {
        self.replace_from_jwks_with(json, options(assume_alg))
    }

    /// As [`KeySetStore::replace_from_jwks`], with [`JwkSetOptions`].
    ///
    /// # Errors
    ///
    /// As [`KeySetStore::from_jwks_with`]; the store is then unchanged.
    pub fn replace_from_jwks_with(
        &self,
        json: &str,
        options: JwkSetOptions,
    ) -> Result<Vec<SkippedJwk>, Error> {
        let (_, skipped) = self.swap_index(index_of_jwks(json, options)?);
        Ok(skipped)
    }

    /// The JWK Set members that the import which gave the store its current
    /// keys left out, with why ([`SkippedJwk`]); empty when the keys came
    /// from [`KeySetStore::new`] or [`KeySetStore::replace`].
    pub fn skipped(&self) -> Vec<SkippedJwk> {
        self.snapshot().skipped.clone()
    }

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.snapshot().len
    }

    /// `true` when the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The public keys as a JWK Set (HMAC secrets are never included).
    pub fn jwks(&self) -> JwkSet {
        self.snapshot().jwks()
    }

    /// Swaps in a built index; returns its key count and skipped members.
    pub(super) fn swap_index(&self, index: KeyIndex) -> (usize, Vec<SkippedJwk>) {
        let out = (index.len, index.skipped.clone());
        let mut slot = self.index.write().unwrap_or_else(PoisonError::into_inner);
        self.algorithms
            .store(index.algorithms.bits(), Ordering::Relaxed);
        *slot = Arc::new(index);
        out
    }

    fn of(index: KeyIndex) -> Self {
        Self {
            algorithms: AtomicU16::new(index.algorithms.bits()),
            index: RwLock::new(Arc::new(index)),
        }
    }

    fn snapshot(&self) -> Arc<KeyIndex> {
        Arc::clone(&self.index.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// The options of the `assume_alg` shorthands.
pub(super) fn options(assume_alg: Option<Algorithm>) -> JwkSetOptions {
    match assume_alg {
        Some(alg) => JwkSetOptions::new().assume_alg(alg),
        None => JwkSetOptions::new(),
    }
}

/// The index of a fetched JWK Set, for [`RemoteKeySet`](super::RemoteKeySet)
/// to swap in with [`KeySetStore::swap_index`].
pub(super) fn index_for_remote(json: &str, options: JwkSetOptions) -> Result<KeyIndex, Error> {
    index_of_jwks(json, options)
}

/// The index of the usable keys of a JWK Set, with the members left out.
fn index_of_jwks(json: &str, options: JwkSetOptions) -> Result<KeyIndex, Error> {
    let import = VerifyingKey::from_jwk_set_with(json, options)?;
    let mut index = KeyIndex::build(import.keys.into_iter().map(Arc::new))?;
    index.skipped = import.skipped;
    Ok(index)
}

impl KeyStore for KeySetStore {
    fn find_key(&self, query: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error> {
        self.index
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .find(query)
    }

    fn algorithms(&self) -> AlgorithmSet {
        AlgorithmSet::from_bits(self.algorithms.load(Ordering::Relaxed))
    }
}

#[derive(Debug)]
struct RingState {
    current: Arc<SigningKey>,
    /// The next key, published but not yet signing (see [`KeyRing::stage`]).
    staged: Option<Arc<SigningKey>>,
    /// Earlier keys and the Unix second from which they no longer verify.
    previous: Vec<(Arc<VerifyingKey>, i64)>,
}

impl RingState {
    /// `true` when `key`'s id and algorithm are those of the current key
    /// or of an earlier key that still verifies.
    fn holds(&self, key: &SigningKey, now: i64) -> bool {
        let same =
            |k: &VerifyingKey| k.key_id() == key.key_id() && k.algorithm() == key.algorithm();
        same(&self.current.verifying_key())
            || self
                .previous
                .iter()
                .any(|(k, until)| *until > now && same(k))
    }

    /// This state with `next` signing, the current key verifying for
    /// `grace` more, and retired earlier keys dropped.
    fn replaced_by(
        &self,
        next: Arc<SigningKey>,
        staged: Option<Arc<SigningKey>>,
        grace: Duration,
        now: i64,
    ) -> RingState {
        let mut previous: Vec<(Arc<VerifyingKey>, i64)> = self
            .previous
            .iter()
            .filter(|(_, until)| *until > now)
            .cloned()
            .collect();
        previous.push((
            self.current.verifying_key(),
            now.saturating_add(grace.whole_seconds()),
        ));
        RingState {
            current: next,
            staged,
            previous,
        }
    }
}

fn check_grace(grace: Duration) -> Result<(), Error> {
    if grace.is_negative() {
        return Err(Error::config(
            "a rotation's grace period cannot be negative",
        ));
    }
    Ok(())
}

/// An issuer's rotating keys: one current signing key, plus earlier keys
/// that keep verifying until their retirement instant (the end of the grace
/// period given to [`KeyRing::rotate`]), so tokens in flight survive a
/// rotation.
///
/// It is a [`KeyStore`] for the issuer's own validators and publishes its
/// live public keys with [`KeyRing::jwks`]. A retired key is refused as
/// [`Error::UnknownKey`] from its retirement instant on, whether or not
/// [`KeyRing::prune`] has dropped it yet.
#[derive(Debug)]
pub struct KeyRing {
    state: RwLock<Arc<RingState>>,
    clock: Arc<dyn Clock>,
}

impl KeyRing {
    /// A ring whose current signing key is `current`, on the system clock.
    pub fn new(current: SigningKey) -> Self {
        Self::with_clock(current, Arc::new(SystemClock))
    }

    /// A ring on the given clock.
    pub fn with_clock(current: SigningKey, clock: Arc<dyn Clock>) -> Self {
        Self {
            state: RwLock::new(Arc::new(RingState {
                current: Arc::new(current),
                staged: None,
                previous: Vec::new(),
            })),
            clock,
        }
    }

    /// The key new tokens are signed with.
    pub fn current(&self) -> Arc<SigningKey> {
        Arc::clone(&self.snapshot().current)
    }

    /// Makes `next` the current signing key. The key it replaces keeps
    /// verifying for `grace` from now (in whole seconds), then retires: set
    /// `grace` to at least the longest lifetime of the tokens it signed. A
    /// zero grace retires it at once.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when `grace` is negative, or when
    /// `next` has the key id and algorithm of a key still in the ring.
    pub fn rotate(&self, next: SigningKey, grace: Duration) -> Result<(), Error> {
        check_grace(grace)?;
        let now = self.clock.now_unix();
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if guard.holds(&next, now) {
            return Err(Error::config("the next key's id is already in the ring"));
        }
        *guard = Arc::new(guard.replaced_by(Arc::new(next), guard.staged.clone(), grace, now));
        Ok(())
    }

    /// Stages `next` for a rotation in two steps: it is published by
    /// [`KeyRing::jwks`] at once, but tokens are still signed with the
    /// current key until [`KeyRing::promote`]. Validators elsewhere that
    /// cache this ring's JWK Set thus learn the new key before the first
    /// token signed with it arrives: promote once their longest cache age
    /// has passed (an hour, by the [`KeySetPolicy`](super::KeySetPolicy)
    /// default), and none of them ever sees an unknown `kid`. Staging
    /// again replaces the staged key. The staged key verifies nothing until
    /// it is promoted (nothing is signed with it before).
    ///
    /// ```
    /// use tokengate::{Algorithm, KeyRing, SigningKey};
    /// use tokengate::time::Duration;
    ///
    /// let ring = KeyRing::new(SigningKey::generate(Algorithm::ES256)?.with_key_id("2026-11"));
    /// // 1. Publish the next key; keep signing with the current one.
    /// ring.stage(SigningKey::generate(Algorithm::ES256)?.with_key_id("2026-12"))?;
    /// assert_eq!(ring.jwks().keys().len(), 2);
    /// assert_eq!(ring.current().key_id(), "2026-11");
    /// // 2. After the longest JWKS cache age: sign with it. The old key keeps
    /// //    verifying for the longest token lifetime.
    /// ring.promote(Duration::hours(1))?;
    /// assert_eq!(ring.current().key_id(), "2026-12");
    /// // 3. After the grace period, prune() drops the old key.
    /// # Ok::<(), tokengate::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when `next` has the key id and
    /// algorithm of a key in the ring.
    pub fn stage(&self, next: SigningKey) -> Result<(), Error> {
        let now = self.clock.now_unix();
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if guard.holds(&next, now) {
            return Err(Error::config("the staged key's id is already in the ring"));
        }
        *guard = Arc::new(RingState {
            current: Arc::clone(&guard.current),
            staged: Some(Arc::new(next)),
            previous: guard.previous.clone(),
        });
        Ok(())
    }

    /// The key staged by [`KeyRing::stage`], if any.
    pub fn staged(&self) -> Option<Arc<SigningKey>> {
        self.snapshot().staged.clone()
    }

    /// Makes the staged key the current signing key; the key it replaces
    /// keeps verifying for `grace`, as with [`KeyRing::rotate`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when no key is staged or `grace` is
    /// negative.
    pub fn promote(&self, grace: Duration) -> Result<(), Error> {
        check_grace(grace)?;
        let now = self.clock.now_unix();
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let Some(next) = guard.staged.clone() else {
            return Err(Error::config("no key is staged: stage() one first"));
        };
        *guard = Arc::new(guard.replaced_by(next, None, grace, now));
        Ok(())
    }

    /// Removes an earlier key at once, before its retirement instant: for
    /// a compromised key, which must stop verifying and stop being
    /// published now. Returns `false` when no earlier key has this id (the
    /// current key cannot be removed: rotate first).
    pub fn remove(&self, kid: &str) -> bool {
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if !guard.previous.iter().any(|(k, _)| k.key_id() == kid) {
            return false;
        }
        let previous = guard
            .previous
            .iter()
            .filter(|(k, _)| k.key_id() != kid)
            .cloned()
            .collect();
        *guard = Arc::new(RingState {
            current: Arc::clone(&guard.current),
            staged: guard.staged.clone(),
            previous,
        });
        true
    }

    /// Takes a compromised key out everywhere: removes it from this ring
    /// (as [`KeyRing::remove`]) and revokes every token it signed in
    /// `revocation`, the store every validator of the fleet follows, so
    /// servers that still hold the key in another store reject its tokens
    /// too. The revocation is written first: if it fails, nothing changed.
    /// Returns whether the ring held the key.
    ///
    /// # Errors
    ///
    /// The revocation store's errors.
    pub fn revoke_compromised(
        &self,
        kid: &str,
        revocation: &dyn crate::revocation::RevocationStore,
    ) -> Result<bool, Error> {
        revocation.revoke_key(kid)?;
        Ok(self.remove(kid))
    }

    /// Drops keys whose retirement instant has passed.
    pub fn prune(&self) {
        let now = self.clock.now_unix();
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        if guard.previous.iter().any(|(_, until)| *until <= now) {
            let previous = guard
                .previous
                .iter()
                .filter(|(_, until)| *until > now)
                .cloned()
                .collect();
            *guard = Arc::new(RingState {
                current: Arc::clone(&guard.current),
                staged: guard.staged.clone(),
                previous,
            });
        }
    }

    /// The live public keys (current first, then the staged key, then
    /// unretired earlier keys) as a JWK Set; empty of HMAC secrets.
    pub fn jwks(&self) -> JwkSet {
        let now = self.clock.now_unix();
        let state = self.snapshot();
        std::iter::once(state.current.verifying_key())
            .chain(state.staged.as_ref().map(|k| k.verifying_key()))
            .chain(
                state
                    .previous
                    .iter()
                    .filter(|(_, until)| *until > now)
                    .map(|(k, _)| Arc::clone(k)),
            )
            .filter_map(|k| k.to_jwk())
            .collect()
    }

    fn snapshot(&self) -> Arc<RingState> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }
}

impl KeyStore for KeyRing {
    fn find_key(&self, query: &KeyQuery<'_>) -> Result<Arc<VerifyingKey>, Error> {
        let now = self.clock.now_unix();
        // Searched under the read lock, borrowing: only the key found is
        // cloned, so concurrent lookups write to as few shared reference
        // counts as they can.
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let live = std::iter::once(&state.current.public).chain(
            state
                .previous
                .iter()
                .filter(|(_, until)| *until > now)
                .map(|(k, _)| k),
        );
        let mut candidates = live.filter(|k| {
            k.algorithm() == query.alg && query.kid.is_none_or(|kid| kid == k.key_id())
        });
        match (candidates.next(), candidates.next(), query.kid) {
            (Some(k), None, _) => Ok(Arc::clone(k)),
            // With a kid, the current key wins over an older key with the
            // same id only if ids repeat, which `rotate` prevents.
            (Some(k), Some(_), Some(_)) => Ok(Arc::clone(k)),
            _ => Err(query.unknown_key()),
        }
    }

    fn algorithms(&self) -> AlgorithmSet {
        let now = self.clock.now_unix();
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        let mut set = AlgorithmSet::only(state.current.algorithm());
        for (k, until) in &state.previous {
            if *until > now {
                set.insert(k.algorithm());
            }
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    fn q(alg: Algorithm, kid: Option<&str>) -> KeyQuery<'_> {
        KeyQuery::new(alg, kid)
    }

    fn hs(kid: &str, byte: u8) -> VerifyingKey {
        VerifyingKey::hmac(Algorithm::HS256, &[byte; 32])
            .unwrap()
            .with_key_id(kid)
    }

    #[test]
    fn single_key_store_matches_alg_and_kid() {
        let store = SingleKeyStore::new(hs("k1", 1));
        assert!(store.find_key(&q(Algorithm::HS256, Some("k1"))).is_ok());
        // Lent, not cloned: validating threads share no reference count.
        assert!(matches!(
            store.find_key_ref(&q(Algorithm::HS256, Some("k1"))),
            Ok(Cow::Borrowed(_))
        ));
        assert!(store.find_key(&q(Algorithm::HS256, None)).is_ok());
        assert!(matches!(
            store.find_key(&q(Algorithm::HS256, Some("k2"))),
            Err(Error::UnknownKey { .. })
        ));
        assert!(matches!(
            store.find_key(&q(Algorithm::HS384, Some("k1"))),
            Err(Error::UnknownKey { .. })
        ));
        assert!(store.jwks().keys().is_empty());
    }

    #[test]
    fn key_set_without_kid_needs_a_sole_key_of_the_algorithm() {
        let es = SigningKey::generate(Algorithm::ES256).unwrap();
        let es_public = es.verifying_key().duplicate();
        let store = KeySetStore::new([hs("a", 1), hs("b", 2), es_public]).unwrap();
        assert_eq!(store.len(), 3);
        assert!(matches!(
            store.find_key(&q(Algorithm::HS256, None)),
            Err(Error::UnknownKey { .. })
        ));
        assert_eq!(
            store.find_key(&q(Algorithm::ES256, None)).unwrap().key_id(),
            es.key_id()
        );
        assert_eq!(
            store
                .find_key(&q(Algorithm::HS256, Some("b")))
                .unwrap()
                .key_id(),
            "b"
        );
        assert!(matches!(
            store.find_key(&q(Algorithm::HS512, Some("b"))),
            Err(Error::UnknownKey { .. })
        ));
        assert_eq!(store.jwks().keys().len(), 1);
    }

    /// The algorithms a validator asks for on every token follow each
    /// replacement of the keys, and a failed one changes nothing.
    #[test]
    fn key_set_algorithms_follow_replace() {
        let es = || {
            SigningKey::generate(Algorithm::ES256)
                .unwrap()
                .verifying_key()
        };
        let store = KeySetStore::new([hs("a", 1)]).unwrap();
        assert_eq!(store.algorithms(), AlgorithmSet::only(Algorithm::HS256));
        store.replace([es()]).unwrap();
        assert_eq!(store.algorithms(), AlgorithmSet::only(Algorithm::ES256));
        assert!(store.replace([hs("x", 1), hs("x", 2)]).is_err());
        assert_eq!(store.algorithms(), AlgorithmSet::only(Algorithm::ES256));
        store.replace(Vec::<VerifyingKey>::new()).unwrap();
        assert_eq!(store.algorithms(), AlgorithmSet::empty());
        assert_eq!(KeySetStore::default().algorithms(), AlgorithmSet::empty());
        let ed = SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .verifying_key();
        let ed_jwks = SingleKeyStore::new(ed).jwks().to_json();
        store.replace_from_jwks(&ed_jwks, None).unwrap();
        assert_eq!(store.algorithms(), AlgorithmSet::only(Algorithm::EdDSA));
        assert!(store.replace_from_jwks("{\"keys\":[]}", None).is_err());
        assert_eq!(store.algorithms(), AlgorithmSet::only(Algorithm::EdDSA));
        let jwks = KeySetStore::from_jwks(&SingleKeyStore::new(es()).jwks().to_json(), None);
        assert_eq!(
            jwks.unwrap().algorithms(),
            AlgorithmSet::only(Algorithm::ES256)
        );
    }

    #[test]
    fn duplicate_kid_and_alg_is_refused_and_replace_keeps_old_keys() {
        assert!(KeySetStore::new([hs("a", 1), hs("a", 2)]).is_err());
        let store = KeySetStore::new([hs("a", 1)]).unwrap();
        assert!(store.replace([hs("x", 1), hs("x", 2)]).is_err());
        assert!(store.find_key(&q(Algorithm::HS256, Some("a"))).is_ok());
        store.replace([hs("b", 3)]).unwrap();
        assert!(store.find_key(&q(Algorithm::HS256, Some("a"))).is_err());
        assert!(store.find_key(&q(Algorithm::HS256, Some("b"))).is_ok());
    }

    #[test]
    fn key_ring_retires_previous_keys_at_their_instant() {
        let clock = Arc::new(FixedClock::at_unix(1_000));
        let first = SigningKey::generate(Algorithm::ES256).unwrap();
        let first_kid = first.key_id().to_owned();
        let ring = KeyRing::with_clock(first, clock.clone());
        let second = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let second_kid = second.key_id().to_owned();
        let grace = Duration::seconds(600);
        ring.rotate(second, grace).unwrap();
        assert_eq!(ring.current().key_id(), second_kid);
        assert!(ring.algorithms().contains(Algorithm::ES256));
        assert!(
            ring.find_key(&q(Algorithm::ES256, Some(&first_kid)))
                .is_ok()
        );
        assert_eq!(ring.jwks().keys().len(), 2);
        clock.set_unix(1_599);
        assert!(
            ring.find_key(&q(Algorithm::ES256, Some(&first_kid)))
                .is_ok()
        );
        clock.set_unix(1_600);
        assert!(matches!(
            ring.find_key(&q(Algorithm::ES256, Some(&first_kid))),
            Err(Error::UnknownKey { .. })
        ));
        assert!(!ring.algorithms().contains(Algorithm::ES256));
        assert_eq!(ring.jwks().keys().len(), 1);
        ring.prune();
        assert!(
            ring.find_key(&q(Algorithm::EdDSA, Some(&second_kid)))
                .is_ok()
        );
        let again = SigningKey::generate(Algorithm::EdDSA)
            .unwrap()
            .with_key_id(second_kid);
        assert!(ring.rotate(again, grace).is_err());
    }

    #[test]
    fn key_ring_grace_is_never_negative_and_zero_retires_at_once() {
        let clock = Arc::new(FixedClock::at_unix(1_000));
        let first = SigningKey::generate(Algorithm::ES256).unwrap();
        let first_kid = first.key_id().to_owned();
        let ring = KeyRing::with_clock(first, clock);
        let next = || SigningKey::generate(Algorithm::EdDSA).unwrap();
        assert!(matches!(
            ring.rotate(next(), Duration::seconds(-1)),
            Err(Error::InvalidConfiguration(_))
        ));
        assert!(matches!(
            ring.rotate(next(), -Duration::NANOSECOND),
            Err(Error::InvalidConfiguration(_))
        ));
        assert_eq!(
            ring.current().key_id(),
            first_kid,
            "a refused rotation changes nothing"
        );
        assert!(
            ring.find_key(&q(Algorithm::ES256, Some(&first_kid)))
                .is_ok()
        );

        ring.rotate(next(), Duration::ZERO).unwrap();
        assert_ne!(ring.current().key_id(), first_kid);
        assert!(matches!(
            ring.find_key(&q(Algorithm::ES256, Some(&first_kid))),
            Err(Error::UnknownKey { .. })
        ));
        assert!(!ring.algorithms().contains(Algorithm::ES256));
        assert_eq!(ring.jwks().keys().len(), 1);
    }

    #[test]
    fn a_staged_key_is_published_first_and_signs_only_once_promoted() {
        let clock = Arc::new(FixedClock::at_unix(1_800_000_000));
        let old = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_key_id("old");
        let ring = KeyRing::with_clock(old, clock.clone());
        assert!(ring.promote(Duration::ZERO).is_err(), "nothing staged");
        let clash = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_key_id("old");
        assert!(ring.stage(clash).is_err());
        let next = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_key_id("next");
        ring.stage(next).unwrap();
        let kids: Vec<String> = ring
            .jwks()
            .keys()
            .iter()
            .map(|k| k.key_id().to_owned())
            .collect();
        assert_eq!(kids, ["old", "next"]);
        assert_eq!(ring.current().key_id(), "old");
        assert_eq!(ring.staged().unwrap().key_id(), "next");
        // The staged key verifies nothing yet, so a token without kid still
        // finds its one key.
        assert!(ring.find_key(&q(Algorithm::ES256, Some("next"))).is_err());
        assert_eq!(
            ring.find_key(&q(Algorithm::ES256, None)).unwrap().key_id(),
            "old"
        );
        ring.promote(Duration::seconds(60)).unwrap();
        assert_eq!(ring.current().key_id(), "next");
        assert!(ring.staged().is_none());
        assert!(ring.find_key(&q(Algorithm::ES256, Some("old"))).is_ok());
        clock.advance(60);
        assert!(ring.find_key(&q(Algorithm::ES256, Some("old"))).is_err());
        assert!(ring.promote(Duration::seconds(-1)).is_err());
    }
}
