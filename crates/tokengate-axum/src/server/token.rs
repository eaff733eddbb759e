//! The RFC 6749 token endpoint.

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use tokengate::time::Duration;
use tokengate::{ApiKeyVerifier, KeyRing, RefreshTokens, ScopeSet, TokenBuilder};

use super::oauth::{Form, OAuthError, authenticate_client, json, off_the_runtime, read_form};

/// The default lifetime of a `client_credentials` access token.
pub const DEFAULT_CLIENT_TOKEN_LIFETIME: Duration = Duration::minutes(15);

/// An RFC 6749 token endpoint: `client_credentials` (§4.4) and
/// `refresh_token` (§6) grants for clients whose secret is an API key.
///
/// # Client authentication
///
/// A client is the owner of an API key (its `client_id`), and presents the
/// key as its `client_secret` (RFC 6749 §2.3.1), either
///
/// - with HTTP Basic: `Authorization: Basic base64(client_id:api_key)`, or
/// - in the form: `client_id=…&client_secret=…`.
///
/// Using both, or two `Authorization` headers, is `invalid_request`. No
/// credentials, a key that does not verify, or a `client_id` that is not
/// the key's owner is 401 `invalid_client` with
/// `WWW-Authenticate: Basic realm="token"`.
///
/// # Grants
///
/// - `grant_type=client_credentials[&scope=…]`: an access token from the
///   `access` template ([`TokenBuilder`]: issuer, audience, `typ`), with
///   `sub` and `client_id` = the client, the requested scopes (each one
///   the client's key holds, else `invalid_scope`; all of them when
///   `scope` is absent), signed with the key ring's current key. No
///   refresh token (RFC 6749 §4.4.3).
/// - `grant_type=refresh_token&refresh_token=…`: rotated through
///   [`RefreshTokens::refresh`] bound to the authenticated client: a new
///   access and refresh token; a used token presented again revokes its
///   whole family (`invalid_grant`), another client's token is
///   `invalid_grant`. With `scope` (RFC 6749 §6), the new access token
///   carries only those scopes, each of which the family must hold (else
///   `invalid_scope`, and the token stays redeemable); the new refresh
///   token keeps the family's scopes.
///
/// # Answers
///
/// Every answer has `Cache-Control: no-store`. Errors are RFC 6749 §5.2
/// JSON (`{"error":"invalid_grant"}`): `invalid_request` (400: a missing
/// or repeated parameter, a body that is not a form),
/// `invalid_client` (401), `invalid_grant` (400), `unsupported_grant_type`
/// (400), `invalid_scope` (400), and, when our side fails,
/// `temporarily_unavailable` (503, a store down, with `Retry-After`) or
/// `server_error` (500).
///
/// # Blocking
///
/// Each request's store calls (the refresh rotation is a round trip to a
/// shared store) run on tokio's blocking pool, never on an async worker.
#[derive(Clone)]
pub struct TokenEndpoint {
    inner: Arc<Inner>,
}

#[derive(Clone)]
struct Inner {
    clients: ApiKeyVerifier,
    keys: Arc<KeyRing>,
    access: TokenBuilder,
    lifetime: Duration,
    refresh: Option<RefreshTokens>,
}

