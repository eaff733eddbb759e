//! oxitoken's column of the comparison, in a process of its own (its
//! lockfile pins aws-lc-rs 1.14, see `Cargo.toml`). The main binary runs it
//! as a worker (`serve`, timed side by side with the other columns) and,
//! under callgrind, as a single cell (`cell`); see `../src/worker.rs` for
//! the protocol. Keys come from the committed test keys and the claims from
//! `../src/shared.rs`, the files the main binary reads.
//!
//! Validation: a `ValidationPipeline` over a `StaticKeyProvider` holding an
//! `AwsLcVerificationKey`, with the issuer, audience, expiration and
//! not-before validators (the checks every other column makes), into owned
//! header and claims structs. Signing: `encode` with the key pair, a
//! borrowed header and the claims with the clock read on every call.

#![allow(clippy::print_stdout)]

#[path = "../../src/alloc_count.rs"]
mod alloc_count;
#[path = "../../src/shared.rs"]
mod shared;
#[path = "../../src/worker.rs"]
mod worker;

use std::hint::black_box;

use aws_lc_rs::hmac::{HMAC_SHA256, Key as HmacKey};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED, ED25519,
    EcdsaKeyPair, ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use oxitoken::Algorithm;
use oxitoken::claims::{Aud, Exp, Iss, Nbf};
use oxitoken::crypto::aws_lc::AwsLcVerificationKey;
use oxitoken::encoding::encode;
use oxitoken::header::Alg;
use oxitoken::validation::{StaticKeyProvider, ValidationPipeline};
use serde::{Deserialize, Serialize};

use shared::{AUD, HMAC_KEY, ISS, JTI, Kind, LIFETIME_SECS, SCOPE, SUB, now_unix, pem};
use worker::WorkerRes;

#[global_allocator]
static ALLOC: alloc_count::Counting = alloc_count::Counting;

/// The column key of this binary's one column.
const COL: &str = "oxitoken";

/// The header, owned (oxitoken deserializes into `DeserializeOwned` types).
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
struct Header {
    alg: Algorithm,
    typ: Option<String>,
    kid: Option<String>,
}

impl Alg for Header {
    fn alg(&self) -> Algorithm {
        self.alg
    }
}

/// The header as minted: borrowed, as the other columns write it.
#[derive(Debug, Serialize)]
struct HeaderRef {
    alg: Algorithm,
    typ: &'static str,
    kid: String,
}

impl Alg for HeaderRef {
    fn alg(&self) -> Algorithm {
        self.alg
    }
}

/// The claims, typed and owned, as the floor and jsonwebtoken read them.
#[allow(dead_code)]
#[derive(Debug, Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    scope: String,
}

impl Iss for Claims {
    fn iss(&self) -> &str {
        &self.iss
    }
}

impl Aud for Claims {
    fn aud(&self) -> impl Iterator<Item = impl AsRef<str>> {
        std::iter::once(self.aud.as_str())
    }
}

impl Exp for Claims {
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Nbf for Claims {
    fn nbf(&self) -> i64 {
        self.nbf
    }
}

/// The claims as minted: borrowed, as the other columns write them.
#[derive(Debug, Serialize)]
struct ClaimsRef {
    iss: &'static str,
    sub: &'static str,
    aud: &'static str,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: &'static str,
    scope: &'static str,
}

/// DER bytes of the one block of a PEM file.
fn pem_der(pem: &str) -> WorkerRes<Vec<u8>> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    Ok(STANDARD.decode(body)?)
}

fn unspecified(e: impl std::fmt::Display) -> Box<dyn std::error::Error> {
    format!("aws-lc-rs: {e}").into()
}

fn oxi(e: impl std::fmt::Debug) -> Box<dyn std::error::Error> {
    format!("oxitoken: {e:?}").into()
}

/// The verification key of `alg`, from the committed public key (SPKI).
fn verification_key(alg: &str) -> WorkerRes<AwsLcVerificationKey> {
    let public = |params, pem: &str| -> WorkerRes<AwsLcVerificationKey> {
        ParsedPublicKey::new(params, pem_der(pem)?)
            .map_err(unspecified)?
            .try_into()
            .map_err(oxi)
    };
    match alg {
        "HS256" => HmacKey::new(HMAC_SHA256, &HMAC_KEY).try_into().map_err(oxi),
        "ES256" => public(&ECDSA_P256_SHA256_FIXED, pem::P256_PUB),
        "ES384" => public(&ECDSA_P384_SHA384_FIXED, pem::P384_PUB),
        "EdDSA" => public(&ED25519, pem::ED25519_PUB),
        "RS256" => public(&RSA_PKCS1_2048_8192_SHA256, pem::RSA_PUB),
        "PS256" => public(&RSA_PSS_2048_8192_SHA256, pem::RSA_PUB),
        other => Err(format!("no key for {other}").into()),
    }
}

