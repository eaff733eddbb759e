//! The [`KeyStore`] suites.

use std::sync::Arc;

use super::same;
use crate::error::ErrorKind;
use crate::jws::{Algorithm, AlgorithmSet};
use crate::keys::{KeyQuery, KeyStore, SigningKey};

fn found(
    store: &dyn KeyStore,
    alg: Algorithm,
    kid: Option<&str>,
) -> Result<(String, Algorithm), ErrorKind> {
    let query = KeyQuery::new(alg, kid);
    let owned = store.find_key(&query).map_err(|e| e.kind());
    let lent = store.find_key_ref(&query).map_err(|e| e.kind());
    assert_eq!(
        owned.as_ref().map(|k| k.thumbprint()),
        lent.as_ref().map(|k| k.thumbprint()),
        "find_key_ref must find what find_key finds ({alg:?}, kid {kid:?})"
    );
    owned.map(|k| (k.key_id().to_owned(), k.algorithm()))
}

fn key(alg: Algorithm, kid: &str) -> SigningKey {
    SigningKey::generate(alg)
        .expect("a generated key")
        .with_key_id(kid)
}

/// Checks the [`KeyStore`] contract for a store of one key: `make`
/// receives an ES256 key with key id `k1` and returns a store holding
/// exactly it.
///
/// # Panics
///
/// At the first rule the store breaks, naming it.
pub fn single_key_store<S, F>(make: F)
where
    S: KeyStore + 'static,
    F: Fn(SigningKey) -> S,
{
    let store = make(key(Algorithm::ES256, "k1"));
    let ok = Ok(("k1".to_owned(), Algorithm::ES256));
    same(
        "find_key by kid and alg",
        found(&store, Algorithm::ES256, Some("k1")),
        ok.clone(),
    );
    same(
        "find_key without kid, one key of the alg",
        found(&store, Algorithm::ES256, None),
        ok,
    );
    same(
        "find_key with an unknown kid",
        found(&store, Algorithm::ES256, Some("k2")),
        Err(ErrorKind::UnknownKey),
    );
    same(
        "find_key with the kid but another alg",
        found(&store, Algorithm::ES384, Some("k1")),
        Err(ErrorKind::UnknownKey),
    );
    same(
        "algorithms are those of the keys held",
        store.algorithms(),
        AlgorithmSet::only(Algorithm::ES256),
    );
}

/// Checks the [`KeyStore`] contract for a store of several keys: `make`
/// receives three keys, ES256 `k1`, ES256 `k2` and EdDSA `k3`, and returns
/// a store holding exactly them.
///
/// Besides the lookups of [`single_key_store`]: a token without `kid` is
/// refused when two keys share its algorithm (never tried against each),
/// and lookups from many threads agree.
///
/// # Panics
///
/// At the first rule the store breaks, naming it.
pub fn key_set_store<S, F>(make: F)
where
    S: KeyStore + 'static,
    F: Fn(Vec<SigningKey>) -> S,
{
    let store = Arc::new(make(vec![
        key(Algorithm::ES256, "k1"),
        key(Algorithm::ES256, "k2"),
        key(Algorithm::EdDSA, "k3"),
    ]));
    for (kid, alg) in [
        ("k1", Algorithm::ES256),
        ("k2", Algorithm::ES256),
        ("k3", Algorithm::EdDSA),
    ] {
        same(
            "find_key by kid and alg",
            found(&*store, alg, Some(kid)),
            Ok((kid.to_owned(), alg)),
        );
    }
    same(
        "find_key without kid when two keys share the alg",
        found(&*store, Algorithm::ES256, None),
        Err(ErrorKind::UnknownKey),
    );
    same(
        "find_key without kid, one key of the alg",
        found(&*store, Algorithm::EdDSA, None),
        Ok(("k3".to_owned(), Algorithm::EdDSA)),
    );
    same(
        "find_key with the kid of another alg's key",
        found(&*store, Algorithm::EdDSA, Some("k1")),
        Err(ErrorKind::UnknownKey),
    );
    same(
        "find_key with an unknown kid",
        found(&*store, Algorithm::ES256, Some("nope")),
        Err(ErrorKind::UnknownKey),
    );
    let mut algs = AlgorithmSet::only(Algorithm::ES256);
    algs.insert(Algorithm::EdDSA);
    same(
        "algorithms are those of the keys held",
        store.algorithms(),
        algs,
    );
    std::thread::scope(|scope| {
        for _ in 0..4 {
            let store = Arc::clone(&store);
            scope.spawn(move || {
                for _ in 0..200 {
                    same(
                        "concurrent find_key",
                        found(&*store, Algorithm::ES256, Some("k2")),
                        Ok(("k2".to_owned(), Algorithm::ES256)),
                    );
                }
            });
        }
    });
}
