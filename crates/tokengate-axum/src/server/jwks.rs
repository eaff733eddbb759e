//! Publishing a key ring's public keys.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use tokengate::KeyRing;
use tokengate::time::Duration;

/// The path RFC 8414 and OpenID Connect discovery documents usually give
/// as `jwks_uri`.
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

#[derive(Debug, Clone)]
struct Published {
    keys: Arc<KeyRing>,
    cache_control: HeaderValue,
}

/// A router serving `GET /.well-known/jwks.json`: the JWK Set of `keys`
/// (current, staged and retiring public keys, [`KeyRing::jwks`]) as
/// `application/jwk-set+json`, with `Cache-Control: public, max-age=N`.
///
/// Choose `max_age` shorter than the time a key is staged before it
/// signs ([`KeyRing::stage`] then [`KeyRing::promote`]): a resource server
/// that cached the document then already knows the next key when the
/// first token signed with it arrives. The document is built from the
/// ring on every request, so a rotation shows at once.
pub fn jwks_router<S: Clone + Send + Sync + 'static>(
    keys: Arc<KeyRing>,
    max_age: Duration,
) -> Router<S> {
    let seconds = max_age.whole_seconds().max(0);
    let cache_control = HeaderValue::from_str(&format!("public, max-age={seconds}"))
        .unwrap_or_else(|_| HeaderValue::from_static("no-cache"));
    Router::new()
        .route(JWKS_PATH, get(jwks))
        .with_state(Published {
            keys,
            cache_control,
        })
}

async fn jwks(State(published): State<Published>) -> Response {
    let mut response = Response::new(Body::from(published.keys.jwks().to_json()));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    h.insert(header::CACHE_CONTROL, published.cache_control);
    response
}
