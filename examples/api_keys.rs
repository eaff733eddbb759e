//! API keys in one sitting: issue a key, show it once, keep only its
//! digest, verify it, rotate it, revoke it, and watch each kind of bad key
//! get refused with a stable error kind.
//!
//! ```text
//! cargo run --example api_keys
//! ```

use std::error::Error as StdError;
use std::sync::Arc;

use tokengate::api_key::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyStore, ApiKeyVerifier, InMemoryApiKeyStore, IssuedApiKey,
    NewApiKey,
};
use tokengate::time::Duration;
use tokengate::{Clock, FixedClock, ScopeSet, SystemClock};

fn main() -> Result<(), Box<dyn StdError>> {
    // Keys look like `acme_live_<id><secret><checksum>`. The clock is fixed
    // (starting now) so the example can jump through the rotation's grace
    // period; a server would use the default system clock.
    let format = ApiKeyFormat::new("acme")?.environment("live")?;
    let store = Arc::new(InMemoryApiKeyStore::new());
    let clock = Arc::new(FixedClock::at_unix(SystemClock.now_unix()));
    let issuer = ApiKeyIssuer::new(format.clone()).with_clock(clock.clone());
    let verifier = ApiKeyVerifier::new(format.clone(), store.clone()).with_clock(clock.clone());

    let key = issuer.issue_into(
        &*store,
        NewApiKey::new("service-billing")
            .name("nightly export")
            .scopes(ScopeSet::parse("invoices:read invoices:export")?)
            .metadata("team", "payments"),
    )?;
    println!(
        " 1. issued {} (show this once, then forget it): {}",
        key.display_prefix(),
        key.expose_secret()
    );
    println!(
        " 2. secret scanners can find these keys with {}",
        format.regex()
    );
    let record = store.get(key.id())?.ok_or("the record was not stored")?;
    println!(
        " 3. the store keeps only a digest: {}",
        serde_json::to_string(&*record)?
    );

    let verified = verifier.verify(key.expose_secret())?;
    println!(
        " 4. verified: owner {}, scopes \"{}\", team {}",
        verified.owner(),
        verified.scopes(),
        verified.metadata().get("team").map_or("-", String::as_str)
    );

    let typo = one_character_off(key.expose_secret());
    println!(
        " 5. a typo: {} (checksum fails, is_well_formed = {}, so no store lookup)",
        expect(refused(&verifier, &typo)?, "malformed")?,
        expect(format.is_well_formed(&typo), false)?
    );

    let (stray, _never_stored) = issuer.issue(NewApiKey::new("service-billing"))?;
    println!(
        " 6. a valid checksum but an id nobody stored: {}",
        expect(
            refused(&verifier, stray.expose_secret())?,
            "unknown_credential"
        )?
    );

    // What someone who knows a key's public id can build without its
    // secret: that id, the secret of another key, and a correct checksum
    // (CRC32 of everything before it, as six base62 digits: it is no
    // secret). `tokengate::testing` builds it, behind the `testing` feature.
    let stray_secret = secret_of(&format, &stray).ok_or("not a key of this format")?;
    let forged = tokengate::testing::forge(&format, key.id(), stray_secret);
    println!(
        " 7. the real id with another secret and a correct checksum: {}",
        expect(refused(&verifier, &forged)?, "invalid_secret")?
    );

    let next = issuer.rotate(&*store, key.id(), Duration::hours(1))?;
    clock.advance(59 * 60 + 59);
    verifier.verify(key.expose_secret())?;
    verifier.verify(next.expose_secret())?;
    println!(
        " 8. rotated to {}: 59m59s later both keys still work",
        next.display_prefix()
    );

    clock.advance(1);
    verifier.verify(next.expose_secret())?;
    println!(
        " 9. one hour after the rotation the old key is {}, the new one works",
        expect(refused(&verifier, key.expose_secret())?, "expired")?
    );

    verifier.revoke(next.id())?;
    println!(
        "10. after revoking {}: {}",
        next.display_prefix(),
        expect(refused(&verifier, next.expose_secret())?, "revoked")?
    );
    Ok(())
}

/// The kind of error a key is refused with; an error if it is accepted.
fn refused(verifier: &ApiKeyVerifier, presented: &str) -> Result<&'static str, Box<dyn StdError>> {
    match verifier.verify(presented) {
        Ok(_) => Err("a bad key was accepted".into()),
        Err(e) => Ok(e.kind().as_str()),
    }
}

/// The key with its 21st character changed, as a person copying it might.
fn one_character_off(key: &str) -> String {
    key.chars()
        .enumerate()
        .map(|(i, c)| match (i, c) {
            (20, 'x') => 'y',
            (20, _) => 'x',
            _ => c,
        })
        .collect()
}

/// The secret of an issued key: the characters between its public id and
/// the six checksum characters.
fn secret_of<'a>(format: &ApiKeyFormat, key: &'a IssuedApiKey) -> Option<&'a str> {
    let plain = key.expose_secret();
    plain.get(format.lead().len() + key.id().len()..plain.len().checked_sub(6)?)
}

/// `got`, or an error (and a non-zero exit) when it is not `want`: the
/// example checks every outcome it prints.
fn expect<T: PartialEq + std::fmt::Debug>(got: T, want: T) -> Result<T, String> {
    if got == want {
        Ok(got)
    } else {
        Err(format!("expected {want:?}, got {got:?}"))
    }
}
