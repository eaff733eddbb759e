//! RFC 7662 introspection and RFC 7009 revocation over an [`Introspector`].

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokengate::{ApiKeyVerifier, Error, Introspector};

use super::oauth::{OAuthError, authenticate_client, json, off_the_runtime, read_form};
use crate::{AuthLayer, ClaimsType, RequireScopes};

/// An RFC 7662 introspection endpoint at `POST path`: form parameter
/// `token` (`token_type_hint` is accepted and not needed: the kind is
/// recognised by format).
///
/// The caller must be authenticated (RFC 7662 §2.1) by `callers` (any
/// [`AuthLayer`]: a resource server's API key or access token) and hold
/// the scopes of `requirement`: 401/403 with the layer's challenges
/// otherwise, so a token scanner cannot probe tokens anonymously.
///
/// The answer is `{"active":true,…}` for an active token and
/// `{"active":false}` for anything else (invalid, expired, revoked,
/// unknown), with `Cache-Control: no-store`; a missing `token` is 400
/// `invalid_request`; a store that cannot be read is 503
/// `temporarily_unavailable` rather than a false "inactive". The check
/// runs on tokio's blocking pool (a refresh token's record may be in a
/// shared store).
pub fn introspection_router<S, T>(
    path: &str,
    introspector: Arc<Introspector>,
    callers: AuthLayer<T>,
    requirement: RequireScopes,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    T: ClaimsType,
{
    Router::new()
        .route(path, post(introspect))
        .route_layer(requirement)
        .route_layer(callers)
        .with_state(introspector)
}

async fn introspect(State(introspector): State<Arc<Introspector>>, request: Request) -> Response {
    let (_, form) = match read_form(request).await {
        Ok(read) => read,
        Err(e) => return e.into_response(),
    };
    let token = match form.require("token", "token is required") {
        Ok(t) => t.to_owned(),
        Err(e) => return e.into_response(),
    };
    off_the_runtime(move || match introspector.try_introspect(&token) {
        Ok(answer) => match serde_json::to_value(&answer) {
            Ok(body) => json(StatusCode::OK, &body),
            Err(_) => {
                OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error").into_response()
            }
        },
        Err(e) => OAuthError::ours(&e).into_response(),
    })
    .await
}

/// State of the revocation endpoint.
#[derive(Debug, Clone)]
struct Revocation {
    introspector: Arc<Introspector>,
    clients: ApiKeyVerifier,
}

/// An RFC 7009 revocation endpoint at `POST path`: form parameter `token`
/// (`token_type_hint` accepted and not needed), the client authenticated
/// as at the [`TokenEndpoint`](super::TokenEndpoint) (its API key, by
/// HTTP Basic or the form).
///
/// | case | answer |
/// |---|---|
/// | revoked, or unknown, invalid, expired, already revoked (§2.2) | 200, empty body |
/// | no `token`, a repeated parameter | 400 `invalid_request` |
/// | client not authenticated | 401 `invalid_client`, `WWW-Authenticate: Basic` |
/// | a token issued to another client (§2.1) | 400 `unauthorized_client`, nothing revoked |
/// | an access token with neither `jti` nor `sid` | 400 `unsupported_token_type` (§2.2.1) |
/// | a store down | 503 `temporarily_unavailable`, `Retry-After` (§2.2.1) |
///
/// A refresh token revokes its whole family and the family's access
/// tokens; an access token is revoked by `jti` until its `exp`; an API key
/// in its store. The write runs on tokio's blocking pool.
pub fn revocation_router<S>(
    path: &str,
    introspector: Arc<Introspector>,
    clients: ApiKeyVerifier,
) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    Router::new()
        .route(path, post(revoke))
        .with_state(Revocation {
            introspector,
            clients,
        })
}

async fn revoke(State(state): State<Revocation>, request: Request) -> Response {
    let (headers, form) = match read_form(request).await {
        Ok(read) => read,
        Err(e) => return e.into_response(),
    };
    off_the_runtime(move || {
        let client = match authenticate_client(&state.clients, &headers, &form) {
            Ok(c) => c,
            Err(e) => return e.into_response(),
        };
        let token = match form.require("token", "token is required") {
            Ok(t) => t,
            Err(e) => return e.into_response(),
        };
        match state.introspector.revoke(token, Some(client.owner())) {
            Ok(()) => {
                let mut ok = StatusCode::OK.into_response();
                ok.headers_mut().insert(
                    axum::http::header::CACHE_CONTROL,
                    axum::http::HeaderValue::from_static("no-store"),
                );
                ok
            }
            Err(Error::WrongClient) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "unauthorized_client")
                    .describe("the token was issued to another client")
                    .into_response()
            }
            Err(Error::MissingClaim(_)) => {
                OAuthError::new(StatusCode::BAD_REQUEST, "unsupported_token_type").into_response()
            }
            Err(e) => OAuthError::ours(&e).into_response(),
        }
    })
    .await
}
