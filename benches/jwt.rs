//! Hot-path benchmarks: our validate/sign next to the raw-crypto floor
//! (ring + base64 + serde_json doing the same decode with none of the
//! checks), in one run. Read the ratios, not the absolute times.
//!
//! `cargo bench --bench jwt`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::hint::black_box;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use ring::signature::{self, UnparsedPublicKey};
use serde::Deserialize;
use tokengate::testing::clock_at;
use tokengate::{Algorithm, SigningKey, SingleKeyStore, TokenBuilder, Validator};

const NOW: i64 = 1_800_000_000;
const RSA_PEM: &str = include_str!("../tests/data/keys/rsa2048_pkcs8.pem");

fn key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::RS256 => SigningKey::from_pem(alg, RSA_PEM).unwrap(),
        Algorithm::HS256 => SigningKey::hmac(alg, &[0x42; 32]).unwrap(),
        _ => SigningKey::generate(alg).unwrap(),
    }
}

fn builder() -> TokenBuilder {
    TokenBuilder::new()
        .issuer("https://auth.example.com")
        .subject("user-1234567890")
        .audience("https://api.example.com")
        .scope("orders:read orders:write profile")
        .not_before(time::OffsetDateTime::from_unix_timestamp(NOW - 10).unwrap())
        .clock(clock_at(NOW - 5))
}

fn validator(key: &SigningKey) -> Validator {
    Validator::builder(SingleKeyStore::new(key.verifying_key()))
        .danger_accept_any_type()
        .issuer("https://auth.example.com")
        .audience("https://api.example.com")
        .clock(clock_at(NOW))
        .build()
        .unwrap()
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct FloorHeader {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct FloorClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    scope: String,
}

/// The floor: split, decode, one signature check, header and claims into
/// structs; no policy at all.
type RawVerify = Box<dyn Fn(&[u8], &[u8]) -> bool>;

fn floor(token: &str, verify: &dyn Fn(&[u8], &[u8]) -> bool) -> Option<FloorClaims> {
    let (signing_input, sig) = token.rsplit_once('.')?;
    let (h, p) = signing_input.split_once('.')?;
    let _header: FloorHeader = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    if !verify(signing_input.as_bytes(), &sig) {
        return None;
    }
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
}

fn bench_validate(c: &mut Criterion) {
    for alg in [
        Algorithm::HS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
        Algorithm::RS256,
    ] {
        let key = key(alg);
        let token = builder().sign(&key).unwrap();
        let v = validator(&key);
        v.validate(&token).unwrap();
        let raw_verify: RawVerify = match alg {
            Algorithm::HS256 => {
                let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &[0x42; 32]);
                Box::new(move |m, s| ring::hmac::verify(&k, m, s).is_ok())
            }
            _ => {
                let pk = public_bytes(&key);
                let params: &'static dyn signature::VerificationAlgorithm = match alg {
                    Algorithm::ES256 => &signature::ECDSA_P256_SHA256_FIXED,
                    Algorithm::EdDSA | Algorithm::Ed25519 => &signature::ED25519,
                    _ => &signature::RSA_PKCS1_2048_8192_SHA256,
                };
                Box::new(move |m, s| UnparsedPublicKey::new(params, &pk).verify(m, s).is_ok())
            }
        };
        assert!(floor(&token, &*raw_verify).is_some());
        let mut g = c.benchmark_group(format!("validate/{alg}"));
        g.bench_function("tokengate", |b| {
            b.iter(|| v.validate(black_box(&token)).unwrap())
        });
        g.bench_function("floor", |b| {
            b.iter(|| floor(black_box(&token), &*raw_verify).unwrap())
        });
        g.finish();

        let mut g = c.benchmark_group(format!("sign/{alg}"));
        let b = builder();
        g.bench_function("tokengate", |bch| {
            bch.iter(|| b.sign(black_box(&key)).unwrap())
        });
        g.finish();
    }
}

fn public_bytes(key: &SigningKey) -> Vec<u8> {
    let jwk: serde_json::Value =
        serde_json::from_str(&key.verifying_key().to_jwk().unwrap().to_json()).unwrap();
    let get = |m: &str| URL_SAFE_NO_PAD.decode(jwk[m].as_str().unwrap()).unwrap();
    match jwk["kty"].as_str().unwrap() {
        "EC" => [vec![4], get("x"), get("y")].concat(),
        "OKP" => get("x"),
        // PKCS#1 RSAPublicKey DER from n and e.
        _ => der_rsa(&get("n"), &get("e")),
    }
}

fn der_rsa(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let mut body = v.to_vec();
        if body[0] & 0x80 != 0 {
            body.insert(0, 0);
        }
        let mut out = vec![0x02];
        out.extend(len(body.len()));
        out.extend(body);
        out
    }
    fn len(l: usize) -> Vec<u8> {
        if l < 128 {
            vec![l as u8]
        } else {
            vec![0x82, (l >> 8) as u8, l as u8]
        }
    }
    let body = [int(n), int(e)].concat();
    let mut out = vec![0x30];
    out.extend(len(body.len()));
    out.extend(body);
    out
}

fn bench_reject(c: &mut Criterion) {
    let key = key(Algorithm::HS256);
    let v = validator(&key);
    let token = builder().sign(&key).unwrap();
    let garbage = "x".repeat(300);
    let mut wrong_sig = token.clone();
    wrong_sig.replace_range(token.len() - 4.., "AAAA");
    let expired = builder()
        .clock(clock_at(NOW - 10_000))
        .not_before(time::OffsetDateTime::from_unix_timestamp(NOW - 10_010).unwrap())
        .sign(&key)
        .unwrap();
    let mut g = c.benchmark_group("reject");
    g.bench_function("garbage_300_bytes", |b| {
        b.iter(|| v.validate(black_box(&garbage)).unwrap_err())
    });
    g.bench_function("hs256_wrong_signature", |b| {
        b.iter(|| v.validate(black_box(&wrong_sig)).unwrap_err())
    });
    g.bench_function("hs256_expired", |b| {
        b.iter(|| v.validate(black_box(&expired)).unwrap_err())
    });
    g.finish();
}

criterion_group!(benches, bench_validate, bench_reject);
criterion_main!(benches);
