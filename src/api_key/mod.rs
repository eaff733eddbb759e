//! API keys: long-lived opaque secrets in a scannable, checksummed format,
//! stored as digests and verified in constant time.
//!
//! ```
//! use std::sync::Arc;
//! use tokengate::api_key::{ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, InMemoryApiKeyStore, NewApiKey};
//! use tokengate::{ErrorKind, ScopeSet};
//!
//! let format = ApiKeyFormat::new("acme")?.environment("live")?;
//! let store = Arc::new(InMemoryApiKeyStore::new());
//! let issuer = ApiKeyIssuer::new(format.clone());
//! let key = issuer.issue_into(
//!     &*store,
//!     NewApiKey::new("service-billing").name("nightly export").scopes(ScopeSet::parse("invoices:read")?),
//! )?;
//! // Show `key.expose_secret()` to its owner once; the store keeps a digest.
//!
//! let verifier = ApiKeyVerifier::new(format, store);
//! let verified = verifier.verify(key.expose_secret())?;
//! assert_eq!(verified.owner(), "service-billing");
//! assert!(verified.scopes().contains("invoices:read"));
//!
//! let err = verifier.verify("acme_live_not-a-key").unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Malformed);
//! # Ok::<(), tokengate::Error>(())
//! ```
//!
//! # Format
//!
//! See [`ApiKeyFormat`]: `PREFIX_[ENV_]` then 51 base62 characters (a
//! 12-character public id, a 33-character secret of 196 bits, a 6-character
//! CRC32 checksum), matched by `\bPREFIX_ENV_[0-9A-Za-z]{51}\b`.
//!
//! # Verification
//!
//! [`ApiKeyVerifier::verify`] checks, in order: length, lead, alphabet and
//! checksum (`malformed`, no store lookup); the record by public id
//! (`unknown_credential`); the [`SecretDigest`] of the key's lead, id and secret,
//! compared in constant time (`invalid_secret`); revocation (`revoked`);
//! expiry (`expired`). The digest is computed before the lookup, so an
//! unknown id and a wrong secret cost the same work, and a correct and a
//! wrong secret for a known id take the same path.
//!
//! # A key is bound to its format
//!
//! The checksum is public: anyone can relabel a key with another prefix
//! or environment (`acme_test_…` as `acme_live_…`) and recompute it. The
//! stored digest covers the lead, so such a key fails as `invalid_secret`
//! even when both environments share one record store, and
//! [`ApiKeyIssuer::rotate`] refuses a key whose record is of another
//! format than the issuer's.

mod format;
mod record;
mod store;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::crypto::rand::SystemRandom;
use time::{Duration, OffsetDateTime};

use crate::clock::{Clock, SystemClock, instant};
use crate::error::Error;
use crate::scope::ScopeSet;

pub use format::{ApiKeyFormat, DEFAULT_ID_LEN, DEFAULT_SECRET_LEN, MIN_SECRET_LEN};
pub use record::{ApiKeyRecord, IssuedApiKey, SecretDigest};
pub use store::{
    ApiKeyStore, DuplicateKeyId, InMemoryApiKeyStore, KeyRotation, KeyRotationOutcome,
};

/// What to issue: the owner, and optionally a name, scopes, an expiry and
/// metadata.
#[derive(Debug, Clone, Default)]
pub struct NewApiKey {
    owner: String,
    name: String,
    scopes: ScopeSet,
    expires_at: Option<i64>,
    lifetime: Option<Duration>,
    metadata: BTreeMap<String, String>,
}

impl NewApiKey {
    /// A key that acts for `owner`, with no scopes and no expiry.
    pub fn new(owner: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            ..Self::default()
        }
    }

    /// A human label.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// What the key may do.
    #[must_use]
    pub fn scopes(mut self, scopes: ScopeSet) -> Self {
        self.scopes = scopes;
        self
    }

    /// Expires the key at an instant (kept to the whole second, in UTC).
    #[must_use]
    pub fn expires_at(mut self, at: OffsetDateTime) -> Self {
        self.expires_at = Some(at.unix_timestamp());
        self.lifetime = None;
        self
    }

    /// Expires the key `lifetime` after it is issued.
    #[must_use]
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self.expires_at = None;
        self
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }
}

