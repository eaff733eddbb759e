//! The `verify` example as a command-line program: its whole contract
//! (arguments, exit status, stdout and stderr) driven through a subprocess.
//!
//! The binary is built once with `cargo build --example verify
//! --message-format=json` and run from the path Cargo reports, so the tests
//! follow `CARGO_TARGET_DIR` and any other target directory setting. It is
//! built with the default features, so with the ring backend, whatever
//! features the tests themselves run with. Tokens
//! are minted here with the library on a fixed clock and checked with
//! `--now`; the RFC 7515 Appendix A.1 to A.3 vectors come from
//! `tests/data/rfc/` (each such test is skipped, with a printed note, only
//! when its data file is absent).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use time::OffsetDateTime;
use tokengate::testing::b64_encode;
use tokengate::testing::{attacker_hmac_key, clock_at};
use tokengate::{Algorithm, JwkSet, SigningKey, TokenBuilder};

/// The instant the test tokens are minted at.
const NOW: i64 = 1_700_000_000;
/// Their `exp`: the builder's default lifetime of 15 minutes.
const EXP: i64 = NOW + 900;
/// An HMAC key for tests (32 bytes, not a real secret anywhere).
const HMAC_KEY: [u8; 32] = *b"verify-cli-test-key-32-bytes-ok!";

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The path of the built `verify` example, built on first use.
fn verify_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "--example",
                "verify",
                "--message-format=json",
                "--quiet",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run cargo build");
        assert!(out.status.success(), "cargo build --example verify failed");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let exe = stdout
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|msg| msg["reason"] == "compiler-artifact")
            .filter(|msg| msg["target"]["name"] == "verify")
            .filter(|msg| {
                msg["target"]["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "example"))
            })
            .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
            .expect("cargo reported no executable for the verify example");
        assert!(exe.is_file(), "{} does not exist", exe.display());
        exe
    })
}

/// What one run of the program did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts success and returns the claims printed on stdout, checking
    /// they are one line of JSON.
    fn claims(&self) -> serde_json::Map<String, Value> {
        assert_eq!(self.code, 0, "expected success, got {self:?}");
        assert!(self.stderr.is_empty(), "stderr on success: {self:?}");
        let line = self
            .stdout
            .strip_suffix('\n')
            .expect("stdout ends with a newline");
        assert!(!line.contains('\n'), "claims span several lines: {self:?}");
        match serde_json::from_str(line).expect("stdout is JSON") {
            Value::Object(map) => map,
            other => panic!("claims are not an object: {other}"),
        }
    }

    /// Asserts a rejection (exit 1) of the given kind, with nothing on
    /// stdout.
    fn rejected(&self, kind: &str) {
        assert_eq!(self.code, 1, "expected rejection `{kind}`, got {self:?}");
        assert!(self.stdout.is_empty(), "stdout on rejection: {self:?}");
        let first = self.stderr.lines().next().unwrap_or_default();
        assert!(
            first == format!("error: {kind}") || first.starts_with(&format!("error: {kind}: ")),
            "expected `error: {kind}`, got {self:?}"
        );
    }

    /// Asserts a usage error or an unreadable key file (exit 2) whose
    /// message mentions `needle`, with nothing on stdout.
    fn usage_error(&self, needle: &str) {
        assert_eq!(self.code, 2, "expected exit 2, got {self:?}");
        assert!(self.stdout.is_empty(), "stdout on usage error: {self:?}");
        assert!(
            self.stderr.contains(needle),
            "stderr does not mention `{needle}`: {self:?}"
        );
        assert!(!self.stderr.starts_with("error: "), "{self:?}");
    }
}

fn run_with_stdin(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(verify_bin())
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start verify");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().expect("verify ended by a signal"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with_stdin(args, None)
}

/// A file under the system temp directory, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "tokengate-verify-cli-{}-{n}-{name}",
            std::process::id()
        ));
        std::fs::write(&path, contents).unwrap();
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn hmac_key(kid: &str) -> SigningKey {
    SigningKey::hmac(Algorithm::HS256, &HMAC_KEY)
        .unwrap()
        .with_key_id(kid)
}

/// The oct JWK of [`HMAC_KEY`], with `alg` and `kid`.
fn hmac_jwk_file(kid: &str) -> TempFile {
    let jwk = json!({"kty": "oct", "alg": "HS256", "kid": kid, "k": b64_encode(HMAC_KEY)});
    TempFile::new("hs256.jwk.json", &jwk.to_string())
}

fn public_jwk_file(key: &SigningKey) -> TempFile {
    let jwk = key.verifying_key().to_jwk().unwrap().to_json();
    TempFile::new("public.jwk.json", &jwk)
}

/// A builder on the fixed clock at [`NOW`].
fn builder() -> TokenBuilder {
    TokenBuilder::new().clock(clock_at(NOW))
}

