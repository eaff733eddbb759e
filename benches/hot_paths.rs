//! The full hot paths, each next to the floor it cannot beat, in one run:
//! the validator with every check on, key sets of 1, 10 and 1,000 keys,
//! API key verification with 1, 10^4 and 10^6 stored keys, revocation
//! lookups among 10^6 revoked `jti`s, refresh rotation, the
//! `Authorization` front door, and the cheap rejections.
//!
//! `cargo bench --bench hot_paths`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ring::digest;
use tokengate::RevocationStore;
use tokengate::api_key::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, InMemoryApiKeyStore, NewApiKey,
};
use tokengate::testing::clock_at;
use tokengate::{
    Algorithm, Authenticator, Grant, InMemoryRefreshStore, KeyRing, KeySetStore, RefreshTokens,
    Revocation, RevocationList, RevocationQuery, ScopeRequirement, ScopeSet, SigningKey,
    TokenBuilder, Validator, VerifyingKey,
};

const NOW: i64 = 1_800_000_000;

/// `cargo bench` passes `--bench`; `cargo test --benches` runs each
/// benchmark once to check it works, where a million-entry store is only
/// slow: use a thousand there.
fn large() -> usize {
    if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        1_000
    }
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct AppClaims {
    tenant: String,
}

fn bench_validator_key_sets(c: &mut Criterion) {
    let mut g = c.benchmark_group("validator_full_path");
    for n in [1usize, 10, 1000] {
        let signer = SigningKey::hmac(Algorithm::HS256, &[0x11; 32])
            .unwrap()
            .with_key_id("k0");
        let mut keys: Vec<Arc<VerifyingKey>> = vec![signer.verifying_key()];
        for i in 1..n {
            keys.push(Arc::new(
                VerifyingKey::hmac(Algorithm::HS256, &[(i % 251) as u8 + 1; 32])
                    .unwrap()
                    .with_key_id(format!("k{i}")),
            ));
        }
        let revocation = Arc::new(RevocationList::new());
        for i in 0..1000 {
            revocation
                .revoke_token(
                    &format!("revoked-{i}"),
                    tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 3600).unwrap(),
                )
                .unwrap();
        }
        let v = Validator::builder(KeySetStore::new(keys).unwrap())
            .danger_accept_any_type()
            .issuer("https://auth.example.com")
            .audience("https://api.example.com")
            .revocation(revocation)
            .require_scopes(ScopeRequirement::all("orders:read").unwrap())
            .clock(clock_at(NOW))
            .build()
            .unwrap();
        let token = TokenBuilder::new()
            .issuer("https://auth.example.com")
            .subject("user-1234567890")
            .audience("https://api.example.com")
            .scope("orders:read orders:write profile")
            .custom(serde_json::json!({"tenant": "acme"}))
            .clock(clock_at(NOW - 5))
            .sign(&signer)
            .unwrap();
        v.validate_with::<AppClaims>(&token, None).unwrap();
        g.bench_with_input(BenchmarkId::new("hs256_typed_claims", n), &token, |b, t| {
            b.iter(|| v.validate_with::<AppClaims>(black_box(t), None).unwrap())
        });
    }
    g.finish();
}

fn bench_api_keys(c: &mut Criterion) {
    let mut g = c.benchmark_group("api_key_verify");
    g.sample_size(30);
    let format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap();
    let issuer = ApiKeyIssuer::new(format.clone());
    let mut sizes = vec![1usize, 10_000.min(large()), large()];
    sizes.dedup();
    for n in sizes {
        let store = Arc::new(InMemoryApiKeyStore::new());
        let mut probe = None;
        for i in 0..n {
            let key = issuer
                .issue_into(&*store, NewApiKey::new(format!("owner-{}", i % 1000)))
                .unwrap();
            if i == n / 2 {
                probe = Some(key.expose_secret().to_owned());
            }
        }
        let probe = probe.unwrap();
        let verifier = ApiKeyVerifier::new(format.clone(), store);
        verifier.verify(&probe).unwrap();
        g.bench_with_input(BenchmarkId::new("tokengate", n), &probe, |b, k| {
            b.iter(|| verifier.verify(black_box(k)).unwrap())
        });
        // The floor: one SHA-256 of what the stored digest covers (the
        // lead, id and secret: one SHA-256 block) and one hash-map lookup.
        let mut floor: HashMap<String, [u8; 32]> = HashMap::with_capacity(n);
        for i in 0..n {
            floor.insert(format!("{i:012}"), [0u8; 32]);
        }
        let id = format!("{:012}", n / 2);
        let covered = &probe[..55];
        g.bench_with_input(BenchmarkId::new("sha256_plus_lookup", n), &id, |b, id| {
            b.iter(|| {
                let d = digest::digest(&digest::SHA256, black_box(covered).as_bytes());
                black_box(
                    floor
                        .get(black_box(id.as_str()))
                        .map(|s| s[0] == d.as_ref()[0]),
                )
            })
        });
    }
    let malformed = "acme_live_0000000000000000000000000000000000000000000000000000";
    let store = Arc::new(InMemoryApiKeyStore::new());
    let verifier = ApiKeyVerifier::new(format, store);
    g.bench_function("reject_malformed", |b| {
        b.iter(|| verifier.verify(black_box(malformed)).unwrap_err())
    });
    g.finish();
}