/// Mints API keys of one format.
#[derive(Debug, Clone)]
pub struct ApiKeyIssuer {
    format: ApiKeyFormat,
    clock: Arc<dyn Clock>,
    rng: SystemRandom,
}

impl ApiKeyIssuer {
    /// An issuer of keys in `format`, on the system clock.
    pub fn new(format: ApiKeyFormat) -> Self {
        Self {
            format,
            clock: Arc::new(SystemClock),
            rng: SystemRandom::new(),
        }
    }

    /// Reads time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The format of the keys this issuer mints.
    pub fn format(&self) -> &ApiKeyFormat {
        &self.format
    }

    /// Mints a key: the plaintext (shown once) and the record to store.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] for an empty owner or an expiry not
    /// after now; [`Error::RandomnessFailed`] if the system random generator
    /// fails.
    pub fn issue(&self, new: NewApiKey) -> Result<(IssuedApiKey, ApiKeyRecord), Error> {
        if new.owner.is_empty() {
            return Err(Error::config("an API key needs an owner"));
        }
        let now = self.clock.now_unix();
        let expires_at = match (new.expires_at, new.lifetime) {
            (_, Some(l)) => Some(now.saturating_add(l.whole_seconds())),
            (at, None) => at,
        };
        if expires_at.is_some_and(|e| e <= now) {
            return Err(Error::config("an API key's expiry must be in the future"));
        }
        let (id, key, secret) = self.format.generate(&self.rng)?;
        let display_prefix = self.format.display_prefix(&id);
        let record = ApiKeyRecord {
            id: id.clone(),
            secret_digest: secret,
            owner: new.owner,
            name: new.name,
            scopes: new.scopes,
            created_at: instant(now),
            expires_at: expires_at.map(instant),
            revoked_at: None,
            replaced_by: None,
            display_prefix: display_prefix.clone(),
            metadata: new.metadata,
        };
        Ok((
            IssuedApiKey {
                key,
                id,
                display_prefix,
            },
            record,
        ))
    }

    /// Mints a key and inserts its record into `store`.
    ///
    /// # Errors
    ///
    /// As [`ApiKeyIssuer::issue`], and the store's errors.
    pub fn issue_into(
        &self,
        store: &dyn ApiKeyStore,
        new: NewApiKey,
    ) -> Result<IssuedApiKey, Error> {
        let (key, record) = self.issue(new)?;
        store.insert(record)?;
        Ok(key)
    }

    /// Rotates key `id`: issues its successor with the same owner, name,
    /// scopes, metadata and lifetime, stores it, and lets the old key keep
    /// working until `grace` from now (or its own earlier expiry), after
    /// which it is rejected as `expired`. The store does it in one step
    /// ([`ApiKeyStore::rotate`]): of concurrent rotations of one key one
    /// succeeds, and a key revoked before the rotation commits gets no
    /// successor.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownCredential`] for an unknown id; [`Error::Revoked`] for a
    /// revoked key and [`Error::Expired`] for an expired one (neither gets a
    /// successor); [`Error::InvalidConfiguration`] for a key already
    /// rotated, or one of another format than this issuer's (another
    /// prefix, environment or length, read from the record's id and
    /// display prefix: a test key never gets a live successor); as
    /// [`ApiKeyIssuer::issue`] and the store's errors.
    pub fn rotate(
        &self,
        store: &dyn ApiKeyStore,
        id: &str,
        grace: Duration,
    ) -> Result<IssuedApiKey, Error> {
        let old = store.get(id)?.ok_or(Error::UnknownCredential)?;
        if !self.format.describes(&old) {
            return Err(Error::config(
                "this API key is of another format (prefix, environment or length) \
                 than the issuer's",
            ));
        }
        if old.revoked_at.is_some() {
            return Err(Error::Revoked);
        }
        let now = self.clock.now_unix();
        let old_exp = old.expires_at.map(OffsetDateTime::unix_timestamp);
        if let Some(exp) = old_exp
            && now >= exp
        {
            return Err(Error::Expired { exp, now });
        }
        if old.replaced_by.is_some() {
            return Err(already_rotated());
        }
        let mut next = NewApiKey::new(old.owner.clone())
            .name(old.name.clone())
            .scopes(old.scopes.clone());
        next.metadata = old.metadata.clone();
        if let Some(exp) = old_exp {
            let lifetime = exp.saturating_sub(old.created_at.unix_timestamp());
            next = next.lifetime(Duration::seconds(lifetime.max(1)));
        }
        let (key, record) = self.issue(next)?;
        // The checks above answer most cases early and clearly; this one
        // compare-and-set decides, so that two racing rotations never
        // both make a successor and a key revoked meanwhile makes none.
        let rotation = KeyRotation::new(
            id,
            record,
            instant(now.saturating_add(grace.whole_seconds())),
            instant(now),
        );
        match store.rotate(&rotation)? {
            KeyRotationOutcome::Rotated => Ok(key),
            KeyRotationOutcome::Unknown => Err(Error::UnknownCredential),
            KeyRotationOutcome::Revoked => Err(Error::Revoked),
            KeyRotationOutcome::AlreadyRotated => Err(already_rotated()),
            KeyRotationOutcome::Expired(exp) => Err(Error::Expired {
                exp: exp.unix_timestamp(),
                now,
            }),
        }
    }
}

