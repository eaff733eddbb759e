//! The tower layer that authenticates every request.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::http::{Extensions, HeaderMap, HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use tokengate::ScopeRequirement;
use tokengate::{AuthError, Authenticator, BearerError, Claims, Error, NoCustomClaims, Principal};
use tower_layer::Layer;
use tower_service::Service;

use crate::issuers::{Door, MultiIssuer};
use crate::refetch::KeyRefresh;
use crate::response::{AuthRejection, ErrorBody, Responder, missing_layer};

/// What a claims type must be to travel in request extensions.
pub trait ClaimsType: DeserializeOwned + Clone + Send + Sync + 'static {}
impl<T: DeserializeOwned + Clone + Send + Sync + 'static> ClaimsType for T {}

/// Authenticates every request with tokengate's
/// [`Authenticator`](tokengate::Authenticator): JWT access tokens and API
/// keys in an RFC 6750 `Authorization: Bearer` header.
///
/// On success the [`Principal<T>`](tokengate::Principal) (`T`: the
/// application's own claims, [`NoCustomClaims`] by default) goes into the
/// request extensions, where the [`Auth`](crate::Auth) and
/// [`VerifiedClaims`](crate::VerifiedClaims) extractors and
/// [`RequireScopes`](crate::RequireScopes) find it. On failure the layer
/// answers itself, and the inner service never sees the request:
///
/// | case | status | `WWW-Authenticate` |
/// |---|---|---|
/// | no `Authorization`, or another scheme (`Basic`) | 401 | `Bearer realm="…"` |
/// | malformed header (two headers, non-ASCII bytes, no token, bad characters) | 400 | `Bearer …, error="invalid_request"` |
/// | invalid, expired, revoked, unknown credential | 401 | `Bearer …, error="invalid_token"` |
/// | missing scopes (validator's or [`RequireScopes`](crate::RequireScopes)) | 403 | `Bearer …, error="insufficient_scope", scope="…"` |
/// | a store or key set unavailable | 503 | none; `Retry-After: 5` |
/// | our side failed | 500 | none |
///
/// The body is [`JsonErrorBody`](crate::JsonErrorBody) unless replaced
/// with [`AuthLayer::error_body`].
///
/// # Blocking
///
/// The authentication runs inline on the request's task: tokengate's
/// hot-path lookups (keys, revocations, API keys) are in-memory by
/// contract, shared stores included (they keep local replicas), so nothing
/// here waits on the network. The one wait is on a key refetch
/// ([`KeyRefresh`]), which is awaited, never blocked on.
pub struct AuthLayer<T = NoCustomClaims> {
    gate: Arc<Gate>,
    read: Read<T>,
}

/// How a layer's door reads a request's credential into a `Principal<T>`:
/// chosen with the claims type, so the default type reads no custom
/// claims from the payload at all.
type Read<T> = fn(&Authenticator, Option<&str>) -> Result<Principal<T>, AuthError>;

impl<T> Clone for AuthLayer<T> {
    fn clone(&self) -> Self {
        Self {
            gate: Arc::clone(&self.gate),
            read: self.read,
        }
    }
}

impl<T> fmt::Debug for AuthLayer<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthLayer")
            .field("gate", &self.gate)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Gate {
    issuers: MultiIssuer,
    responder: Responder,
    optional: bool,
}

impl AuthLayer<NoCustomClaims> {
    /// Authenticates with `authenticator`.
    pub fn new(authenticator: Arc<Authenticator>) -> Self {
        Self::multi(MultiIssuer::single(Door {
            authenticator,
            refresh: None,
        }))
    }

    /// Authenticates with the door [`MultiIssuer`] picks for each request.
    ///
    /// A `MultiIssuer` without any door refuses every request with 500.
    pub fn multi(issuers: MultiIssuer) -> Self {
        Self {
            gate: Arc::new(Gate {
                issuers,
                responder: Responder::default(),
                optional: false,
            }),
            read: |door, header| door.authenticate(header),
        }
    }
}

impl<T> AuthLayer<T> {
    fn edit(mut self, f: impl FnOnce(&mut Gate)) -> Self {
        f(Arc::make_mut(&mut self.gate));
        self
    }

    /// Reads the access token's claims into the application's own type
    /// `U` as well (a tenant, roles): `Principal<U>` goes into the
    /// extensions, and `Auth<U>` / `VerifiedClaims<U>` read it. A token
    /// whose claims do not deserialize into `U` is refused (401
    /// `invalid_token`).
    #[must_use]
    pub fn claims<U: ClaimsType>(self) -> AuthLayer<U> {
        AuthLayer {
            gate: self.gate,
            read: |door, header| door.authenticate_with::<U>(header, None),
        }
    }

    /// Lets requests without credentials through, anonymous: no
    /// `Principal` in the extensions, `Option<Auth<T>>` is `None`, and
    /// `Auth<T>` or [`RequireScopes`](crate::RequireScopes) on a route
    /// answer 401. A request that *does* present a credential is still
    /// refused when the credential is malformed (400), invalid (401) or
    /// cannot be checked (503): a broken credential is never treated as no
    /// credential.
    #[must_use]
    pub fn optional(self) -> Self {
        self.edit(|g| g.optional = true)
    }

