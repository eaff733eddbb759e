//! Verify a JWT from the command line and print its claims.
//!
//! ```text
//! cargo run --example verify -- --jwk FILE [--alg ALG]... [--iss ISS]... [--aud AUD]...
//!         [--typ TYP] [--leeway SECONDS] [--now UNIX_SECONDS] [--no-exp] TOKEN
//!
//!   --jwk FILE          a JWK, a JWK Set (`{"keys":[...]}`) or a PEM public
//!                       key; private members are ignored except a single
//!                       `oct` JWK's `k` (a set's `oct` members are secrets
//!                       in a public document and are left out)
//!   --alg ALG           accept only this algorithm (repeatable; default: the
//!                       algorithms of the keys). A PEM key, and an RSA or
//!                       oct JWK without "alg", need exactly one --alg, which
//!                       they are bound to (a PEM key's id is its RFC 7638
//!                       thumbprint). Naming an algorithm no key has leaves
//!                       no usable key (`error: invalid_key`).
//!   --iss ISS           accept this issuer (repeatable; default: any issuer)
//!   --aud AUD           accept this audience (repeatable; default: the token
//!                       must carry no "aud")
//!   --typ TYP           require this header "typ"
//!   --leeway SECONDS    clock leeway for exp/nbf/iat (default 30)
//!   --now UNIX_SECONDS  validate as of this instant instead of the system clock
//!   --no-exp            accept a token without "exp"
//!   -h, --help          print this help
//!   TOKEN               the compact JWT, or `-` to read it from standard input
//!
//! Exit status: 0 and the verified claims as one line of JSON on stdout;
//! 1 and `error: KIND: detail` on stderr when the token is rejected (KIND is
//! the stable `ErrorKind` name, such as `expired` or `invalid_signature`),
//! and `error: invalid_key: FILE: detail` when the key file reads fine but
//! gives no key usable with the options (not a JWK, a JWK Set or a PEM key;
//! a key too short, off its curve or missing members; an empty set; a key
//! whose `use` or `key_ops` forbid verification; an algorithm this build
//! does not implement, such as P-521 with ring; an `--alg` the key cannot
//! have); 2 for usage errors (unknown or malformed options, a missing or
//! ambiguous `--alg` for a key without "alg") and key files that cannot be
//! read.
//! ```
//!
//! Only what the library itself checks is trusted: the algorithm comes from
//! the key (or `--alg`), never from the token's header.

use std::fmt;
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Map, Value};
use tokengate::time::Duration;
use tokengate::{
    Algorithm, Error, ErrorKind, FixedClock, KeyError, KeySetStore, KeyStore, SkipReason,
    Validator, Verified, VerifyingKey,
};