/// An API key that passed [`ApiKeyVerifier::verify`].
#[derive(Debug, Clone)]
pub struct VerifiedApiKey {
    record: Arc<ApiKeyRecord>,
}

impl VerifiedApiKey {
    /// The public key id.
    pub fn id(&self) -> &str {
        &self.record.id
    }

    /// The subject the key acts for.
    pub fn owner(&self) -> &str {
        &self.record.owner
    }

    /// The key's label.
    pub fn name(&self) -> &str {
        &self.record.name
    }

    /// What the key may do.
    pub fn scopes(&self) -> &ScopeSet {
        &self.record.scopes
    }

    /// When the key expires; `None` for no expiry.
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        self.record.expires_at
    }

    /// The key's metadata.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.record.metadata
    }

    /// The whole stored record.
    pub fn record(&self) -> &ApiKeyRecord {
        &self.record
    }
}

/// Verifies presented API keys against a store.
#[derive(Debug, Clone)]
pub struct ApiKeyVerifier {
    format: ApiKeyFormat,
    store: Arc<dyn ApiKeyStore>,
    clock: Arc<dyn Clock>,
}

impl ApiKeyVerifier {
    /// A verifier of keys in `format` whose records are in `store`.
    pub fn new(format: ApiKeyFormat, store: Arc<dyn ApiKeyStore>) -> Self {
        Self {
            format,
            store,
            clock: Arc::new(SystemClock),
        }
    }

    /// Reads time from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The format this verifier accepts.
    pub fn format(&self) -> &ApiKeyFormat {
        &self.format
    }

    /// Verifies a presented key; see the [module docs](self) for the order
    /// of checks.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`], [`Error::UnknownCredential`], [`Error::InvalidSecret`],
    /// [`Error::Revoked`], [`Error::Expired`]; [`Error::Store`] when the
    /// store fails.
    pub fn verify(&self, presented: &str) -> Result<VerifiedApiKey, Error> {
        let parsed = self.format.parse(presented)?;
        let digest = parsed.digest();
        let record = self.store.get(parsed.id)?.ok_or(Error::UnknownCredential)?;
        self.check(&record, &digest)?;
        Ok(VerifiedApiKey { record })
    }

    /// Verifies a presented key against a record the application looked
    /// up itself by [`ApiKeyFormat::key_id`] (for example asynchronously),
    /// with the same checks and errors as [`ApiKeyVerifier::verify`]; this
    /// verifier's store is not used.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`]; [`Error::UnknownCredential`] when `record` is not the
    /// presented key's; [`Error::InvalidSecret`], [`Error::Revoked`],
    /// [`Error::Expired`].
    pub fn verify_record(
        &self,
        presented: &str,
        record: Arc<ApiKeyRecord>,
    ) -> Result<VerifiedApiKey, Error> {
        let parsed = self.format.parse(presented)?;
        let digest = parsed.digest();
        if record.id != parsed.id {
            return Err(Error::UnknownCredential);
        }
        self.check(&record, &digest)?;
        Ok(VerifiedApiKey { record })
    }