    /// Replaces the body of refusals ([`ErrorBody`]; any
    /// `Fn(&AuthError) -> Response`). Status, `WWW-Authenticate` and
    /// `Retry-After` are still set by the layer.
    #[must_use]
    pub fn error_body(self, body: impl ErrorBody) -> Self {
        let body: Arc<dyn ErrorBody> = Arc::new(body);
        self.edit(|g| g.responder = g.responder.clone().with_body(body))
    }

    /// The `Retry-After` of 503 answers, in seconds (default 5; `None`
    /// sends none).
    #[must_use]
    pub fn retry_after(self, seconds: Option<u32>) -> Self {
        self.edit(|g| g.responder = g.responder.clone().with_retry_after(seconds))
    }

    /// For the default door (the only one of [`AuthLayer::new`]; of a
    /// [`MultiIssuer`], its [`default_door`](MultiIssuer::default_door) or
    /// else its first issuer): on a token whose `kid` the key set lacks,
    /// await one refetch through `refresh` and authenticate once more.
    /// Other issuers of a `MultiIssuer` take theirs with
    /// [`MultiIssuer::issuer_with_refresh`].
    #[must_use]
    pub fn key_refresh(self, refresh: Arc<dyn KeyRefresh>) -> Self {
        self.edit(|g| g.issuers = g.issuers.clone().with_default_refresh(refresh))
    }
}

/// What the layer leaves for the extractors and route layers behind it.
#[derive(Clone)]
pub(crate) enum Caller {
    /// Authenticated by `door`.
    Known {
        door: Arc<Authenticator>,
        responder: Responder,
        /// The scope check on the `Principal<T>` of this request's
        /// extensions, for the layer's `T`: no copy of the principal.
        check_scopes: ScopeCheck,
    },
    /// No credentials, let through by an optional layer; `error` is the
    /// 401 to answer where a caller is required.
    Anonymous {
        error: Arc<AuthError>,
        responder: Responder,
    },
}

impl Caller {
    /// The answer to give where a principal is required but there is none.
    pub(crate) fn require_principal(
        parts: &axum::http::request::Parts,
    ) -> Result<(), AuthRejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Known { .. }) => Ok(()),
            Some(Caller::Anonymous { error, responder }) => Err(responder.reject(error)),
            None => Err(missing_layer("no AuthLayer in front of this route")),
        }
    }
}

/// Checks the `Principal<T>` in `extensions` (`None` when there is none).
pub(crate) type ScopeCheck =
    fn(&Extensions, &Authenticator, &ScopeRequirement) -> Option<Result<(), AuthError>>;

fn check_scopes<T: ClaimsType>(
    extensions: &Extensions,
    door: &Authenticator,
    requirement: &ScopeRequirement,
) -> Option<Result<(), AuthError>> {
    extensions
        .get::<Principal<T>>()
        .map(|p| door.require_scopes(p, requirement))
}

impl Caller {
    pub(crate) fn check(
        &self,
        extensions: &Extensions,
        requirement: &ScopeRequirement,
    ) -> Result<(), AuthRejection> {
        match self {
            Caller::Known {
                door,
                responder,
                check_scopes,
            } => match check_scopes(extensions, door, requirement) {
                Some(checked) => checked.map_err(|e| responder.reject(&e)),
                None => Err(missing_layer("the principal was removed from the request")),
            },
            Caller::Anonymous { error, responder } => Err(responder.reject(error)),
        }
    }

    pub(crate) fn claims<'p, T>(
        &self,
        principal: &'p Principal<T>,
    ) -> Result<&'p Claims<T>, AuthRejection> {
        match self {
            Caller::Known {
                door, responder, ..
            } => door
                .require_claims(principal)
                .map_err(|e| responder.reject(&e)),
            Caller::Anonymous { error, responder } => Err(responder.reject(error)),
        }
    }
}

impl MultiIssuer {
    fn with_default_refresh(self, refresh: Arc<dyn KeyRefresh>) -> Self {
        self.map_default(|door| door.refresh = Some(refresh))
    }
}

/// The `Authorization` value of a request: `None` without one; several
/// header lines combined as RFC 9110 §5.3 combines field lines (no valid
/// credential survives that, so the door answers 400); bytes that are not
/// visible ASCII kept as replacement characters, which the door refuses
/// as malformed (400).
fn authorization(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let first = values.next()?;
    let Some(second) = values.next() else {
        return Some(String::from_utf8_lossy(first.as_bytes()));
    };
    let mut all = String::from_utf8_lossy(first.as_bytes()).into_owned();
    for v in std::iter::once(second).chain(values) {
        all.push_str(", ");
        all.push_str(&String::from_utf8_lossy(v.as_bytes()));
    }
    Some(Cow::Owned(all))
}