const USAGE: &str = "\
usage: verify --jwk FILE [--alg ALG]... [--iss ISS]... [--aud AUD]...
              [--typ TYP] [--leeway SECONDS] [--now UNIX_SECONDS] [--no-exp] TOKEN

  --jwk FILE          a JWK, a JWK Set ({\"keys\":[...]}) or a PEM public key;
                      private members are ignored except a single oct JWK's
                      \"k\" (a set's oct members are left out)
  --alg ALG           accept only this algorithm (repeatable; default: the
                      algorithms of the keys). A PEM key, and an RSA or oct
                      JWK without \"alg\", need exactly one --alg. Naming an
                      algorithm no key has leaves no usable key.
  --iss ISS           accept this issuer (repeatable; default: any issuer)
  --aud AUD           accept this audience (repeatable; default: the token
                      must carry no \"aud\")
  --typ TYP           require this header \"typ\"
  --leeway SECONDS    clock leeway for exp/nbf/iat (default 30)
  --now UNIX_SECONDS  validate as of this instant instead of the system clock
  --no-exp            accept a token without \"exp\"
  -h, --help          print this help
  TOKEN               the compact JWT, or - to read it from standard input

exit status: 0 verified (claims as one JSON line on stdout),
             1 rejected (\"error: KIND: detail\" on stderr), or no usable
               key in the file (\"error: invalid_key: FILE: detail\"),
             2 usage error, or a key file that cannot be read";

/// A failure that ends the program before the token is judged.
#[derive(Debug)]
enum Fatal {
    /// The command line is wrong or the key file cannot be read: exit 2.
    Usage(String),
    /// The key file reads fine but gives no key usable with the options:
    /// `error: invalid_key: FILE: detail`, exit 1, like a rejection.
    InvalidKey(String),
}

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Usage(msg) | Self::InvalidKey(msg) => f.write_str(msg),
        }
    }
}

/// A usage error (exit 2).
fn fatal(msg: impl Into<String>) -> Fatal {
    Fatal::Usage(msg.into())
}

/// A key file that gives no usable key (exit 1, `error: invalid_key`).
fn unusable(path: &str, detail: impl fmt::Display) -> Fatal {
    Fatal::InvalidKey(format!("{path}: {detail}"))
}

/// A key import error as the detail of `error: invalid_key: FILE: ...`,
/// without repeating "invalid key".
fn key_unusable(path: &str, err: &Error) -> Fatal {
    match err {
        Error::InvalidKey(why) => unusable(path, why),
        other => unusable(path, other),
    }
}

/// The parsed command line.
#[derive(Debug, Default)]
struct Options {
    jwk: Option<String>,
    algs: Vec<Algorithm>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    typ: Option<String>,
    leeway: Option<i64>,
    now: Option<i64>,
    no_exp: bool,
    token: Option<String>,
}

enum Command {
    Help,
    Verify(Options),
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(args) {
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Verify(opts)) => opts,
        Err(e) => {
            eprintln!("verify: {e} (see --help)");
            return ExitCode::from(2);
        }
    };
    let (validator, token) = match prepare(&opts) {
        Ok(ready) => ready,
        Err(Fatal::InvalidKey(detail)) => {
            eprintln!("error: {}: {detail}", ErrorKind::InvalidKey.as_str());
            return ExitCode::from(1);
        }
        Err(e) => {
            eprintln!("verify: {e}");
            return ExitCode::from(2);
        }
    };
    match validator.validate_with::<Map<String, Value>>(&token, None) {
        Ok(verified) => print_claims(&verified),
        Err(err) => {
            eprintln!("error: {}: {err}", err.kind().as_str());
            ExitCode::from(1)
        }
    }
}

fn print_claims(verified: &Verified<Map<String, Value>>) -> ExitCode {
    // The custom map was deserialized from the whole payload, so it holds
    // every claim, registered ones included.
    match serde_json::to_string(verified.custom()) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("verify: cannot print the claims: {e}");
            ExitCode::from(2)
        }
    }
}

fn parse_args(args: Vec<String>) -> Result<Command, Fatal> {
    let mut opts = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| {
            args.next()
                .ok_or_else(|| fatal(format!("{flag} needs a value")))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(Command::Help),
            "--jwk" => set_once(&mut opts.jwk, "--jwk", value("--jwk")?)?,
            "--alg" => {
                let name = value("--alg")?;
                let alg = Algorithm::from_name(&name)
                    .map_err(|_| fatal(format!("--alg: unknown algorithm `{name}`")))?;
                if !opts.algs.contains(&alg) {
                    opts.algs.push(alg);
                }
            }
            "--iss" => opts.issuers.push(value("--iss")?),
            "--aud" => opts.audiences.push(value("--aud")?),
            "--typ" => set_once(&mut opts.typ, "--typ", value("--typ")?)?,
            "--leeway" => {
                let secs = number("--leeway", &value("--leeway")?)?;
                if secs < 0 {
                    return Err(fatal("--leeway: must not be negative"));
                }
                set_once(&mut opts.leeway, "--leeway", secs)?;
            }
            "--now" => {
                let now = number("--now", &value("--now")?)?;
                set_once(&mut opts.now, "--now", now)?;
            }
            "--no-exp" => opts.no_exp = true,
            "-" => set_once(&mut opts.token, "TOKEN", arg)?,
            flag if flag.starts_with('-') => {
                return Err(fatal(format!("unknown option `{flag}`")));
            }
            _ => set_once(&mut opts.token, "TOKEN", arg)?,
        }
    }
    if opts.jwk.is_none() {
        return Err(fatal("--jwk FILE is required"));
    }
    if opts.token.is_none() {
        return Err(fatal("TOKEN is required (or - to read it from stdin)"));
    }
    Ok(Command::Verify(opts))
}

fn set_once<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), Fatal> {
    if slot.is_some() {
        return Err(fatal(format!("{name} given more than once")));
    }
    *slot = Some(value);
    Ok(())
}

fn number(flag: &str, text: &str) -> Result<i64, Fatal> {
    text.parse()
        .map_err(|_| fatal(format!("{flag}: `{text}` is not a whole number of seconds")))
}