    fn check(&self, record: &ApiKeyRecord, digest: &SecretDigest) -> Result<(), Error> {
        if !record.secret_digest.matches(digest) {
            return Err(Error::InvalidSecret);
        }
        if record.revoked_at.is_some() {
            return Err(Error::Revoked);
        }
        // The clock is read only for expiring keys, and compared in Unix
        // seconds: no calendar conversion of `now`.
        if let Some(exp) = record.expires_at {
            let now = self.clock.now_unix();
            let exp = exp.unix_timestamp();
            if now >= exp {
                return Err(Error::Expired { exp, now });
            }
        }
        Ok(())
    }

    /// Revokes key `id` now. Returns `false` for an unknown id.
    ///
    /// # Errors
    ///
    /// The store's errors.
    pub fn revoke(&self, id: &str) -> Result<bool, Error> {
        self.store.revoke(id, instant(self.clock.now_unix()))
    }
}

fn already_rotated() -> Error {
    Error::config("this API key was already rotated")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::error::ErrorKind;

    fn setup() -> (
        ApiKeyIssuer,
        ApiKeyVerifier,
        Arc<InMemoryApiKeyStore>,
        Arc<FixedClock>,
    ) {
        let clock = Arc::new(FixedClock::at_unix(1_000_000));
        let format = ApiKeyFormat::new("acme")
            .unwrap()
            .environment("test")
            .unwrap();
        let store = Arc::new(InMemoryApiKeyStore::new());
        let issuer = ApiKeyIssuer::new(format.clone()).with_clock(clock.clone());
        let verifier = ApiKeyVerifier::new(format, store.clone()).with_clock(clock.clone());
        (issuer, verifier, store, clock)
    }

    #[test]
    fn every_error_kind() {
        let (issuer, verifier, store, clock) = setup();
        let key = issuer
            .issue_into(
                &*store,
                NewApiKey::new("u1").lifetime(Duration::seconds(100)),
            )
            .unwrap();
        let ok = verifier.verify(key.expose_secret()).unwrap();
        assert_eq!(ok.owner(), "u1");
        assert_eq!(
            ok.expires_at(),
            Some(OffsetDateTime::from_unix_timestamp(1_000_100).unwrap())
        );

        assert_eq!(
            verifier.verify("acme_test_x").unwrap_err().kind(),
            ErrorKind::Malformed
        );

        // Same id, other secret, valid checksum.
        let (other, _) = issuer.issue(NewApiKey::new("u1")).unwrap();
        let forged = forge(verifier.format(), key.id(), other.expose_secret());
        assert_eq!(
            verifier.verify(&forged).unwrap_err().kind(),
            ErrorKind::InvalidSecret
        );
        // Unknown id with a valid checksum.
        assert_eq!(
            verifier.verify(other.expose_secret()).unwrap_err().kind(),
            ErrorKind::UnknownCredential
        );

        clock.set_unix(1_000_099);
        assert!(verifier.verify(key.expose_secret()).is_ok());
        clock.set_unix(1_000_100);
        assert_eq!(
            verifier.verify(key.expose_secret()).unwrap_err().kind(),
            ErrorKind::Expired
        );

        clock.set_unix(1_000_000);
        assert!(verifier.revoke(key.id()).unwrap());
        assert_eq!(
            verifier.verify(key.expose_secret()).unwrap_err().kind(),
            ErrorKind::Revoked
        );
        assert!(!verifier.revoke("nope").unwrap());
    }

    /// `id` from one key, the secret of another, and a fresh valid checksum.
    fn forge(format: &ApiKeyFormat, id: &str, donor: &str) -> String {
        let lead = format.lead();
        let body = &donor[lead.len()..donor.len() - format::CHECKSUM_LEN];
        let checked = format!("{lead}{id}{}", &body[id.len()..]);
        let crc = crc32fast::hash(checked.as_bytes());
        let mut n = u64::from(crc);
        let mut digits = [b'0'; 6];
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        for d in digits.iter_mut().rev() {
            *d = alphabet[(n % 62) as usize];
            n /= 62;
        }
        format!("{checked}{}", std::str::from_utf8(&digits).unwrap())
    }

    #[test]
    fn rotation_grace_boundary() {
        let (issuer, verifier, store, clock) = setup();
        let old = issuer
            .issue_into(
                &*store,
                NewApiKey::new("svc")
                    .name("deploy")
                    .scopes(ScopeSet::parse("a b").unwrap()),
            )
            .unwrap();
        let new = issuer
            .rotate(&*store, old.id(), Duration::seconds(60))
            .unwrap();
        let v = verifier.verify(new.expose_secret()).unwrap();
        assert_eq!((v.owner(), v.name()), ("svc", "deploy"));
        assert_eq!(v.scopes(), &ScopeSet::parse("a b").unwrap());
        let old_rec = store.get(old.id()).unwrap().unwrap();
        assert_eq!(old_rec.replaced_by.as_deref(), Some(new.id()));
        clock.advance(59);
        assert!(verifier.verify(old.expose_secret()).is_ok());
        clock.advance(1);
        assert_eq!(
            verifier.verify(old.expose_secret()).unwrap_err().kind(),
            ErrorKind::Expired
        );
        assert!(verifier.verify(new.expose_secret()).is_ok());
        assert_eq!(store.list_by_owner("svc").unwrap().len(), 2);
        assert!(matches!(
            issuer.rotate(&*store, old.id(), Duration::seconds(1)),
            Err(Error::Expired { .. })
        ));
        verifier.revoke(new.id()).unwrap();
        assert!(matches!(
            issuer.rotate(&*store, new.id(), Duration::seconds(1)),
            Err(Error::Revoked)
        ));
    }

    #[test]
    fn a_key_is_rotated_once_and_records_can_come_from_the_application() {
        let (issuer, verifier, store, _) = setup();
        let key = issuer.issue_into(&*store, NewApiKey::new("svc")).unwrap();
        issuer
            .rotate(&*store, key.id(), Duration::hours(1))
            .unwrap();
        assert!(matches!(
            issuer.rotate(&*store, key.id(), Duration::hours(1)),
            Err(Error::InvalidConfiguration(_))
        ));
        let id = verifier.format().key_id(key.expose_secret()).unwrap();
        assert_eq!(id, key.id());
        let record = store.get(id).unwrap().unwrap();
        assert!(
            verifier
                .verify_record(key.expose_secret(), record.clone())
                .is_ok()
        );
        let other = issuer.issue_into(&*store, NewApiKey::new("svc")).unwrap();
        assert_eq!(
            verifier
                .verify_record(other.expose_secret(), record)
                .unwrap_err()
                .kind(),
            ErrorKind::UnknownCredential
        );
    }

    #[test]
    fn instants_beyond_the_representable_range_are_clamped() {
        use time::{Date, Month, Time};
        let max = OffsetDateTime::new_utc(
            Date::from_calendar_date(9999, Month::December, 31).unwrap(),
            Time::from_hms(23, 59, 59).unwrap(),
        );
        let min = OffsetDateTime::new_utc(
            Date::from_calendar_date(-9999, Month::January, 1).unwrap(),
            Time::MIDNIGHT,
        );
        assert_eq!(instant(i64::MAX), max);
        assert_eq!(instant(max.unix_timestamp()), max);
        assert_eq!(instant(i64::MIN), min);
        assert_eq!(instant(min.unix_timestamp()), min);
        assert_eq!(instant(0), OffsetDateTime::UNIX_EPOCH);

        // A lifetime too long to represent ends at the last second.
        let (issuer, verifier, store, clock) = setup();
        let key = issuer
            .issue_into(&*store, NewApiKey::new("u").lifetime(Duration::MAX))
            .unwrap();
        assert_eq!(
            verifier.verify(key.expose_secret()).unwrap().expires_at(),
            Some(max)
        );
        issuer.rotate(&*store, key.id(), Duration::MAX).unwrap();
        clock.set_unix(max.unix_timestamp() - 1);
        assert!(verifier.verify(key.expose_secret()).is_ok());
        clock.set_unix(max.unix_timestamp());
        assert_eq!(
            verifier.verify(key.expose_secret()).unwrap_err().kind(),
            ErrorKind::Expired
        );
    }

    #[test]
    fn issued_key_debug_is_redacted() {
        let (issuer, ..) = setup();
        let (key, record) = issuer.issue(NewApiKey::new("u")).unwrap();
        let shown = format!("{key:?} {record:?}");
        let secret_part = &key.expose_secret()[10 + 12..10 + 12 + 33];
        assert!(!shown.contains(secret_part));
        assert!(shown.contains("[redacted]"));
    }
}