fn now_arg(t: i64) -> String {
    t.to_string()
}

/// Replaces the middle character of the payload segment (still valid
/// base64url, different bytes).
fn tamper_payload(token: &str) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let payload = &mut parts[1];
    let mid = payload.len() / 2;
    let new = if &payload[mid..=mid] == "A" { "B" } else { "A" };
    payload.replace_range(mid..=mid, new);
    parts.join(".")
}

// ---------------------------------------------------------------------------
// RFC 7515 Appendix A.1
// ---------------------------------------------------------------------------

/// Reads an RFC vector from `tests/data/rfc/` (`jwk` as an object or a
/// JSON string, `token`) and writes its JWK to a temporary file, or
/// returns `None` with a printed note when the data file is not there.
/// A committed RFC vector: a missing file fails the test, never skips it.
fn rfc_vector(name: &str) -> (TempFile, String) {
    let path = format!("{}/tests/data/rfc/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path} is committed and must be readable: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let jwk = match &v["jwk"] {
        Value::String(s) => s.clone(),
        Value::Object(_) => v["jwk"].to_string(),
        other => panic!("unexpected `jwk` in {path}: {other}"),
    };
    let token = v["token"].as_str().expect("`token` string").to_owned();
    (TempFile::new(name, &jwk), token)
}

/// The claims of the RFC 7515 Appendix A examples.
fn assert_rfc7515_claims(claims: &serde_json::Map<String, Value>) {
    assert_eq!(claims["iss"], "joe");
    assert_eq!(claims["exp"], 1_300_819_380);
    assert_eq!(claims["http://example.com/is_root"], true);
    assert_eq!(claims.len(), 3);
}

#[test]
fn rfc7515_a1_hs256_vector_from_data_file() {
    let (jwk, token) = rfc_vector("rfc7515_a1_hs256.json");
    // The A.1 JWK is an oct key without "alg": the algorithm is named on
    // the command line, never taken from the token.
    let base = ["--jwk", jwk.path(), "--alg", "HS256", "--iss", "joe"];
    let ok = run(&[&base[..], &["--now", "1300819000", &token]].concat());
    assert_rfc7515_claims(&ok.claims());

    // Without --now the system clock is years past exp.
    run(&[&base[..], &[&token]].concat()).rejected("expired");

    // Wrong issuer.
    run(&[
        "--jwk",
        jwk.path(),
        "--alg",
        "HS256",
        "--iss",
        "jane",
        "--now",
        "1300819000",
        &token,
    ])
    .rejected("invalid_issuer");

    // Bound to an algorithm it cannot have, the key is no usable key.
    run(&[
        "--jwk",
        jwk.path(),
        "--alg",
        "RS256",
        "--now",
        "1300819000",
        &token,
    ])
    .rejected("invalid_key");

    // No --alg for a JWK without "alg": the program will not guess.
    run(&["--jwk", jwk.path(), "--now", "1300819000", &token]).usage_error("--alg");

    // The tampered twin.
    run(&[&base[..], &["--now", "1300819000", &tamper_payload(&token)]].concat())
        .rejected("invalid_signature");
}

#[test]
fn rfc7515_a2_rs256_private_jwk_without_alg() {
    let (jwk, token) = rfc_vector("rfc7515_a2_rs256.json");
    // A private RSA JWK without "alg": only n and e are used, RS256 comes
    // from --alg.
    let base = ["--jwk", jwk.path(), "--now", "1300819000"];
    assert_rfc7515_claims(&run(&[&base[..], &["--alg", "RS256", &token]].concat()).claims());
    run(&[&base[..], &[&token]].concat()).usage_error("--alg");
    // Bound to PS256, the key does not take an RS256 token.
    run(&[&base[..], &["--alg", "PS256", &token]].concat()).rejected("algorithm_not_allowed");
    run(&[&base[..], &["--alg", "RS256", &tamper_payload(&token)]].concat())
        .rejected("invalid_signature");
}

#[test]
fn rfc7515_a3_es256_private_jwk_infers_alg_from_curve() {
    let (jwk, token) = rfc_vector("rfc7515_a3_es256.json");
    let base = ["--jwk", jwk.path(), "--now", "1300819000"];
    assert_rfc7515_claims(&run(&[&base[..], &[&token]].concat()).claims());
    assert_rfc7515_claims(&run(&[&base[..], &["--alg", "ES256", &token]].concat()).claims());
    run(&[&base[..], &["--alg", "ES384", &token]].concat()).rejected("invalid_key");
    run(&[&base[..], &[&tamper_payload(&token)]].concat()).rejected("invalid_signature");
}

// ---------------------------------------------------------------------------
// Success and the claims output
// ---------------------------------------------------------------------------

