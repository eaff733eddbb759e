//! What a store keeps about a refresh token, what a login grants, and what
//! the client is handed.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::api_key::SecretDigest;
use crate::error::Error;
use crate::scope::ScopeSet;

/// What a store keeps about one refresh token: no secret, only its digest.
///
/// Instants serialize as Unix seconds. `==` compares every field, the
/// digest in constant time ([`SecretDigest`] has no `==` of its own).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefreshRecord {
    /// The public id embedded in the token; the lookup key.
    pub id: String,
    /// SHA-256 of the token's lead (the service's prefix), id and secret
    /// (see [`SecretDigest`]): a token relabelled with another service's
    /// prefix fails as `invalid_secret` there.
    pub secret_digest: SecretDigest,
    /// The family (login session); also the `sid` of its access tokens.
    pub family_id: String,
    /// The id of the token this one replaced, if any.
    pub parent: Option<String>,
    /// The subject the tokens act for.
    pub subject: String,
    /// The OAuth client the family was issued to. Only that client may
    /// redeem or revoke its tokens.
    pub client_id: Option<String>,
    /// The scopes granted at login.
    pub scopes: ScopeSet,
    /// The application's claims that every access token of the family
    /// carries (a tenant id, roles...).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub claims: Map<String, Value>,
    /// When this token was issued.
    #[serde(with = "time::serde::timestamp")]
    pub issued_at: OffsetDateTime,
    /// When the family was opened, for the absolute lifetime.
    #[serde(with = "time::serde::timestamp")]
    pub family_started_at: OffsetDateTime,
    /// When this token was first used (or superseded), if it was.
    #[serde(default, with = "time::serde::timestamp::option")]
    pub used_at: Option<OffsetDateTime>,
    /// The id of the token that replaced this one, once it was used.
    #[serde(default)]
    pub successor: Option<String>,
}

impl PartialEq for RefreshRecord {
    fn eq(&self, other: &Self) -> bool {
        // Destructured, so that a field added later cannot be left out.
        let Self {
            id,
            secret_digest,
            family_id,
            parent,
            subject,
            client_id,
            scopes,
            claims,
            issued_at,
            family_started_at,
            used_at,
            successor,
        } = self;
        secret_digest.matches(&other.secret_digest)
            && *id == other.id
            && *family_id == other.family_id
            && *parent == other.parent
            && *subject == other.subject
            && *client_id == other.client_id
            && *scopes == other.scopes
            && *claims == other.claims
            && *issued_at == other.issued_at
            && *family_started_at == other.family_started_at
            && *used_at == other.used_at
            && *successor == other.successor
    }
}

impl Eq for RefreshRecord {}

/// A plaintext refresh token, shown once. Zeroized on drop; `Debug` shows
/// only its public id; no `Display`, `Clone` or `Serialize`.
pub struct RefreshToken {
    pub(super) token: Zeroizing<String>,
    pub(super) id: String,
}

impl RefreshToken {
    /// The token, to hand to the client.
    pub fn expose_secret(&self) -> &str {
        &self.token
    }

    /// The public id.
    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshToken")
            .field("id", &self.id)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// What a login or a refresh returns. `Debug` shows neither token: both
/// are live bearer credentials.
pub struct TokenPair {
    /// A signed JWT access token carrying `sid` = the family id.
    pub access_token: String,
    /// The new refresh token; the one presented no longer works.
    pub refresh_token: RefreshToken,
    /// The family (session) id.
    pub family_id: String,
    /// Seconds until the access token expires (`expires_in` of RFC 6749
    /// §5.1).
    pub expires_in: i64,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"[redacted]")
            .field("refresh_token", &self.refresh_token)
            .field("family_id", &self.family_id)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Who logs in: the subject, the OAuth client, the scopes granted and the
/// application's own claims for the family's access tokens.
#[derive(Debug, Clone)]
pub struct Grant {
    pub(super) subject: String,
    pub(super) client_id: Option<String>,
    pub(super) scopes: ScopeSet,
    pub(super) claims: Map<String, Value>,
}

impl Grant {
    /// A grant for `subject` with no client, no scopes and no claims.
    pub fn new(subject: impl Into<String>) -> Self {
        Self {
            subject: subject.into(),
            client_id: None,
            scopes: ScopeSet::new(),
            claims: Map::new(),
        }
    }

    /// The OAuth client the tokens are issued to. A refresh or revocation
    /// must then name the same client.
    #[must_use]
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// The scopes granted.
    #[must_use]
    pub fn scopes(mut self, scopes: ScopeSet) -> Self {
        self.scopes = scopes;
        self
    }

    /// Claims every access token of the family carries, such as a tenant
    /// id or roles: any value that serializes to a JSON object whose
    /// members are not registered claim names. They are stored with the
    /// family and read back into each refreshed access token, where the
    /// application's claims type (`Validator::validate::<MyClaims>`) finds
    /// them.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidConfiguration`] when `claims` does not serialize to
    /// a JSON object. (A registered name such as `sub` among them fails the
    /// login, when the first access token is signed.)
    pub fn claims<T: Serialize + ?Sized>(mut self, claims: &T) -> Result<Self, Error> {
        match serde_json::to_value(claims) {
            Ok(Value::Object(map)) => {
                self.claims = map;
                Ok(self)
            }
            _ => Err(Error::config(
                "a grant's claims must serialize to a JSON object",
            )),
        }
    }
}
