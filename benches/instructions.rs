//! Instructions per operation, counted by `valgrind --tool=callgrind`:
//! unlike time on a shared machine, the count is the same run after run.
//!
//! ```text
//! bash benches/instructions.sh            # every operation, instructions per op
//! ```
//!
//! The script builds this target in release and runs it twice per
//! operation under callgrind, with N and 2N iterations; the difference
//! divided by N is the cost of one operation, setup excluded. Run
//! directly (`OP N`), it performs operation OP N times; under `cargo test
//! --benches` it runs each operation once, as a smoke test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::hint::black_box;

use std::collections::HashMap;
use std::sync::Arc;

use ring::digest;
use tokengate::testing::clock_at;
use tokengate::{
    Algorithm, ApiKeyFormat, ApiKeyIssuer, ApiKeyVerifier, InMemoryApiKeyStore, NewApiKey,
    SigningKey, SingleKeyStore, TokenBuilder, Validator,
};

const NOW: i64 = 1_800_000_000;
const ISS: &str = "https://auth.example.com";
const AUD: &str = "https://api.example.com";

/// The operations, by name.
const OPS: [&str; 10] = [
    "hs256_verify",
    "hs256_verify_cached",
    "hs256_wrong_signature",
    "hs256_sign",
    "garbage",
    "garbage_no_dots",
    "es256_verify",
    "eddsa_verify",
    "api_key_verify",
    "api_key_floor",
];

/// Keys stored for the API key operations: the count of instructions of a
/// hash-map lookup does not grow with the map (its time does, with cache
/// misses: `cargo bench --bench hot_paths` times 10^6).
const STORED_KEYS: usize = 10_000;

struct Fixture {
    validator: Validator,
    key: SigningKey,
    token: String,
    tampered: String,
}

fn fixture(alg: Algorithm) -> Fixture {
    let key = match alg {
        Algorithm::HS256 => SigningKey::hmac(alg, &[0x42; 32]).unwrap(),
        _ => SigningKey::generate(alg).unwrap(),
    }
    .with_key_id("k1");
    let validator = Validator::builder(SingleKeyStore::new(key.verifying_key()))
        .danger_accept_any_type()
        .issuer(ISS)
        .audience(AUD)
        .clock(clock_at(NOW))
        .build()
        .unwrap();
    let token = builder().sign(&key).unwrap();
    validator.validate(&token).unwrap();
    // One signature character changed, away from the last one: well
    // formed, wrong signature.
    let dot = token.rfind('.').unwrap();
    let mut bytes = token.clone().into_bytes();
    bytes[dot + 3] = if bytes[dot + 3] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    Fixture {
        validator,
        key,
        token,
        tampered,
    }
}

fn builder() -> TokenBuilder {
    TokenBuilder::new()
        .issuer(ISS)
        .subject("user-42")
        .audience(AUD)
        .jwt_id("0123456789abcdef")
        .clock(clock_at(NOW))
}

fn run(op: &str, n: u64) {
    match op {
        "hs256_verify" | "es256_verify" | "eddsa_verify" => {
            let alg = match op {
                "hs256_verify" => Algorithm::HS256,
                "es256_verify" => Algorithm::ES256,
                _ => Algorithm::EdDSA,
            };
            let f = fixture(alg);
            for _ in 0..n {
                black_box(f.validator.validate(black_box(&f.token)).unwrap());
            }
        }
        "hs256_verify_cached" => {
            let key = SigningKey::hmac(Algorithm::HS256, &[0x42; 32]).unwrap();
            let validator = Validator::builder(SingleKeyStore::new(key.verifying_key()))
                .danger_accept_any_type()
                .issuer(ISS)
                .audience(AUD)
                .clock(clock_at(NOW))
                .cache_verified(1_000)
                .build()
                .unwrap();
            let token = builder().sign(&key).unwrap();
            for _ in 0..n {
                black_box(validator.validate(black_box(&token)).unwrap());
            }
        }
        "hs256_wrong_signature" => {
            let f = fixture(Algorithm::HS256);
            for _ in 0..n {
                black_box(f.validator.validate(black_box(&f.tampered)).unwrap_err());
            }
        }
        "hs256_sign" => {
            let f = fixture(Algorithm::HS256);
            let b = builder();
            for _ in 0..n {
                black_box(b.sign(black_box(&f.key)).unwrap());
            }
        }
        "garbage" => {
            let f = fixture(Algorithm::HS256);
            let garbage = format!(
                "{}.{}.{}",
                "x".repeat(100),
                "y".repeat(100),
                "z!".repeat(50)
            );
            for _ in 0..n {
                black_box(f.validator.validate(black_box(&garbage)).unwrap_err());
            }
        }
        "garbage_no_dots" => {
            let f = fixture(Algorithm::HS256);
            let garbage = "x".repeat(300);
            for _ in 0..n {
                black_box(f.validator.validate(black_box(&garbage)).unwrap_err());
            }
        }
        "api_key_verify" => {
            let format = ApiKeyFormat::new("acme")
                .unwrap()
                .environment("live")
                .unwrap();
            let issuer = ApiKeyIssuer::new(format.clone());
            let store = Arc::new(InMemoryApiKeyStore::new());
            let mut probe = String::new();
            for i in 0..STORED_KEYS {
                let key = issuer
                    .issue_into(&*store, NewApiKey::new(format!("owner-{}", i % 1000)))
                    .unwrap();
                if i == STORED_KEYS / 2 {
                    probe = key.expose_secret().to_owned();
                }
            }
            let verifier = ApiKeyVerifier::new(format, store);
            for _ in 0..n {
                black_box(verifier.verify(black_box(&probe)).unwrap());
            }
        }
        "api_key_floor" => {
            // One SHA-256 of what a stored digest covers (55 bytes: one
            // block) and one lookup in a map of the same size.
            let mut floor: HashMap<String, [u8; 32]> = HashMap::with_capacity(STORED_KEYS);
            for i in 0..STORED_KEYS {
                floor.insert(format!("{i:012}"), [0u8; 32]);
            }
            let id = format!("{:012}", STORED_KEYS / 2);
            let covered = "acme_live_".to_owned() + &"x".repeat(45);
            for _ in 0..n {
                let d = digest::digest(&digest::SHA256, black_box(covered.as_bytes()));
                black_box(
                    floor
                        .get(black_box(id.as_str()))
                        .map(|s| s[0] == d.as_ref()[0]),
                );
            }
        }
        other => panic!("unknown operation {other}; one of {OPS:?}"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [op, n] if !op.starts_with('-') => run(op, n.parse().expect("N")),
        // `cargo test --benches` (and `cargo bench`) pass flags: smoke.
        _ => {
            for op in OPS {
                run(op, 1);
            }
        }
    }
}