fn bench_revocation(c: &mut Criterion) {
    let list = RevocationList::new();
    let n = large();
    for i in 0..n {
        list.revoke_token(
            &format!("jti-{i:016}"),
            tokengate::time::OffsetDateTime::from_unix_timestamp(NOW + 3600).unwrap(),
        )
        .unwrap();
    }
    let mut g = c.benchmark_group(format!("revocation_lookup_{n}"));
    let probe = format!("jti-{:016}", n / 2);
    let hit = RevocationQuery::for_jti(Some(&probe));
    let miss = RevocationQuery::for_jti(Some("jti-not-revoked-000"));
    g.bench_function("revoked", |b| {
        b.iter(|| list.is_revoked(black_box(&hit)).unwrap())
    });
    g.bench_function("not_revoked", |b| {
        b.iter(|| list.is_revoked(black_box(&miss)).unwrap())
    });
    g.finish();
}

fn bench_refresh(c: &mut Criterion) {
    let ring = Arc::new(KeyRing::new(
        SigningKey::hmac(Algorithm::HS256, &[7; 32]).unwrap(),
    ));
    let tokens = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        ring,
        TokenBuilder::new().issuer("https://auth").audience("api"),
    )
    .without_access_token_revocation()
    .build()
    .unwrap();
    let mut current = tokens
        .login(Grant::new("user").scopes(ScopeSet::parse("a b").unwrap()))
        .unwrap();
    c.bench_function("refresh_rotation", |b| {
        b.iter(|| {
            current = tokens
                .refresh(current.refresh_token.expose_secret(), None)
                .unwrap();
        })
    });
}

fn bench_front_door(c: &mut Criterion) {
    let signer = SigningKey::hmac(Algorithm::HS256, &[0x22; 32]).unwrap();
    let v = Validator::builder(KeySetStore::new([signer.verifying_key()]).unwrap())
        .danger_accept_any_type()
        .issuer("https://auth.example.com")
        .audience("https://api.example.com")
        .clock(clock_at(NOW))
        .build()
        .unwrap();
    let format = ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap();
    let store = Arc::new(InMemoryApiKeyStore::new());
    let key = ApiKeyIssuer::new(format.clone())
        .issue_into(
            &*store,
            NewApiKey::new("svc").scopes(ScopeSet::parse("orders:read").unwrap()),
        )
        .unwrap();
    let door = Authenticator::builder()
        .access_tokens(v.clone())
        .api_keys(ApiKeyVerifier::new(format, store))
        .realm("api")
        .build()
        .unwrap();
    let token = TokenBuilder::new()
        .issuer("https://auth.example.com")
        .subject("user-1")
        .audience("https://api.example.com")
        .scope("orders:read")
        .clock(clock_at(NOW - 5))
        .sign(&signer)
        .unwrap();
    let need = ScopeRequirement::all("orders:read").unwrap();
    let jwt_header = format!("Bearer {token}");
    let key_header = format!("Bearer {}", key.expose_secret());
    let expired = TokenBuilder::new()
        .issuer("https://auth.example.com")
        .audience("https://api.example.com")
        .clock(clock_at(NOW - 10_000))
        .sign(&signer)
        .unwrap();
    let mut g = c.benchmark_group("front_door");
    g.bench_function("jwt", |b| {
        b.iter(|| {
            door.authenticate_for(Some(black_box(&jwt_header)), &need)
                .unwrap()
        })
    });
    g.bench_function("api_key", |b| {
        b.iter(|| {
            door.authenticate_for(Some(black_box(&key_header)), &need)
                .unwrap()
        })
    });
    g.bench_function("reject_expired_jwt", |b| {
        b.iter(|| v.validate(black_box(&expired)).unwrap_err())
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_validator_key_sets,
    bench_api_keys,
    bench_revocation,
    bench_refresh,
    bench_front_door
);
criterion_main!(benches);