#[test]
fn verified_claims_are_printed_as_one_json_line() {
    let token = builder()
        .issuer("https://auth.example.com")
        .subject("user-42")
        .scope("orders:read")
        .jwt_id("id-1")
        .custom(json!({"tenant": "acme", "roles": ["a", "b"], "nested": {"x": 1}}))
        .sign(&hmac_key("hs-1"))
        .unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let claims = run(&["--jwk", jwk.path(), "--now", &now_arg(NOW), &token]).claims();
    let expected = json!({
        "iss": "https://auth.example.com",
        "sub": "user-42",
        "scope": "orders:read",
        "jti": "id-1",
        "iat": NOW,
        "exp": EXP,
        "tenant": "acme",
        "roles": ["a", "b"],
        "nested": {"x": 1},
    });
    assert_eq!(Value::Object(claims), expected);
}

#[test]
fn tampered_payload_is_rejected_without_echoing_the_token() {
    let token = builder()
        .subject("user-42")
        .sign(&hmac_key("hs-1"))
        .unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let tampered = tamper_payload(&token);
    let r = run(&["--jwk", jwk.path(), "--now", &now_arg(NOW), &tampered]);
    r.rejected("invalid_signature");
    for segment in tampered.split('.') {
        assert!(!r.stderr.contains(segment), "{r:?}");
    }
    // The untampered token passes, so the key file and flags were right.
    run(&["--jwk", jwk.path(), "--now", &now_arg(NOW), &token]).claims();
}

#[test]
fn garbage_tokens_are_malformed() {
    let jwk = hmac_jwk_file("hs-1");
    for garbage in [
        "garbage",
        "a.b",
        "a.b.c",
        "e30.e30.",
        "eyJ!.e30.AAAA",
        "...",
    ] {
        run(&["--jwk", jwk.path(), "--now", &now_arg(NOW), garbage]).rejected("malformed");
    }
}