impl fmt::Debug for TokenEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenEndpoint")
            .field("lifetime", &self.inner.lifetime)
            .field("refresh_token_grant", &self.inner.refresh.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenEndpoint {
    /// Clients authenticated by `clients`; access tokens from the `access`
    /// template signed by `keys`. Only `client_credentials` until
    /// [`TokenEndpoint::refresh_tokens`].
    pub fn new(clients: ApiKeyVerifier, keys: Arc<KeyRing>, access: TokenBuilder) -> Self {
        Self {
            inner: Arc::new(Inner {
                clients,
                keys,
                access,
                lifetime: DEFAULT_CLIENT_TOKEN_LIFETIME,
                refresh: None,
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        // Copy on write: a setting on a clone applies to that clone, never
        // silently to nothing.
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// The lifetime of `client_credentials` access tokens (default 15
    /// minutes).
    #[must_use]
    pub fn client_token_lifetime(self, lifetime: Duration) -> Self {
        self.edit(|i| i.lifetime = lifetime)
    }

    /// Accepts `grant_type=refresh_token`, rotating through `refresh`.
    #[must_use]
    pub fn refresh_tokens(self, refresh: RefreshTokens) -> Self {
        self.edit(|i| i.refresh = Some(refresh))
    }

    /// A router with the endpoint at `POST path` (such as `/oauth/token`).
    pub fn router<S: Clone + Send + Sync + 'static>(self, path: &str) -> Router<S> {
        Router::new().route(path, post(token)).with_state(self)
    }

    /// Answers one token request (headers and form body): the endpoint
    /// without axum, for another framework. Blocking: call it where a
    /// store round trip may wait.
    pub fn respond(&self, headers: &HeaderMap, body: &[u8]) -> Response {
        Form::parse(headers, body)
            .and_then(|form| self.inner.grant(headers, &form))
            .unwrap_or_else(IntoResponse::into_response)
    }
}

/// The `POST` handler of [`TokenEndpoint::router`].
async fn token(State(endpoint): State<TokenEndpoint>, request: Request) -> Response {
    let (headers, form) = match read_form(request).await {
        Ok(read) => read,
        Err(e) => return e.into_response(),
    };
    off_the_runtime(move || {
        endpoint
            .inner
            .grant(&headers, &form)
            .unwrap_or_else(IntoResponse::into_response)
    })
    .await
}

impl Inner {
    fn grant(&self, headers: &HeaderMap, form: &Form) -> Result<Response, OAuthError> {
        match form.get("grant_type") {
            None => Err(OAuthError::invalid_request("grant_type is required")),
            Some("client_credentials") => self.client_credentials(headers, form),
            Some("refresh_token") if self.refresh.is_some() => self.refresh_token(headers, form),
            Some(_) => Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
            )),
        }
    }

    fn client_credentials(&self, headers: &HeaderMap, form: &Form) -> Result<Response, OAuthError> {
        let client = authenticate_client(&self.clients, headers, form)?;
        let granted = match form.get("scope") {
            None => client.scopes().clone(),
            Some(asked) => {
                let asked = ScopeSet::parse(asked)
                    .map_err(|_| OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope"))?;
                if !client.scopes().contains_all(&asked) {
                    return Err(OAuthError::new(StatusCode::BAD_REQUEST, "invalid_scope")
                        .describe("the client may not request these scopes"));
                }
                asked
            }
        };
        // The template's grant claims (a scope, a session) and a fixed jti
        // never reach a client's token: the scope is exactly what was
        // granted here, and each token has its own id to be revoked by.
        let mut builder = self
            .access
            .clone()
            .without_grant_claims()
            .random_jwt_id()
            .subject(client.owner())
            .client_id(client.owner())
            .lifetime(self.lifetime);
        if !granted.is_empty() {
            builder = builder.scope(granted.to_string());
        }
        // A token never outlives the key it was granted for. (Revoking the
        // key does not end tokens already minted with it: they live out
        // their short lifetime, or are revoked by their jti.)
        let mut expires_in = self.lifetime.whole_seconds();
        if let Some(key_exp) = client.expires_at() {
            let planned = builder
                .claims()
                .map_err(|e| OAuthError::ours(&e))?
                .expires_at;
            if let Some(planned) = planned
                && key_exp.unix_timestamp() < planned
            {
                builder = builder.expires_at(key_exp);
                expires_in = expires_in
                    .saturating_sub(planned.saturating_sub(key_exp.unix_timestamp()))
                    .max(0);
            }
        }
        let token = builder
            .sign(&self.keys.current())
            .map_err(|e| OAuthError::ours(&e))?;
        let mut body = serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": expires_in,
        });
        if !granted.is_empty()
            && let Some(map) = body.as_object_mut()
        {
            map.insert("scope".into(), granted.to_string().into());
        }
        Ok(json(StatusCode::OK, &body))
    }

    fn refresh_token(&self, headers: &HeaderMap, form: &Form) -> Result<Response, OAuthError> {
        let Some(refresh) = &self.refresh else {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
            ));
        };
        let client = authenticate_client(&self.clients, headers, form)?;
        let presented = form.require("refresh_token", "refresh_token is required")?;
        // Parsed by the core, after a reused token has revoked its family.
        let pair = refresh
            .refresh_with_scope(presented, Some(client.owner()), form.get("scope"))
            // A scope the family lacks, or no scope at all, is
            // `invalid_scope`.
            .map_err(|e| OAuthError::grant(&e))?;
        Ok(json(
            StatusCode::OK,
            &serde_json::json!({
                "access_token": pair.access_token,
                "token_type": "Bearer",
                "expires_in": pair.expires_in,
                "refresh_token": pair.refresh_token.expose_secret(),
            }),
        ))
    }
}
