//! Extractors and the per-route scope layer.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use axum::http::Request;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use tokengate::{Claims, Error, NoCustomClaims, Principal, ScopeRequirement};
use tower_layer::Layer;
use tower_service::Service;

use crate::layer::{Caller, ClaimsType};
use crate::response::{AuthRejection, missing_layer};

/// The authenticated caller, as the [`AuthLayer`](crate::AuthLayer) in
/// front of the route left it.
///
/// Rejection: the layer's own answer. Behind an
/// [`optional`](crate::AuthLayer::optional) layer, a request without
/// credentials gets the layer's 401; without any layer, 500 (a
/// misconfiguration). `Option<Auth<T>>` is `None` for an anonymous
/// request instead.
///
/// ```
/// use tokengate_axum::Auth;
///
/// async fn me(Auth(caller): Auth) -> String {
///     format!("hello {}", caller.subject().unwrap_or("client"))
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Auth<T = NoCustomClaims>(pub Principal<T>);

fn principal<T: ClaimsType>(parts: &Parts) -> Result<&Principal<T>, AuthRejection> {
    Caller::require_principal(parts)?;
    parts.extensions.get::<Principal<T>>().ok_or_else(|| {
        missing_layer("the AuthLayer reads another claims type than this extractor asks for")
    })
}

impl<S: Send + Sync, T: ClaimsType> FromRequestParts<S> for Auth<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AuthRejection> {
        principal(parts).map(|p| Auth(p.clone()))
    }
}

impl<S: Send + Sync, T: ClaimsType> OptionalFromRequestParts<S> for Auth<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, AuthRejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Anonymous { .. }) => Ok(None),
            _ => principal(parts).map(|p| Some(Auth(p.clone()))),
        }
    }
}

/// The verified claims of the caller's access token, with the
/// application's own claims in `custom`.
///
/// Rejection: as [`Auth`]; a caller that authenticated with an API key
/// (which has no claims) is refused as an invalid token (401
/// `invalid_token`). `Option<VerifiedClaims<T>>` is `None` for an
/// anonymous request only.
///
/// ```
/// use tokengate_axum::VerifiedClaims;
///
/// #[derive(Clone, serde::Deserialize)]
/// struct Tenant {
///     tenant: String,
/// }
///
/// async fn tenant(VerifiedClaims(claims): VerifiedClaims<Tenant>) -> String {
///     claims.custom.tenant
/// }
/// ```
#[derive(Debug, Clone)]
pub struct VerifiedClaims<T = NoCustomClaims>(pub Claims<T>);

fn claims<T: ClaimsType>(parts: &Parts) -> Result<Claims<T>, AuthRejection> {
    let p = principal::<T>(parts)?;
    let caller = parts
        .extensions
        .get::<Caller>()
        .ok_or_else(|| missing_layer("no AuthLayer in front of this route"))?;
    caller.claims(p).cloned()
}

impl<S: Send + Sync, T: ClaimsType> FromRequestParts<S> for VerifiedClaims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, AuthRejection> {
        claims(parts).map(VerifiedClaims)
    }
}

impl<S: Send + Sync, T: ClaimsType> OptionalFromRequestParts<S> for VerifiedClaims<T> {
    type Rejection = AuthRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, AuthRejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::Anonymous { .. }) => Ok(None),
            _ => claims(parts).map(|c| Some(VerifiedClaims(c))),
        }
    }
}

/// A route's scope requirement, as a layer: `route_layer(RequireScopes::all("orders:write")?)`.
///
/// Behind an [`AuthLayer`](crate::AuthLayer): a caller whose scopes do not
/// satisfy the requirement gets 403 with
/// `WWW-Authenticate: Bearer …, error="insufficient_scope", scope="…"`
/// naming the route's scopes (and the validator's own requirement, if
/// any); an anonymous caller of an optional layer gets the layer's 401.
///
/// ```
/// use axum::{Router, routing::post};
/// use tokengate_axum::RequireScopes;
///
/// let orders: Router = Router::new()
///     .route("/orders", post(|| async { "created" }))
///     .route_layer(RequireScopes::all("orders:write")?);
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct RequireScopes {
    requirement: Arc<ScopeRequirement>,
}

impl RequireScopes {
    /// Requires every scope of the space-separated `scopes`.
    ///
    /// # Errors
    ///
    /// As [`ScopeRequirement::all`]: a malformed scope list.
    pub fn all(scopes: &str) -> Result<Self, Error> {
        ScopeRequirement::all(scopes).map(Self::new)
    }

    /// Requires at least one scope of the space-separated `scopes`.
    ///
    /// # Errors
    ///
    /// As [`ScopeRequirement::any`]: a malformed scope list.
    pub fn any(scopes: &str) -> Result<Self, Error> {
        ScopeRequirement::any(scopes).map(Self::new)
    }

    /// Requires `requirement`.
    pub fn new(requirement: ScopeRequirement) -> Self {
        Self {
            requirement: Arc::new(requirement),
        }
    }

    fn check(&self, parts_extensions: &axum::http::Extensions) -> Result<(), AuthRejection> {
        match parts_extensions.get::<Caller>() {
            Some(caller) => caller.check(parts_extensions, &self.requirement),
            None => Err(missing_layer(
                "RequireScopes needs an AuthLayer in front of it",
            )),
        }
    }
}

impl<S> Layer<S> for RequireScopes {
    type Service = RequireScopesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopesService {
            inner,
            scopes: self.clone(),
        }
    }
}

/// The service of [`RequireScopes`].
#[derive(Clone)]
pub struct RequireScopesService<S> {
    inner: S,
    scopes: RequireScopes,
}

impl<S: fmt::Debug> fmt::Debug for RequireScopesService<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireScopesService")
            .field("inner", &self.inner)
            .field("scopes", &self.scopes)
            .finish()
    }
}

impl<S, B> Service<Request<B>> for RequireScopesService<S>
where
    S: Service<Request<B>, Response = Response>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        match self.scopes.check(req.extensions()) {
            Ok(()) => Box::pin(self.inner.call(req)),
            Err(refusal) => Box::pin(std::future::ready(Ok(refusal.into_response()))),
        }
    }
}