#[test]
fn alg_none_is_an_unsupported_algorithm() {
    let header = b64_encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64_encode(format!(r#"{{"sub":"admin","exp":{EXP}}}"#));
    let token = format!("{header}.{payload}.AAAA");
    let jwk = hmac_jwk_file("hs-1");
    run(&["--jwk", jwk.path(), "--now", &now_arg(NOW), &token]).rejected("unsupported_algorithm");
}

// ---------------------------------------------------------------------------
// Time: --now, --leeway, --no-exp
// ---------------------------------------------------------------------------

#[test]
fn system_clock_is_used_without_now() {
    let token = builder().sign(&hmac_key("hs-1")).unwrap();
    let jwk = hmac_jwk_file("hs-1");
    // Minted in 2023 with a 15-minute lifetime: long expired by the system
    // clock.
    run(&["--jwk", jwk.path(), &token]).rejected("expired");
    // A token minted now by the system clock passes without --now.
    let fresh = TokenBuilder::new().sign(&hmac_key("hs-1")).unwrap();
    run(&["--jwk", jwk.path(), &fresh]).claims();
}

#[test]
fn expiry_honours_the_default_and_given_leeway() {
    let token = builder().sign(&hmac_key("hs-1")).unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let at = |now: i64, extra: &[&str]| {
        let now = now_arg(now);
        let mut args = vec!["--jwk", jwk.path(), "--now", &now];
        args.extend_from_slice(extra);
        args.push(&token);
        run(&args)
    };
    // Default leeway: 30 seconds.
    at(EXP + 29, &[]).claims();
    at(EXP + 30, &[]).rejected("expired");
    // No leeway.
    at(EXP - 1, &["--leeway", "0"]).claims();
    at(EXP, &["--leeway", "0"]).rejected("expired");
    // A wider leeway.
    at(EXP + 119, &["--leeway", "120"]).claims();
    at(EXP + 120, &["--leeway", "120"]).rejected("expired");
}

#[test]
fn not_before_is_checked_against_now() {
    let nbf = OffsetDateTime::from_unix_timestamp(NOW + 300).unwrap();
    let token = builder().not_before(nbf).sign(&hmac_key("hs-1")).unwrap();
    let jwk = hmac_jwk_file("hs-1");
    run(&["--jwk", jwk.path(), "--now", &now_arg(NOW), &token]).rejected("not_yet_valid");
    run(&["--jwk", jwk.path(), "--now", &now_arg(NOW + 300), &token]).claims();
}

#[test]
fn no_exp_accepts_a_token_without_exp() {
    let token = builder().no_expiry().sign(&hmac_key("hs-1")).unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let now = now_arg(NOW + 10 * 365 * 86_400);
    run(&["--jwk", jwk.path(), "--now", &now, &token]).rejected("missing_claim");
    let claims = run(&["--jwk", jwk.path(), "--now", &now, "--no-exp", &token]).claims();
    assert!(!claims.contains_key("exp"));
    assert_eq!(claims["iat"], NOW);
    // --no-exp does not switch off a present exp.
    let expiring = builder().sign(&hmac_key("hs-1")).unwrap();
    run(&["--jwk", jwk.path(), "--now", &now, "--no-exp", &expiring]).rejected("expired");
}

// ---------------------------------------------------------------------------
// Issuer, audience, type
// ---------------------------------------------------------------------------

#[test]
fn issuer_is_checked_when_given() {
    let token = builder()
        .issuer("https://auth.example.com")
        .sign(&hmac_key("hs-1"))
        .unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let now = now_arg(NOW);
    let base = ["--jwk", jwk.path(), "--now", &now];
    run(&[&base[..], &["--iss", "https://evil.example.com", &token]].concat())
        .rejected("invalid_issuer");
    // Repeatable: one match is enough.
    run(&[
        &base[..],
        &[
            "--iss",
            "https://other.example.com",
            "--iss",
            "https://auth.example.com",
            &token,
        ],
    ]
    .concat())
    .claims();
    // Without --iss any issuer passes.
    run(&[&base[..], &[&token]].concat()).claims();
    // With --iss, a token without iss does not pass.
    let anonymous = builder().sign(&hmac_key("hs-1")).unwrap();
    run(&[
        &base[..],
        &["--iss", "https://auth.example.com", &anonymous],
    ]
    .concat())
    .rejected("missing_claim");
}

#[test]
fn audience_is_checked_and_required_to_be_absent_without_aud() {
    let token = builder()
        .audience("https://api.example.com")
        .sign(&hmac_key("hs-1"))
        .unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let now = now_arg(NOW);
    let base = ["--jwk", jwk.path(), "--now", &now];
    // A token for someone does not pass where no audience is expected.
    run(&[&base[..], &[&token]].concat()).rejected("invalid_audience");
    let claims = run(&[&base[..], &["--aud", "https://api.example.com", &token]].concat()).claims();
    assert_eq!(claims["aud"], "https://api.example.com");
    run(&[&base[..], &["--aud", "https://billing.example.com", &token]].concat())
        .rejected("invalid_audience");
    run(&[
        &base[..],
        &[
            "--aud",
            "https://billing.example.com",
            "--aud",
            "https://api.example.com",
            &token,
        ],
    ]
    .concat())
    .claims();
    // A token with several audiences, one of them ours.
    let multi = builder()
        .audiences(["https://a.example.com", "https://api.example.com"])
        .sign(&hmac_key("hs-1"))
        .unwrap();
    run(&[&base[..], &["--aud", "https://api.example.com", &multi]].concat()).claims();
    // With --aud, a token without aud does not pass.
    let no_aud = builder().sign(&hmac_key("hs-1")).unwrap();
    run(&[&base[..], &["--aud", "https://api.example.com", &no_aud]].concat())
        .rejected("missing_claim");
    run(&[&base[..], &[&no_aud]].concat()).claims();
}

#[test]
fn typ_is_required_when_given() {
    let jwt = builder().sign(&hmac_key("hs-1")).unwrap();
    let set = builder()
        .typ("secevent+jwt")
        .sign(&hmac_key("hs-1"))
        .unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let now = now_arg(NOW);
    let base = ["--jwk", jwk.path(), "--now", &now];
    run(&[&base[..], &["--typ", "secevent+jwt", &jwt]].concat()).rejected("invalid_type");
    run(&[&base[..], &["--typ", "JWT", &set]].concat()).rejected("invalid_type");
    run(&[&base[..], &["--typ", "secevent+jwt", &set]].concat()).claims();
    // Media type comparison: case-insensitive, `application/` optional.
    run(&[&base[..], &["--typ", "application/SecEvent+JWT", &set]].concat()).claims();
    run(&[&base[..], &["--typ", "JWT", &jwt]].concat()).claims();
    // Without --typ any type passes.
    run(&[&base[..], &[&set]].concat()).claims();
}

// ---------------------------------------------------------------------------
// Standard input
// ---------------------------------------------------------------------------

#[test]
fn token_is_read_from_stdin_with_dash() {
    let token = builder()
        .subject("from-stdin")
        .sign(&hmac_key("hs-1"))
        .unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let now = now_arg(NOW);
    let args = ["--jwk", jwk.path(), "--now", &now, "-"];
    for input in [token.clone(), format!("{token}\n"), format!("{token}\r\n")] {
        let claims = run_with_stdin(&args, Some(input.as_bytes())).claims();
        assert_eq!(claims["sub"], "from-stdin");
    }
    // Only one line ending is trimmed, nothing else.
    run_with_stdin(&args, Some(format!(" {token}\n").as_bytes())).rejected("malformed");
    run_with_stdin(&args, Some(tamper_payload(&token).as_bytes())).rejected("invalid_signature");
    run_with_stdin(&args, Some(b"")).rejected("malformed");
}

// ---------------------------------------------------------------------------
// Keys and algorithms
// ---------------------------------------------------------------------------

#[test]
fn public_jwks_of_each_generated_type_verify() {
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let key = SigningKey::generate(alg).unwrap();
        let token = builder().subject("s").sign(&key).unwrap();
        let jwk = public_jwk_file(&key);
        run(&["--jwk", jwk.path(), "--now", &now_arg(NOW), &token]).claims();
        let other = SigningKey::generate(alg).unwrap();
        let forged = builder().subject("s").sign(&other).unwrap();
        // Another key of the same type, with another kid.
        run(&["--jwk", jwk.path(), "--now", &now_arg(NOW), &forged]).rejected("unknown_key");
    }
}

#[test]
fn private_jwk_file_is_accepted_for_verification() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/keys");
    let private = format!("{dir}/ec_p256_private.jwk.json");
    let private_json = std::fs::read_to_string(&private)
        .unwrap_or_else(|e| panic!("{private} is committed and must be readable: {e}"));
    let signer = SigningKey::from_jwk(&private_json, None).unwrap();
    let token = builder().subject("s").sign(&signer).unwrap();
    run(&["--jwk", &private, "--now", &now_arg(NOW), &token]).claims();
    run(&[
        "--jwk",
        &private,
        "--now",
        &now_arg(NOW),
        &tamper_payload(&token),
    ])
    .rejected("invalid_signature");
}

