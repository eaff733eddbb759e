//! Taking tokens back before they expire: "log out everywhere", revoking
//! one token (RFC 7009), and a compromised signing key, all through one
//! in-memory `RevocationList` that the API's validator consults.
//!
//! ```text
//! cargo run --example revocation
//! ```
//!
//! The clock is a `FixedClock`, so the example can move time forward.

use std::error::Error as StdError;
use std::sync::Arc;

use tokengate::time::Duration;
use tokengate::{
    Algorithm, Clock, FixedClock, Introspector, KeyRing, RevocationList, RevocationReplica,
    RevocationStore, SigningKey, StalePolicy, TokenBuilder, Validator,
};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";
/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600;

fn main() -> Result<(), Box<dyn StdError>> {
    let clock = Arc::new(FixedClock::at_unix(START));
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::EdDSA)?.with_key_id("key-2026-01"),
        clock.clone(),
    ));
    // The change feed lets the second server (5.) follow this list.
    let revoked = Arc::new(RevocationList::new().with_change_feed());
    let api = Validator::builder(Arc::clone(&ring))
        .access_token_profile()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .revocation(revoked.clone())
        .clock(clock.clone())
        .build()?;
    // Access tokens (RFC 9068) of the web app; they live 15 minutes (the
    // default) and read the same clock.
    let minted = TokenBuilder::new()
        .access_token()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .client_id("web-app")
        .clock(clock.clone());
    let issue = |sub: &str| minted.clone().subject(sub).sign(&ring.current());

    // 1. Log out everywhere: user-42 changes their password, so every token
    //    of theirs issued up to now (this second included) is revoked.
    //    Other users are untouched.
    let laptop = issue("user-42")?;
    let phone = issue("user-42")?;
    let someone_else = issue("user-7")?;
    clock.advance(60);
    revoked.revoke_subject_issued_through("user-42", clock.now())?;
    clock.advance(1);
    let after = issue("user-42")?;
    println!(
        "1. log out everywhere for user-42: laptop token {}, phone token {}, user-7's token {}, a token issued after {}",
        expect(verdict(&api, &laptop), "revoked")?,
        expect(verdict(&api, &phone), "revoked")?,
        expect(verdict(&api, &someone_else), "ok")?,
        expect(verdict(&api, &after), "ok")?,
    );

    // 2. One token: the RFC 7009 revocation endpoint revokes it by `jti`
    //    until its `exp`. The user's other token keeps working.
    let endpoint = Introspector::builder()
        .access_tokens(api.clone())
        .revocation(revoked.clone())
        .clock(clock.clone())
        .build()?;
    let stolen = issue("user-7")?;
    let kept = issue("user-7")?;
    println!(
        "2. revoke one stolen token (RFC 7009); before, introspection says active={}",
        expect(endpoint.introspect(&stolen).active, true)?
    );
    // The token was issued to the web app, so only the web app (the
    // client the revocation endpoint authenticated) may revoke it.
    endpoint.revoke(&stolen, Some("web-app"))?;
    println!(
        "   after: that token {} (introspection {}), the same user's other token {}",
        expect(verdict(&api, &stolen), "revoked")?,
        expect(
            endpoint.introspect(&stolen).to_json(),
            r#"{"active":false}"#.to_owned()
        )?,
        expect(verdict(&api, &kept), "ok")?,
    );

    // 3. Key compromise. The issuer rotates to a new key; the old one
    //    keeps verifying until its retirement in a day (its grace period,
    //    for tokens in flight)...
    let old_key_token = issue("user-7")?;
    ring.rotate(
        SigningKey::generate(Algorithm::EdDSA)?.with_key_id("key-2026-02"),
        Duration::days(1),
    )?;
    clock.advance(5 * 60);
    let new_key_token = issue("user-7")?;
    println!(
        "3. after rotating to key-2026-02: token from key-2026-01 {}, from key-2026-02 {}",
        expect(verdict(&api, &old_key_token), "ok")?,
        expect(verdict(&api, &new_key_token), "ok")?,
    );
    // ...then the old key leaks: take it out of the ring and revoke
    // everything it signed in the revocation store, which every server
    // follows, now.
    ring.revoke_compromised("key-2026-01", &*revoked)?;
    println!(
        "   key-2026-01 compromised (still in its grace period): its token {}, key-2026-02's token {}",
        expect(verdict(&api, &old_key_token), "unknown_key")?,
        expect(verdict(&api, &new_key_token), "ok")?,
    );

    // 4. Memory stays bounded: a `jti` entry is kept only until the
    //    revoked token's own `exp` plus a retention margin (5 minutes; a
    //    validator with a larger leeway is refused); after that the token
    //    fails as expired anyway and `prune` drops the entry.
    endpoint.revoke(&new_key_token, Some("web-app"))?;
    let before = revoked.jti_count();
    clock.advance(20 * 60);
    let dropped = revoked.prune(clock.now());
    println!(
        "4. 20 minutes later: prune dropped {} entries ({before} jti before, {} left); the revoked token is now {}",
        expect(dropped, before)?,
        expect(revoked.jti_count(), 0)?,
        expect(verdict(&api, &new_key_token), "expired")?,
    );

    // 5. A second API server: it validates against a local replica of the
    //    revocation store, brought up to date from the store's change feed
    //    (here by a direct call; in production from a background task), and
    //    rejects everything while it has not heard from the store for more
    //    than 30 seconds.
    let replica = Arc::new(
        RevocationReplica::new(Duration::seconds(30), StalePolicy::FailClosed).clock(clock.clone()),
    );
    let second_server = Validator::builder(Arc::clone(&ring))
        .access_token_profile()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .revocation(replica.clone())
        .clock(clock.clone())
        .build()?;
    let fresh = issue("user-9")?;
    let before_sync = expect(verdict(&second_server, &fresh), "store_failure")?;
    replica.sync(&*revoked)?;
    let synced = expect(verdict(&second_server, &fresh), "ok")?;
    revoked.revoke_subject_issued_through("user-9", clock.now())?;
    let missed = expect(verdict(&second_server, &fresh), "ok")?;
    replica.sync(&*revoked)?;
    let caught_up = expect(verdict(&second_server, &fresh), "revoked")?;
    clock.advance(31);
    println!(
        "5. a second server's replica: before its first sync {before_sync}, synced {synced}; user-9 logged out on the first server: {missed} until the next sync, then {caught_up}; 31 s without contact: {}",
        expect(verdict(&second_server, &issue("user-1")?), "store_failure")?,
    );
    Ok(())
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

/// `ok` or the error kind the API answers with.
fn verdict(api: &Validator, token: &str) -> &'static str {
    match api.validate(token) {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    }
}
