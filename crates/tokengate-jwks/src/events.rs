//! `tracing` events (feature `tracing`); without the feature these are
//! empty and compile away.

use tokengate::keys::remote::{FetchReason, FetchResult};

#[cfg(feature = "tracing")]
pub(crate) fn fetch_started(reason: FetchReason, url: &str) {
    tracing::debug!(target: "tokengate_jwks", ?reason, url, "fetching the JWK Set");
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn fetch_started(_reason: FetchReason, _url: &str) {}

#[cfg(feature = "tracing")]
pub(crate) fn fetch_done(result: &FetchResult, url: &str) {
    match result {
        FetchResult::Updated { keys, skipped } => {
            tracing::debug!(target: "tokengate_jwks", url, keys, skipped = skipped.len(), "JWK Set fetched");
            for member in skipped {
                tracing::warn!(
                    target: "tokengate_jwks",
                    url,
                    index = member.index,
                    kid = member.kid.as_deref().unwrap_or(""),
                    reason = member.reason.as_str(),
                    detail = %member.reason,
                    "JWK Set member skipped"
                );
            }
        }
        FetchResult::Failed(why) => {
            tracing::warn!(target: "tokengate_jwks", url, error = why.as_str(), "JWK Set fetch failed; the last good keys keep serving");
        }
        _ => {
            tracing::debug!(target: "tokengate_jwks", url, "JWK Set fetch superseded");
        }
    }
}

#[cfg(not(feature = "tracing"))]
pub(crate) fn fetch_done(_result: &FetchResult, _url: &str) {}

/// Logs the key ids a new document added and removed (a rotation), given
/// the previous document's ids, which it then replaces.
#[cfg(feature = "tracing")]
pub(crate) fn rotation(previous: &mut Vec<String>, document: &str) {
    let kids: Vec<String> = serde_json::from_str::<serde_json::Value>(document)
        .ok()
        .and_then(|v| {
            v.get("keys").and_then(|k| k.as_array()).map(|keys| {
                keys.iter()
                    .filter_map(|k| k.get("kid").and_then(|kid| kid.as_str()))
                    .map(str::to_owned)
                    .collect()
            })
        })
        .unwrap_or_default();
    let added: Vec<&str> = kids
        .iter()
        .filter(|k| !previous.contains(k))
        .map(String::as_str)
        .collect();
    let removed: Vec<&str> = previous
        .iter()
        .filter(|k| !kids.contains(k))
        .map(String::as_str)
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        tracing::info!(target: "tokengate_jwks", ?added, ?removed, "JWK Set keys changed");
    }
    *previous = kids;
}
