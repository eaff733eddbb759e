//! How a refused request is answered: the status and challenge headers,
//! fixed by the protocol, and a body the application can replace.

use std::fmt;
use std::sync::Arc;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokengate::{AuthError, BearerError};

/// Builds the response body for a refused request.
///
/// The layer then sets, over whatever this returns, the status from
/// [`AuthError::status`], the `WWW-Authenticate` challenge on 401 and 403,
/// and `Retry-After` on 503: a body function cannot lose the challenge or
/// answer a refusal with a success. Any `Fn(&AuthError) -> Response` is
/// one:
///
/// ```
/// use axum::response::{IntoResponse, Response};
/// use tokengate::AuthError;
///
/// fn problem(e: &AuthError) -> Response {
///     (
///         [("content-type", "application/problem+json")],
///         format!(r#"{{"type":"about:blank","status":{}}}"#, e.status()),
///     )
///         .into_response()
/// }
/// # fn door() -> std::sync::Arc<tokengate::Authenticator> { unimplemented!() }
/// # fn build() {
/// let layer = tokengate_axum::AuthLayer::new(door()).error_body(problem);
/// # }
/// ```
pub trait ErrorBody: Send + Sync + 'static {
    /// The response (body and any headers) for `error`.
    fn body(&self, error: &AuthError) -> Response;
}

impl<F> ErrorBody for F
where
    F: Fn(&AuthError) -> Response + Send + Sync + 'static,
{
    fn body(&self, error: &AuthError) -> Response {
        self(error)
    }
}

/// The default body: a small JSON object naming the error class and
/// nothing about the token.
///
/// | status | body |
/// |---|---|
/// | 400 | `{"error":"invalid_request"}` |
/// | 401, no credentials | `{"error":"unauthorized"}` |
/// | 401 | `{"error":"invalid_token"}` |
/// | 403 | `{"error":"insufficient_scope","scope":"orders:write"}` |
/// | 500 | `{"error":"server_error"}` |
/// | 503 | `{"error":"temporarily_unavailable"}` |
///
/// The precise reason (expired, revoked, bad signature...) stays in
/// [`AuthError::cause`] for the application's logs: telling it to the
/// caller helps an attacker more than a client.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonErrorBody;

impl ErrorBody for JsonErrorBody {
    fn body(&self, error: &AuthError) -> Response {
        let code = error_code(error.bearer_error());
        let mut body = serde_json::Map::new();
        body.insert("error".into(), code.into());
        if error.bearer_error() == BearerError::InsufficientScope
            && let Some(scope) = challenge_scope(&error.www_authenticate())
        {
            body.insert("scope".into(), scope.into());
        }
        (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::Value::Object(body).to_string(),
        )
            .into_response()
    }
}

/// The `error` member of the default body.
fn error_code(kind: BearerError) -> &'static str {
    match kind {
        BearerError::MissingCredentials => "unauthorized",
        BearerError::Unavailable => "temporarily_unavailable",
        BearerError::ServerError => "server_error",
        other => other.code().unwrap_or("server_error"),
    }
}

/// The `scope` attribute of a challenge this crate's door wrote (scope
/// tokens never hold `"` or `\`).
fn challenge_scope(challenge: &str) -> Option<String> {
    let start = challenge.find("scope=\"")?.checked_add(7)?;
    let rest = challenge.get(start..)?;
    let end = rest.find('"')?;
    rest.get(..end).map(str::to_owned)
}

/// The shared answer to every refusal of one layer: its body and its
/// `Retry-After`.
#[derive(Clone)]
pub(crate) struct Responder {
    body: Arc<dyn ErrorBody>,
    retry_after: Option<u32>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

impl Default for Responder {
    fn default() -> Self {
        Self {
            body: Arc::new(JsonErrorBody),
            retry_after: Some(DEFAULT_RETRY_AFTER),
        }
    }
}

/// Seconds a 503 asks the client to wait by default.
pub(crate) const DEFAULT_RETRY_AFTER: u32 = 5;

impl Responder {
    pub(crate) fn with_body(mut self, body: Arc<dyn ErrorBody>) -> Self {
        self.body = body;
        self
    }

    pub(crate) fn with_retry_after(mut self, seconds: Option<u32>) -> Self {
        self.retry_after = seconds;
        self
    }

    /// The full answer to `error`, as a rejection.
    pub(crate) fn reject(&self, error: &AuthError) -> AuthRejection {
        AuthRejection::from(self.respond(error))
    }

    /// The full answer to `error`.
    pub(crate) fn respond(&self, error: &AuthError) -> Response {
        let mut response = self.body.body(error);
        *response.status_mut() =
            StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        match error.bearer_error() {
            BearerError::ServerError => {
                headers.remove(header::WWW_AUTHENTICATE);
            }
            BearerError::Unavailable => {
                headers.remove(header::WWW_AUTHENTICATE);
                if let Some(seconds) = self.retry_after {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
                }
            }
            _ => match HeaderValue::from_str(&error.www_authenticate()) {
                Ok(challenge) => {
                    headers.insert(header::WWW_AUTHENTICATE, challenge);
                }
                // A realm with characters a header cannot carry: the bare
                // challenge, rather than none.
                Err(_) => {
                    headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                }
            },
        }
        response
    }
}

/// Why an extractor or [`RequireScopes`](crate::RequireScopes) refused a
/// request: the same answer the [`AuthLayer`](crate::AuthLayer) gives
/// (status, challenge, the layer's body), ready to send.
pub struct AuthRejection(Box<Response>);

impl AuthRejection {
    /// The status it answers with.
    pub fn status(&self) -> StatusCode {
        self.0.status()
    }
}

impl fmt::Debug for AuthRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRejection")
            .field("status", &self.0.status())
            .finish_non_exhaustive()
    }
}

impl IntoResponse for AuthRejection {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<Response> for AuthRejection {
    fn from(response: Response) -> Self {
        Self(Box::new(response))
    }
}

/// A 500 for a route that asks for a caller no layer authenticated: the
/// application forgot [`AuthLayer`](crate::AuthLayer), a mistake to fix,
/// not a client's.
pub(crate) fn missing_layer(what: &'static str) -> AuthRejection {
    let response = (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::json!({ "error": "server_error", "detail": what }).to_string(),
    )
        .into_response();
    AuthRejection::from(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_attribute_is_read_from_the_challenge() {
        assert_eq!(
            challenge_scope(r#"Bearer realm="a", error="insufficient_scope", scope="x y""#),
            Some("x y".to_owned())
        );
        assert_eq!(challenge_scope("Bearer"), None);
    }
}