#[test]
fn jwk_set_with_two_keys_selects_by_kid() {
    let k1 = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k1");
    let k2 = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k2");
    let set: JwkSet = [&k1, &k2]
        .into_iter()
        .map(|k| k.verifying_key().to_jwk().unwrap())
        .collect();
    let file = TempFile::new("two-keys.jwks.json", &set.to_json());
    let now = now_arg(NOW);
    let base = ["--jwk", file.path(), "--now", &now];

    for (key, sub) in [(&k1, "one"), (&k2, "two")] {
        let token = builder().subject(sub).sign(key).unwrap();
        let claims = run(&[&base[..], &[&token]].concat()).claims();
        assert_eq!(claims["sub"], sub);
    }
    // A stranger's key claiming kid k1: the signature fails under k1.
    let impostor = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k1");
    let forged = builder().subject("one").sign(&impostor).unwrap();
    run(&[&base[..], &[&forged]].concat()).rejected("invalid_signature");
    // A kid the set does not hold.
    let k3 = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("k3");
    let unknown = builder().sign(&k3).unwrap();
    run(&[&base[..], &[&unknown]].concat()).rejected("unknown_key");
}

#[test]
fn jwk_set_mixing_algorithms_honours_alg_narrowing() {
    let ec = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("ec");
    let ed = SigningKey::generate(Algorithm::EdDSA)
        .unwrap()
        .with_key_id("ed");
    let set: JwkSet = [&ec, &ed]
        .into_iter()
        .map(|k| k.verifying_key().to_jwk().unwrap())
        .collect();
    let file = TempFile::new("mixed.jwks.json", &set.to_json());
    let now = now_arg(NOW);
    let base = ["--jwk", file.path(), "--now", &now];
    let ec_token = builder().sign(&ec).unwrap();
    let ed_token = builder().sign(&ed).unwrap();
    run(&[&base[..], &[&ec_token]].concat()).claims();
    run(&[&base[..], &[&ed_token]].concat()).claims();
    run(&[&base[..], &["--alg", "EdDSA", &ec_token]].concat()).rejected("algorithm_not_allowed");
    run(&[&base[..], &["--alg", "EdDSA", &ed_token]].concat()).claims();
    run(&[&base[..], &["--alg", "ES256", "--alg", "EdDSA", &ec_token]].concat()).claims();
}

#[test]
fn oct_jwk_without_alg_needs_exactly_one_alg_flag() {
    let jwk = json!({"kty": "oct", "k": b64_encode(HMAC_KEY)}).to_string();
    let file = TempFile::new("oct-no-alg.jwk.json", &jwk);
    // Without a kid in the JWK, the key id is its thumbprint; sign with the
    // same.
    let key = SigningKey::hmac(Algorithm::HS256, &HMAC_KEY).unwrap();
    let token = builder().sign(&key).unwrap();
    let now = now_arg(NOW);
    let base = ["--jwk", file.path(), "--now", &now];
    run(&[&base[..], &[&token]].concat()).usage_error("--alg");
    run(&[&base[..], &["--alg", "HS256", &token]].concat()).claims();
    run(&[&base[..], &["--alg", "HS256", "--alg", "HS384", &token]].concat()).usage_error("--alg");
    // Bound to HS384, the 32-byte secret is too short (RFC 7518 §3.2).
    let r = run(&[&base[..], &["--alg", "HS384", &token]].concat());
    r.rejected("invalid_key");
    assert!(r.stderr.contains("shorter than 48 bytes"), "{r:?}");
    // A wrong family for the key type.
    run(&[&base[..], &["--alg", "RS256", &token]].concat()).rejected("invalid_key");
}