/// Loads the keys, builds the validator and reads the token.
fn prepare(opts: &Options) -> Result<(Validator, String), Fatal> {
    let path = opts.jwk.as_deref().unwrap_or_default();
    let store = load_keys(path, &opts.algs)?;

    // Checked here, not only by the builder, to name the flag and the file.
    let in_file = store.algorithms();
    if let Some(alg) = opts.algs.iter().find(|a| !in_file.contains(**a)) {
        let names: Vec<&str> = in_file.iter().map(Algorithm::as_str).collect();
        return Err(unusable(
            path,
            format!(
                "--alg {alg}: no key in the file has this algorithm (its keys: {})",
                names.join(", ")
            ),
        ));
    }

    let mut builder = Validator::builder(store).danger_accept_any_type();
    if !opts.algs.is_empty() {
        builder = builder.algorithms(opts.algs.iter().copied());
    }
    builder = if opts.issuers.is_empty() {
        builder.danger_accept_any_issuer()
    } else {
        builder.issuers(opts.issuers.iter().cloned())
    };
    builder = if opts.audiences.is_empty() {
        builder.expect_no_audience()
    } else {
        builder.audiences(opts.audiences.iter().cloned())
    };
    if let Some(typ) = &opts.typ {
        builder = builder.typ(typ.clone());
    }
    if let Some(secs) = opts.leeway {
        builder = builder.leeway(Duration::seconds(secs));
    }
    if let Some(now) = opts.now {
        builder = builder.clock(Arc::new(FixedClock::at_unix(now)));
    }
    if opts.no_exp {
        builder = builder.danger_allow_missing_exp();
    }
    let validator = builder.build().map_err(|e| fatal(e.to_string()))?;

    let token = match opts.token.as_deref() {
        Some("-") => read_stdin()?,
        Some(token) => token.to_owned(),
        None => return Err(fatal("TOKEN is required")),
    };
    Ok((validator, token))
}

/// Reads a JWK, a JWK Set or a PEM public key from `path` into a key
/// store. A file that cannot be read is a usage error; one that reads but
/// gives no usable key is [`Fatal::InvalidKey`].
fn load_keys(path: &str, algs: &[Algorithm]) -> Result<KeySetStore, Fatal> {
    let bytes = std::fs::read(path).map_err(|e| fatal(format!("{path}: {e}")))?;
    let Ok(text) = String::from_utf8(bytes) else {
        return Err(unusable(
            path,
            "not a JWK, a JWK Set or a PEM key (not UTF-8 text)",
        ));
    };
    // With exactly one --alg, a key without "alg" is bound to it.
    let one_alg = match algs {
        [one] => Some(*one),
        _ => None,
    };
    if text.trim_start().starts_with("-----BEGIN") {
        let Some(alg) = one_alg else {
            return Err(fatal(format!(
                "{path}: a PEM key needs exactly one --alg (the algorithm to bind it to)"
            )));
        };
        let key = VerifyingKey::from_pem(alg, &text).map_err(|e| key_unusable(path, &e))?;
        return KeySetStore::new([key]).map_err(|e| key_unusable(path, &e));
    }
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| unusable(path, format!("not JSON, nor a PEM key: {e}")))?;
    let Value::Object(members) = &json else {
        return Err(unusable(path, "not a JWK or a JWK Set"));
    };
    if members.contains_key("keys") {
        return KeySetStore::from_jwks(&text, one_alg).map_err(|e| match &e {
            Error::InvalidKey(why @ KeyError::NoUsableKey { skipped })
                if skipped
                    .iter()
                    .any(|s| s.reason == SkipReason::MissingAlgorithm) =>
            {
                unusable(
                    path,
                    format!("{why} (one --alg binds the keys without \"alg\")"),
                )
            }
            _ => key_unusable(path, &e),
        });
    }
    // RSA and oct keys carry no curve to tell their algorithm: without
    // "alg", the command line must name exactly one.
    let kty = members.get("kty").and_then(Value::as_str);
    let needs_alg = !members.contains_key("alg") && matches!(kty, Some("RSA" | "oct"));
    if needs_alg && one_alg.is_none() {
        return Err(fatal(format!(
            "{path}: a JWK without \"alg\" needs exactly one --alg"
        )));
    }
    let requested = if members.contains_key("alg") {
        None
    } else {
        one_alg
    };
    let key = VerifyingKey::from_jwk(&text, requested).map_err(|e| key_unusable(path, &e))?;
    KeySetStore::new([key]).map_err(|e| key_unusable(path, &e))
}

fn read_stdin() -> Result<String, Fatal> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(|e| fatal(format!("cannot read the token from stdin: {e}")))?;
    let token = input.strip_suffix('\n').unwrap_or(&input);
    let token = token.strip_suffix('\r').unwrap_or(token);
    Ok(token.to_owned())
}