/// The `Authorization` value, owned without copying it in the common case.
enum Header {
    Absent,
    One(HeaderValue),
    Combined(String),
}

impl Header {
    fn of(headers: &HeaderMap) -> Self {
        let mut values = headers.get_all(header::AUTHORIZATION).iter();
        match (values.next(), values.next()) {
            (None, _) => Self::Absent,
            (Some(one), None) => Self::One(one.clone()),
            (Some(_), Some(_)) => match authorization(headers) {
                Some(all) => Self::Combined(all.into_owned()),
                None => Self::Absent,
            },
        }
    }

    fn text(&self) -> Option<Cow<'_, str>> {
        match self {
            Self::Absent => None,
            Self::One(v) => Some(match v.to_str() {
                Ok(s) => Cow::Borrowed(s),
                Err(_) => String::from_utf8_lossy(v.as_bytes()),
            }),
            Self::Combined(s) => Some(Cow::Borrowed(s)),
        }
    }
}

enum Outcome<T> {
    Known(Principal<T>, Arc<Authenticator>),
    Anonymous(AuthError),
    Refused(Response),
}

impl Gate {
    fn refuse_malformed(&self) -> Response {
        match self.issuers.select(None) {
            Some(door) => self
                .responder
                .respond(&door.authenticator.refuse_malformed_header()),
            None => missing_layer("the AuthLayer has no authenticator").into_response(),
        }
    }

    async fn authenticate<T: ClaimsType>(&self, read: Read<T>, header: Option<&str>) -> Outcome<T> {
        let Some(door) = self.issuers.select(header) else {
            return Outcome::Refused(
                missing_layer("the AuthLayer has no authenticator").into_response(),
            );
        };
        let seen = door.refresh.as_ref().map(|r| r.generation());
        let mut result = read(&door.authenticator, header);
        if let (Err(e), Some(refresh), Some(seen)) = (&result, &door.refresh, seen)
            && matches!(e.cause(), Some(Error::UnknownKey { .. }))
            && refresh.refresh_after(seen).await
        {
            result = read(&door.authenticator, header);
        }
        match result {
            Ok(principal) => Outcome::Known(principal, Arc::clone(&door.authenticator)),
            Err(e) if self.optional && e.bearer_error() == BearerError::MissingCredentials => {
                Outcome::Anonymous(e)
            }
            Err(e) => Outcome::Refused(self.responder.respond(&e)),
        }
    }
}

impl<S, T> Layer<S> for AuthLayer<T> {
    type Service = AuthService<S, T>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            gate: Arc::clone(&self.gate),
            read: self.read,
        }
    }
}

/// The service of an [`AuthLayer`].
pub struct AuthService<S, T = NoCustomClaims> {
    inner: S,
    gate: Arc<Gate>,
    read: Read<T>,
}

impl<S: Clone, T> Clone for AuthService<S, T> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            gate: Arc::clone(&self.gate),
            read: self.read,
        }
    }
}

impl<S: fmt::Debug, T> fmt::Debug for AuthService<S, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthService")
            .field("inner", &self.inner)
            .field("gate", &self.gate)
            .finish()
    }
}

impl<S, T, B> Service<Request<B>> for AuthService<S, T>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    T: ClaimsType,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let gate = Arc::clone(&self.gate);
        let read = self.read;
        // The clone that was driven to readiness serves this request.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        Box::pin(async move {
            // A cheap copy (the value's bytes are shared), so the request
            // stays free to take the principal.
            let header = Header::of(req.headers());
            if matches!(header, Header::Combined(_)) {
                // Several Authorization lines: one request carries one
                // credential. Refused as malformed, even in optional mode,
                // never read as "no credentials" because the first line
                // names another scheme.
                return Ok(gate.refuse_malformed());
            }
            let text = header.text();
            match gate.authenticate(read, text.as_deref()).await {
                Outcome::Known(principal, door) => {
                    let caller = Caller::Known {
                        door,
                        responder: gate.responder.clone(),
                        check_scopes: check_scopes::<T>,
                    };
                    req.extensions_mut().insert(principal);
                    req.extensions_mut().insert(caller);
                }
                Outcome::Anonymous(error) => {
                    req.extensions_mut().insert(Caller::Anonymous {
                        error: Arc::new(error),
                        responder: gate.responder.clone(),
                    });
                }
                Outcome::Refused(response) => return Ok(response),
            }
            inner.call(req).await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorization_lines_are_combined_and_never_dropped() {
        let mut h = HeaderMap::new();
        assert_eq!(authorization(&h), None);
        h.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer a"));
        assert_eq!(authorization(&h).as_deref(), Some("Bearer a"));
        h.append(header::AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(authorization(&h).as_deref(), Some("Bearer a, Bearer b"));
        let mut h = HeaderMap::new();
        h.append(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xffa").unwrap(),
        );
        assert_eq!(authorization(&h).as_deref(), Some("Bearer \u{fffd}a"));
    }
}