/// The file's keys cannot serve an `--alg` none of them has: the key file
/// is unusable as asked, like a key that cannot be built for it.
#[test]
fn alg_naming_no_key_algorithm_is_invalid_key() {
    let token = builder().sign(&hmac_key("hs-1")).unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let now = now_arg(NOW);
    let base = ["--jwk", jwk.path(), "--now", &now];
    for alg in ["RS256", "HS384", "ES256", "EdDSA"] {
        let r = run(&[&base[..], &["--alg", alg, &token]].concat());
        r.rejected("invalid_key");
        assert!(r.stderr.contains(jwk.path()), "{r:?}");
        assert!(r.stderr.contains(&format!("--alg {alg}")), "{r:?}");
    }
    let r = run(&[&base[..], &["--alg", "HS256", "--alg", "RS256", &token]].concat());
    r.rejected("invalid_key");
    assert!(r.stderr.contains("--alg RS256"), "{r:?}");
    run(&[&base[..], &["--alg", "HS256", &token]].concat()).claims();
}

#[test]
fn hmac_token_keyed_with_a_public_jwk_is_refused() {
    // The classic key confusion: sign HS256 with the public key's bytes as
    // the secret and the public key's kid, and hope the verifier takes the
    // algorithm from the header.
    let ec = SigningKey::generate(Algorithm::ES256)
        .unwrap()
        .with_key_id("ec");
    let jwk_json = ec.verifying_key().to_jwk().unwrap().to_json();
    let file = TempFile::new("ec-public.jwk.json", &jwk_json);
    let confused = attacker_hmac_key(Algorithm::HS256, jwk_json.as_bytes())
        .unwrap()
        .with_key_id("ec");
    let forged = builder().subject("admin").sign(&confused).unwrap();
    let now = now_arg(NOW);
    run(&["--jwk", file.path(), "--now", &now, &forged]).rejected("algorithm_not_allowed");
    // Asking for HS256 does not help: no key has it.
    run(&[
        "--jwk",
        file.path(),
        "--now",
        &now,
        "--alg",
        "HS256",
        &forged,
    ])
    .rejected("invalid_key");
    // The genuine token passes.
    let genuine = builder().subject("admin").sign(&ec).unwrap();
    run(&["--jwk", file.path(), "--now", &now, &genuine]).claims();
}

// ---------------------------------------------------------------------------
// Key files: unreadable is exit 2, unusable is `error: invalid_key`, exit 1
// ---------------------------------------------------------------------------

/// Runs the program on a key file holding `contents` with `extra` options
/// and a token it cannot verify anyway, and checks the outcome is
/// `error: invalid_key: FILE: ...` (exit 1) whose detail mentions `needle`.
#[track_caller]
fn assert_invalid_key(name: &str, contents: &str, extra: &[&str], needle: &str) {
    let token = builder().sign(&hmac_key("hs-1")).unwrap();
    let file = TempFile::new(name, contents);
    let now = now_arg(NOW);
    let mut args = vec!["--jwk", file.path(), "--now", &now];
    args.extend_from_slice(extra);
    args.push(&token);
    let r = run(&args);
    r.rejected("invalid_key");
    let first = r.stderr.lines().next().unwrap_or_default();
    assert!(first.contains(file.path()), "{name}: names the file: {r:?}");
    assert!(first.contains(needle), "{name}: mentions `{needle}`: {r:?}");
}

#[test]
fn unreadable_key_files_exit_2() {
    let token = builder().sign(&hmac_key("hs-1")).unwrap();
    let now = now_arg(NOW);
    let missing = std::env::temp_dir().join(format!(
        "tokengate-verify-cli-{}-does-not-exist.json",
        std::process::id()
    ));
    let missing = missing.to_str().unwrap();
    run(&["--jwk", missing, "--now", &now, &token]).usage_error(missing);
    // A directory cannot be read as a file either.
    let dir = std::env::temp_dir();
    let dir = dir.to_str().unwrap();
    run(&["--jwk", dir, "--now", &now, &token]).usage_error(dir);
}

#[test]
fn key_file_that_is_not_json_is_invalid_key() {
    assert_invalid_key("not-json.json", "this is not json", &[], "not JSON");
    assert_invalid_key("binary.der", "\u{0}\u{1}\u{2}", &[], "not JSON");
}

#[test]
fn one_byte_oct_key_is_invalid_key() {
    let jwk = json!({"kty": "oct", "alg": "HS256", "kid": "hs-1", "k": b64_encode([7u8])});
    assert_invalid_key(
        "one-byte.json",
        &jwk.to_string(),
        &[],
        "shorter than 32 bytes",
    );
}