type Pipeline = ValidationPipeline<Header, Claims, StaticKeyProvider<AwsLcVerificationKey>>;

/// The validation every column makes: signature, `iss`, `aud`, `exp`, `nbf`.
fn pipeline(alg: &str) -> WorkerRes<Pipeline> {
    Ok(
        Pipeline::builder(StaticKeyProvider::new(verification_key(alg)?))
            .with_issuer_validator(ISS)
            .with_audience_validator(AUD)
            .with_expiration_validator()
            .with_not_before_validator()
            .build(),
    )
}

/// One mint: the clock read, the claims serialized, signed, encoded.
fn mint<S: oxitoken::encoding::Signer>(key: &S, header: &HeaderRef, nbf: i64) -> Option<String> {
    let now = now_unix();
    let claims = ClaimsRef {
        iss: ISS,
        sub: SUB,
        aud: AUD,
        exp: now + LIFETIME_SECS,
        nbf,
        iat: now,
        jti: JTI,
        scope: SCOPE,
    };
    encode(key, header, &claims).ok()
}

/// The ES256 signing key, from the committed PKCS#8 key.
fn es256_key() -> WorkerRes<EcdsaKeyPair> {
    EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pem_der(pem::P256)?)
        .map_err(unspecified)
}

/// The cell of `args`' row, or `None` when oxitoken has none.
fn op(args: &worker::Args) -> WorkerRes<Option<Box<dyn FnMut() -> bool>>> {
    let Some(row) = shared::row_spec(&args.row) else {
        return Err(format!("unknown row {}", args.row).into());
    };
    if args.col != COL {
        return Ok(None);
    }
    Ok(Some(match row.kind {
        Kind::Verify | Kind::Reject => {
            let expect = row.kind == Kind::Verify;
            let p = pipeline(row.alg)?;
            let token = args.input.clone().into_bytes();
            Box::new(move || p.verify(black_box(&token)).is_ok_and(|(_, c)| c.sub == SUB) == expect)
        }
        Kind::Sign => {
            let nbf = args.nbf;
            let header = |alg| HeaderRef {
                alg,
                typ: "JWT",
                kid: shared::kid(row.alg),
            };
            match row.alg {
                "HS256" => {
                    let key = HmacKey::new(HMAC_SHA256, &HMAC_KEY);
                    let h = header(Algorithm::HS256);
                    Box::new(move || mint(&key, &h, nbf).is_some_and(|t| !t.is_empty()))
                }
                "ES256" => {
                    let key = es256_key()?;
                    let h = header(Algorithm::ES256);
                    Box::new(move || mint(&key, &h, nbf).is_some_and(|t| !t.is_empty()))
                }
                _ => return Ok(None),
            }
        }
    }))
}

/// `mint ROW NBF`: one token from the sign row ROW, printed, so that
/// run.sh can check that tokengate accepts oxitoken's tokens.
fn mint_one(row: &str, nbf: &str) -> WorkerRes<()> {
    let nbf: i64 = nbf.parse()?;
    let name = shared::row_spec(row)
        .filter(|r| r.kind == Kind::Sign)
        .ok_or_else(|| format!("{row} is not a sign row"))?
        .alg;
    let header = |alg| HeaderRef {
        alg,
        typ: "JWT",
        kid: shared::kid(name),
    };
    let token = match name {
        "HS256" => mint(
            &HmacKey::new(HMAC_SHA256, &HMAC_KEY),
            &header(Algorithm::HS256),
            nbf,
        ),
        _ => mint(&es256_key()?, &header(Algorithm::ES256), nbf),
    };
    println!("{}", token.ok_or("oxitoken could not encode")?);
    Ok(())
}

fn main() -> WorkerRes<()> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, row, nbf] = argv.as_slice()
        && mode == "mint"
    {
        return mint_one(row, nbf);
    }
    let Some(args) = worker::parse(&argv) else {
        return Err(
            "usage: tokengate-compare-oxitoken cell ROW oxitoken N NBF INPUT | serve ROW oxitoken NBF INPUT | mint ROW NBF"
                .into(),
        );
    };
    let args = args?;
    let op = op(&args)?;
    worker::run(&args, op)
}
