//! What the OAuth endpoints share: form bodies, RFC 6749 §5.2 errors and
//! client authentication.

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tokengate::{ApiKeyVerifier, Error, VerifiedApiKey};

/// The largest form body an endpoint reads.
pub(crate) const MAX_FORM: usize = 16 * 1024;

/// An RFC 6749 §5.2 (and RFC 7009 §2.2.1) error answer.
#[derive(Debug)]
pub(crate) struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: Option<&'static str>,
    basic_challenge: bool,
}

impl OAuthError {
    pub(crate) fn new(status: StatusCode, code: &'static str) -> Self {
        Self {
            status,
            code,
            description: None,
            basic_challenge: false,
        }
    }

    pub(crate) fn invalid_request(why: &'static str) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request").describe(why)
    }

    /// 401 `invalid_client` with a `Basic` challenge (RFC 6749 §5.2).
    pub(crate) fn invalid_client(why: &'static str) -> Self {
        Self {
            basic_challenge: true,
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client").describe(why)
        }
    }

    pub(crate) fn describe(mut self, why: &'static str) -> Self {
        self.description = Some(why);
        self
    }

    /// The answer to a store or crypto failure: 503
    /// `temporarily_unavailable` when a dependency is down (so the client
    /// retries), 500 `server_error` otherwise.
    pub(crate) fn ours(e: &Error) -> Self {
        if e.is_unavailable() {
            Self::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable")
        } else {
            Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error")
        }
    }

    /// The answer to a failed grant, by [`Error::oauth_error`].
    pub(crate) fn grant(e: &Error) -> Self {
        match e.oauth_error() {
            "invalid_grant" => Self::new(StatusCode::BAD_REQUEST, "invalid_grant"),
            "invalid_scope" => Self::new(StatusCode::BAD_REQUEST, "invalid_scope"),
            _ => Self::ours(e),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut body = serde_json::Map::new();
        body.insert("error".into(), self.code.into());
        if let Some(d) = self.description {
            body.insert("error_description".into(), d.into());
        }
        let mut response = json(self.status, &serde_json::Value::Object(body));
        if self.basic_challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// A JSON answer that no cache keeps (RFC 6749 §5.1).
pub(crate) fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(value.to_string()));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// An `application/x-www-form-urlencoded` body, each parameter once
/// (RFC 6749 §3.1: a repeated parameter is an invalid request).
#[derive(Debug, Default)]
pub(crate) struct Form {
    params: HashMap<String, String>,
}

impl Form {
    /// Parses `body`, which `headers` must declare as a form.
    pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let is_form = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request("a parameter is repeated"));
            }
        }
        Ok(Self { params })
    }

    /// A parameter; an empty value counts as absent (RFC 6749 §3.1).
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A required parameter.
    pub(crate) fn require(&self, name: &str, why: &'static str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::invalid_request(why))
    }
}

/// Authenticates an OAuth client whose secret is an API key, by HTTP Basic
/// (RFC 6749 §2.3.1: `client_id:client_secret`, each form-urlencoded) or
/// by the `client_id` and `client_secret` form parameters; using both is
/// refused (§2.3). The client is the API key's owner: a `client_id`, when
/// given, must name it.
pub(crate) fn authenticate_client(
    verifier: &ApiKeyVerifier,
    headers: &HeaderMap,
    form: &Form,
) -> Result<VerifiedApiKey, OAuthError> {
    let mut authorizations = headers.get_all(header::AUTHORIZATION).iter();
    let header_value = authorizations.next();
    if authorizations.next().is_some() {
        return Err(OAuthError::invalid_request(
            "more than one Authorization header",
        ));
    }
    let (client_id, secret) = match header_value {
        Some(value) => {
            if form.get("client_secret").is_some() {
                return Err(OAuthError::invalid_request(
                    "more than one client authentication method",
                ));
            }
            let (id, secret) = basic_credentials(value)
                .ok_or_else(|| OAuthError::invalid_client("HTTP Basic credentials expected"))?;
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            (Some(id), secret)
        }
        None => match form.get("client_secret") {
            Some(secret) => (
                Some(
                    form.require("client_id", "client_id is required with client_secret")?
                        .to_owned(),
                ),
                secret.to_owned(),
            ),
            None => return Err(OAuthError::invalid_client("client authentication required")),
        },
    };
    let key = match verifier.verify(&secret) {
        Ok(key) => key,
        Err(e) if e.is_internal() => return Err(OAuthError::ours(&e)),
        Err(_) => return Err(OAuthError::invalid_client("client authentication failed")),
    };
    if client_id.is_some_and(|id| id != key.owner()) {
        return Err(OAuthError::invalid_client("client authentication failed"));
    }
    Ok(key)
}

/// `client_id` and `client_secret` of an HTTP Basic header.
fn basic_credentials(value: &HeaderValue) -> Option<(String, String)> {
    let value = value.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// Undoes the form-urlencoding RFC 6749 §2.3.1 applies inside Basic.
fn form_decode(s: &str) -> Option<String> {
    // Literal `&` and `=` are data here, not separators.
    let pair = format!("v={}", s.replace('&', "%26").replace('=', "%3D"));
    let mut decoded = form_urlencoded::parse(pair.as_bytes());
    decoded.next().map(|(_, v)| v.into_owned())
}

/// Runs `f` on the blocking pool: a shared store (refresh families,
/// revocation writes) may be network I/O, which must not hold an async
/// worker.
pub(crate) async fn off_the_runtime<F>(f: F) -> Response
where
    F: FnOnce() -> Response + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(response) => response,
        Err(_) => {
            OAuthError::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error").into_response()
        }
    }
}

/// Reads a form body of at most [`MAX_FORM`] bytes.
pub(crate) async fn read_form(
    request: axum::extract::Request,
) -> Result<(HeaderMap, Form), OAuthError> {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_FORM)
        .await
        .map_err(|_| OAuthError::invalid_request("the body is too large or unreadable"))?;
    let form = Form::parse(&parts.headers, &bytes)?;
    Ok((parts.headers, form))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_decoded() {
        let raw = base64::engine::general_purpose::STANDARD.encode("my%20client:s%3Acret+x&y=z");
        let v = HeaderValue::from_str(&format!("Basic {raw}")).unwrap();
        assert_eq!(
            basic_credentials(&v),
            Some(("my client".to_owned(), "s:cret x&y=z".to_owned()))
        );
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Basic !!!")),
            None
        );
        assert_eq!(
            basic_credentials(&HeaderValue::from_static("Bearer abc")),
            None
        );
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        assert!(Form::parse(&h, b"a=1&b=2").is_ok());
        assert!(Form::parse(&h, b"a=1&a=2").is_err());
        assert!(Form::parse(&HeaderMap::new(), b"a=1").is_err());
    }
}