#[test]
fn ec_point_off_the_curve_is_invalid_key() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let mut jwk: Value =
        serde_json::from_str(&key.verifying_key().to_jwk().unwrap().to_json()).unwrap();
    let mut y = tokengate::testing::b64_decode(jwk["y"].as_str().unwrap().as_bytes()).unwrap();
    y[31] ^= 1;
    jwk["y"] = b64_encode(&y).into();
    assert_invalid_key("off-curve.json", &jwk.to_string(), &[], "not on the curve");
}

#[test]
fn rsa_key_without_e_is_invalid_key() {
    let (jwk, _) = rfc_vector("rfc7515_a2_rs256.json");
    let mut jwk: Value =
        serde_json::from_str(&std::fs::read_to_string(jwk.path()).unwrap()).unwrap();
    jwk.as_object_mut().unwrap().remove("e");
    assert_invalid_key("no-e.json", &jwk.to_string(), &["--alg", "RS256"], "`e`");
}

#[test]
fn empty_jwk_set_is_invalid_key() {
    assert_invalid_key("empty.json", r#"{"keys":[]}"#, &[], "no key");
    // Nothing usable in it is the same: here, a secret in a public set.
    let set = json!({"keys": [{"kty": "oct", "alg": "HS256", "k": b64_encode(HMAC_KEY)}]});
    assert_invalid_key(
        "secret-set.json",
        &set.to_string(),
        &[],
        "no usable signature key",
    );
}

#[test]
fn p521_key_on_the_ring_backend_is_invalid_key() {
    // The harness builds the program with the default features, so with
    // ring, which has no P-521. The key is RFC 7515 A.4's.
    let path = format!(
        "{}/tests/data/rfc/rfc7515_a4_es512.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path} is committed and must be readable: {e}"));
    let v: Value = serde_json::from_str(&text).unwrap();
    let public = v["public_jwk"].clone();
    assert_invalid_key("p521.json", &public.to_string(), &[], "unsupported");
    let mut with_alg = public;
    with_alg["alg"] = "ES512".into();
    assert_invalid_key("p521-es512.json", &with_alg.to_string(), &[], "unsupported");
    let set = json!({ "keys": [with_alg] }).to_string();
    assert_invalid_key("p521-set.json", &set, &[], "unsupported");
}

#[test]
fn jwk_whose_use_or_key_ops_forbid_verification_is_invalid_key() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwk: Value =
        serde_json::from_str(&key.verifying_key().to_jwk().unwrap().to_json()).unwrap();
    let mut enc = jwk.clone();
    enc["use"] = "enc".into();
    assert_invalid_key("use-enc.json", &enc.to_string(), &[], "`use`");
    let mut sign_only = jwk.clone();
    sign_only.as_object_mut().unwrap().remove("use");
    sign_only["key_ops"] = json!(["sign"]);
    assert_invalid_key(
        "key-ops-sign.json",
        &sign_only.to_string(),
        &[],
        "`key_ops`",
    );
    let set = json!({ "keys": [enc, sign_only] }).to_string();
    assert_invalid_key(
        "set-not-for-verification.json",
        &set,
        &[],
        "not a key for verifying",
    );
}

#[test]
fn pem_key_under_a_disallowed_alg_is_invalid_key() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/keys");
    let pem = std::fs::read_to_string(format!("{dir}/ec_p256_spki.pem"))
        .unwrap_or_else(|e| panic!("the committed PEM fixture must be readable: {e}"));
    let private = std::fs::read_to_string(format!("{dir}/ec_p256_private.jwk.json")).unwrap();
    let signer = SigningKey::from_jwk(&private, None).unwrap();
    let token = builder().subject("pem").sign(&signer).unwrap();
    let file = TempFile::new("p256.pem", &pem);
    let now = now_arg(NOW);
    // Under its own algorithm the PEM key verifies, its key id being its
    // thumbprint (this crate's default, which the signer used too).
    let claims = run(&[
        "--jwk",
        file.path(),
        "--alg",
        "ES256",
        "--now",
        &now,
        &token,
    ])
    .claims();
    assert_eq!(claims["sub"], "pem");
    // Under another algorithm it is no usable key.
    for alg in ["ES384", "RS256", "HS256", "EdDSA"] {
        assert_invalid_key("p256.pem", &pem, &["--alg", alg], "does not match");
    }
    // Without exactly one --alg, the command line is incomplete.
    run(&["--jwk", file.path(), "--now", &now, &token]).usage_error("--alg");
}

