//! Several token issuers behind one layer.

use std::collections::HashMap;
use std::sync::Arc;

use tokengate::Authenticator;

use crate::refetch::KeyRefresh;

/// One front door and, for a remote key set, how to refetch it.
#[derive(Debug, Clone)]
pub(crate) struct Door {
    pub(crate) authenticator: Arc<Authenticator>,
    pub(crate) refresh: Option<Arc<dyn KeyRefresh>>,
}

/// Chooses the [`Authenticator`] for a request by the issuer a token
/// claims, before anything is verified.
///
/// A JWT's `iss` is read without verification (through
/// [`tokengate::danger`]) only to pick the door; that door's validator
/// then checks the signature with *its* keys and requires *its* issuer,
/// so a token that claims issuer B but is signed with issuer A's key is
/// refused by B's door (A's key is not in B's set), and a token that
/// claims an issuer nobody configured goes to the default door, whose
/// validator refuses the issuer. The unverified value decides nothing
/// else.
///
/// API keys, requests without credentials, tokens without `iss` and
/// anything that does not decode go to the default door: the one given to
/// [`MultiIssuer::default_door`], or else the first issuer added.
///
/// ```
/// # use std::sync::Arc;
/// # use tokengate::{Algorithm, Authenticator, KeyRing, SigningKey, Validator};
/// # fn door(iss: &str) -> Result<Arc<Authenticator>, tokengate::Error> {
/// #     let ring = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::EdDSA)?));
/// #     let v = Validator::builder(ring).access_token_profile().issuer(iss).audience("api").build()?;
/// #     Ok(Arc::new(Authenticator::builder().access_tokens(v).build()?))
/// # }
/// use tokengate_axum::{AuthLayer, MultiIssuer};
///
/// let issuers = MultiIssuer::new()
///     .issuer("https://login.example.com", door("https://login.example.com")?)
///     .issuer("https://partner.example.net", door("https://partner.example.net")?);
/// let layer = AuthLayer::multi(issuers);
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct MultiIssuer {
    by_issuer: HashMap<String, Door>,
    first: Option<String>,
    default: Option<Door>,
}

impl MultiIssuer {
    /// No issuer yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tokens claiming `iss` go to `authenticator` (whose validator must
    /// require that issuer).
    pub fn issuer(self, iss: impl Into<String>, authenticator: Arc<Authenticator>) -> Self {
        self.add(
            iss.into(),
            Door {
                authenticator,
                refresh: None,
            },
        )
    }

    /// As [`MultiIssuer::issuer`], for a door over a remote key set:
    /// a token with an unknown `kid` awaits one refetch through `refresh`
    /// and is authenticated again.
    pub fn issuer_with_refresh(
        self,
        iss: impl Into<String>,
        authenticator: Arc<Authenticator>,
        refresh: Arc<dyn KeyRefresh>,
    ) -> Self {
        self.add(
            iss.into(),
            Door {
                authenticator,
                refresh: Some(refresh),
            },
        )
    }

    /// The door for API keys, requests without credentials and tokens of
    /// no configured issuer (default: the first issuer added).
    pub fn default_door(mut self, authenticator: Arc<Authenticator>) -> Self {
        self.default = Some(Door {
            authenticator,
            refresh: None,
        });
        self
    }

    fn add(mut self, iss: String, door: Door) -> Self {
        if self.first.is_none() {
            self.first = Some(iss.clone());
        }
        self.by_issuer.insert(iss, door);
        self
    }

    /// A layer with one door.
    pub(crate) fn single(door: Door) -> Self {
        Self {
            by_issuer: HashMap::new(),
            first: None,
            default: Some(door),
        }
    }

    /// Changes the default door (of a single-door layer, the only one).
    pub(crate) fn map_default(mut self, f: impl FnOnce(&mut Door)) -> Self {
        if let Some(door) = self.default.as_mut() {
            f(door);
        } else if let Some(door) = self
            .first
            .as_ref()
            .and_then(|iss| self.by_issuer.get_mut(iss))
        {
            f(door);
        }
        self
    }

    pub(crate) fn default_door_ref(&self) -> Option<&Door> {
        self.default
            .as_ref()
            .or_else(|| self.first.as_ref().and_then(|iss| self.by_issuer.get(iss)))
    }

    /// The door for a request's `Authorization` value. The token's `iss`
    /// is read (unverified, and nothing else of it) only when there is a
    /// choice to make.
    pub(crate) fn select(&self, authorization: Option<&str>) -> Option<&Door> {
        let choice =
            self.by_issuer.len() > 1 || (self.default.is_some() && !self.by_issuer.is_empty());
        if choice
            && let Some(token) = authorization.and_then(bearer_credential)
            && token.contains('.')
            && let Ok(Some(iss)) = tokengate::danger::issuer_unverified(token)
            && let Some(door) = self.by_issuer.get(iss.as_str())
        {
            return Some(door);
        }
        self.default_door_ref()
    }
}

/// The credential of a `Bearer` header, leniently (the chosen door parses
/// it strictly).
fn bearer_credential(header: &str) -> Option<&str> {
    let (scheme, rest) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_matches(' '))
}
