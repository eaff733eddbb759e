//! Verify a JWT from the command line and print its claims.
//!
//! ```text
//! cargo run --example verify -- --jwk FILE [--alg ALG]... [--iss ISS]... [--aud AUD]...
//!         [--typ TYP] [--leeway SECONDS] [--now UNIX_SECONDS] [--no-exp] TOKEN
//!
//!   --jwk FILE          a JWK or a JWK Set (`{"keys":[...]}`); private members
//!                       are ignored except an `oct` key's `k`
//!   --alg ALG           accept only this algorithm (repeatable; default: the
//!                       algorithms of the keys). An RSA or oct JWK without
//!                       "alg" needs exactly one --alg. Naming an algorithm no
//!                       key has is a configuration error (exit 2).
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
//! the stable `ErrorKind` name, such as `expired` or `invalid_signature`);
//! 2 for usage errors, unreadable or unusable key files and inconsistent
//! options.
//! ```
//!
//! Only what the library itself checks is trusted: the algorithm comes from
//! the key (or `--alg`), never from the token's header.

use std::fmt;
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;

use serde_json::{Map, Value};
use time::Duration;
use tokengate::{Algorithm, FixedClock, KeySetStore, KeyStore, Validator, Verified, VerifyingKey};

const USAGE: &str = "\
usage: verify --jwk FILE [--alg ALG]... [--iss ISS]... [--aud AUD]...
              [--typ TYP] [--leeway SECONDS] [--now UNIX_SECONDS] [--no-exp] TOKEN

  --jwk FILE          a JWK or a JWK Set ({\"keys\":[...]}); private members
                      are ignored except an oct key's \"k\"
  --alg ALG           accept only this algorithm (repeatable; default: the
                      algorithms of the keys). An RSA or oct JWK without
                      \"alg\" needs exactly one --alg. Naming an algorithm no
                      key has is a configuration error (exit 2).
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
             1 rejected (\"error: KIND: detail\" on stderr),
             2 usage or key file error";

/// A failure that ends the program before any token is judged: exit 2.
#[derive(Debug)]
struct Fatal(String);

impl fmt::Display for Fatal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn fatal(msg: impl Into<String>) -> Fatal {
    Fatal(msg.into())
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
        Err(e) => {
            eprintln!("verify: {e}");
            return ExitCode::from(2);
        }
    };
    match validator.validate::<Map<String, Value>>(&token) {
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
        return Err(fatal(format!(
            "{path}: --alg {alg}: no key in the file has this algorithm (its keys: {})",
            names.join(", ")
        )));
    }

    let mut builder = Validator::builder(store);
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

/// Reads a JWK or a JWK Set from `path` into a key store.
fn load_keys(path: &str, algs: &[Algorithm]) -> Result<KeySetStore, Fatal> {
    let text = std::fs::read_to_string(path).map_err(|e| fatal(format!("{path}: {e}")))?;
    let json: Value =
        serde_json::from_str(&text).map_err(|e| fatal(format!("{path}: not JSON: {e}")))?;
    let Value::Object(members) = &json else {
        return Err(fatal(format!("{path}: not a JWK or a JWK Set")));
    };
    // With exactly one --alg, a key without "alg" is bound to it.
    let assume = match algs {
        [one] => Some(*one),
        _ => None,
    };
    let keys = if members.contains_key("keys") {
        VerifyingKey::from_jwk_set(&text, assume)
            .map(|import| import.keys)
            .map_err(|e| fatal(format!("{path}: {e}")))?
    } else {
        let requested = if members.contains_key("alg") {
            None
        } else {
            assume
        };
        let key = VerifyingKey::from_jwk(&text, requested).map_err(|e| {
            if requested.is_none() && !members.contains_key("alg") {
                fatal(format!(
                    "{path}: {e} (a JWK without \"alg\" needs exactly one --alg)"
                ))
            } else {
                fatal(format!("{path}: {e}"))
            }
        })?;
        vec![key]
    };
    if keys.is_empty() {
        return Err(fatal(format!(
            "{path}: the JWK Set holds no usable signature key"
        )));
    }
    KeySetStore::new(keys).map_err(|e| fatal(format!("{path}: {e}")))
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