#[test]
fn unusable_key_files_are_invalid_key() {
    let k = b64_encode(HMAC_KEY);
    let cases = [
        ("array", "[1,2,3]".to_owned(), "not a JWK"),
        ("empty-object", "{}".to_owned(), "JWK"),
        (
            "alg-none",
            json!({"kty": "oct", "alg": "none", "k": k}).to_string(),
            "unsupported",
        ),
        (
            "alg-mismatch",
            json!({"kty": "oct", "alg": "RS256", "k": k}).to_string(),
            "does not match",
        ),
        (
            "short-secret",
            json!({"kty": "oct", "alg": "HS256", "k": b64_encode([7u8; 16])}).to_string(),
            "shorter than 32 bytes",
        ),
        (
            "use-enc",
            json!({"kty": "oct", "alg": "HS256", "use": "enc", "k": k}).to_string(),
            "`use`",
        ),
        (
            "set-of-foreign-keys",
            json!({"keys": [{"kty": "oct", "alg": "A128KW", "k": k}]}).to_string(),
            "no usable signature key",
        ),
        ("keys-not-array", r#"{"keys":{}}"#.to_owned(), "JWK Set"),
        (
            "duplicate-kid",
            json!({"keys": [
                {"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "d",
                 "x": "X3MMtM5DFHl8is7gd84licoaIoqMa9tl55SPv9LpgPg",
                 "y": "zHbTDL3kfFxILnLc0OnsVXSdbLz7YSWDCSc4saNRmkk"},
                {"kty": "EC", "crv": "P-256", "alg": "ES256", "kid": "d",
                 "x": "X3MMtM5DFHl8is7gd84licoaIoqMa9tl55SPv9LpgPg",
                 "y": "zHbTDL3kfFxILnLc0OnsVXSdbLz7YSWDCSc4saNRmkk"},
            ]})
            .to_string(),
            "same `kid`",
        ),
        (
            "rsa-set-without-alg",
            json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]}).to_string(),
            "--alg",
        ),
    ];
    for (name, contents, needle) in cases {
        assert_invalid_key(&format!("{name}.json"), &contents, &[], needle);
    }
}

// ---------------------------------------------------------------------------
// Usage errors: exit 2; --help: exit 0
// ---------------------------------------------------------------------------

#[test]
fn usage_errors_exit_2() {
    let token = builder().sign(&hmac_key("hs-1")).unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let p = jwk.path();
    let now = now_arg(NOW);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--jwk", p, "--bogus", &token], "--bogus"),
        (vec!["--jwk", p, "-x", &token], "-x"),
        (vec!["--jwk", p, &token, "--now"], "--now"),
        (vec!["--jwk"], "--jwk"),
        (vec!["--jwk", p], "TOKEN"),
        (vec!["--now", &now, &token], "--jwk"),
        (vec![], "--jwk"),
        (vec!["--jwk", p, &token, &token], "TOKEN"),
        (vec!["--jwk", p, "--jwk", p, &token], "--jwk"),
        (vec!["--jwk", p, "--now", "soon", &token], "--now"),
        (vec!["--jwk", p, "--now", "1.5", &token], "--now"),
        (vec!["--jwk", p, "--leeway", "x", &token], "--leeway"),
        (vec!["--jwk", p, "--leeway", "-5", &token], "--leeway"),
        (vec!["--jwk", p, "--alg", "none", &token], "--alg"),
        (vec!["--jwk", p, "--alg", "hs256", &token], "--alg"),
        (vec!["--jwk", p, "--alg", "ES512", &token], "--alg"),
        (
            vec!["--jwk", p, "--typ", "JWT", "--typ", "JWT", &token],
            "--typ",
        ),
    ];
    for (args, needle) in cases {
        run(&args).usage_error(needle);
    }
    // The same valid invocation passes, so the cases above failed for the
    // reason given.
    run(&["--jwk", p, "--now", &now, &token]).claims();
}

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h"] {
        let r = run(&[flag]);
        assert_eq!(r.code, 0, "{r:?}");
        assert!(r.stdout.starts_with("usage: verify --jwk FILE"), "{r:?}");
        for option in [
            "--alg", "--iss", "--aud", "--typ", "--leeway", "--now", "--no-exp",
        ] {
            assert!(r.stdout.contains(option), "{option} undocumented: {r:?}");
        }
        assert!(r.stderr.is_empty());
    }
    // --help wins over other arguments, even invalid ones.
    let r = run(&["--jwk", "nowhere.json", "--help"]);
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn extreme_leeway_and_now_do_not_overflow() {
    let token = builder().sign(&hmac_key("hs-1")).unwrap();
    let jwk = hmac_jwk_file("hs-1");
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    let late = now_arg(EXP + 86_400);
    let base = ["--jwk", jwk.path()];
    // The largest leeway: exp + leeway saturates instead of wrapping into
    // the past.
    run(&[&base[..], &["--now", &late, "--leeway", &max, &token]].concat()).claims();
    // The clock at the ends of i64: expired at one end; at the other, the
    // token was issued in the future.
    run(&[&base[..], &["--now", &max, &token]].concat()).rejected("expired");
    run(&[&base[..], &["--now", &min, &token]].concat()).rejected("issued_in_future");
    // Out of i64 range is a usage error, not a wrap.
    run(&[&base[..], &["--now", "9223372036854775808", &token]].concat()).usage_error("--now");
}
