//! Refresh tokens end to end: a login opens a session (a *family*), every
//! refresh rotates the refresh token, a retry after a lost response is
//! served within the reuse grace window, another client cannot redeem the
//! token, and a replayed refresh token revokes the whole family, access
//! tokens included, at the API.
//!
//! ```text
//! cargo run --example refresh
//! ```
//!
//! The clock is a `FixedClock`, so the times and the order of events are
//! the same on every run; ids and tokens are random.

use std::error::Error as StdError;
use std::sync::Arc;

use tokengate::refresh::DEFAULT_IDLE_TIMEOUT;
use tokengate::{
    Algorithm, FixedClock, Grant, InMemoryRefreshStore, KeyRing, RefreshTokens, RevocationList,
    ScopeRequirement, ScopeSet, SigningKey, TokenBuilder, Validator,
};

const ISSUER: &str = "https://auth.example.com";
const AUDIENCE: &str = "https://api.example.com";
/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600;

fn main() -> Result<(), Box<dyn StdError>> {
    let clock = Arc::new(FixedClock::at_unix(START));

    // The authorization server: signing keys, the refresh token store, and
    // the revocation store it shares with the API (in a fleet: a shared
    // store, and a `RevocationReplica` of it on each API server).
    let ring = Arc::new(KeyRing::with_clock(
        SigningKey::generate(Algorithm::EdDSA)?,
        clock.clone(),
    ));
    let tokens = RefreshTokens::builder(
        Arc::new(InMemoryRefreshStore::new()),
        Arc::clone(&ring),
        TokenBuilder::new()
            .access_token()
            .issuer(ISSUER)
            .audience(AUDIENCE),
    )
    .revocation(Arc::new(RevocationList::new()))
    .clock(clock.clone())
    .build()?;

    // The API: validates access tokens against the same keys and the same
    // revocation store, wired in one place, which is how a revoked family's
    // access tokens stop working before they expire.
    let api = tokens
        .validator_builder()
        .access_token_profile()
        .issuer(ISSUER)
        .audience(AUDIENCE)
        .build()?;
    let read_orders = ScopeRequirement::all("orders:read")?;

    // 1. Log in: one access token and one refresh token.
    let login = tokens.login(
        Grant::new("user-42")
            .client_id("web-app")
            .scopes(ScopeSet::parse("orders:read profile")?),
    )?;
    // What the access token carries, read back through the validator.
    let verified = api.validate(&login.access_token)?;
    let claims = verified.claims();
    println!(
        "1. login: access token sub={} scope=\"{}\" sid={} (expires in {} s), refresh token {} (id {})",
        claims.subject.as_deref().unwrap_or("-"),
        claims.scope.as_deref().unwrap_or(""),
        claims.session_id.as_deref().unwrap_or("-"),
        login.expires_in,
        shown(login.refresh_token.expose_secret()),
        login.refresh_token.id(),
    );

    // 2. The API accepts the access token for a route that needs
    //    orders:read.
    println!(
        "2. API, a route that needs orders:read: {}",
        expect(verdict(&api, &login.access_token, &read_orders), "ok")?
    );

    // 3. Rotate twice: each refresh returns a new pair and retires the
    //    refresh token presented. The session id stays the same. (Five
    //    minutes apart, so all three access tokens are still unexpired.)
    //    The client authenticates as web-app; another client is refused.
    clock.advance(5 * 60);
    let stolen_by_other_client =
        match tokens.refresh(login.refresh_token.expose_secret(), Some("other-app")) {
            Ok(_) => return Err("another client redeemed the token".into()),
            Err(e) => expect(e.kind().as_str(), "wrong_client")?,
        };
    let lost = tokens.refresh(login.refresh_token.expose_secret(), Some("web-app"))?;
    // The response carrying `lost` never reached the client, which retries
    // two seconds later with the token it still has: within the grace
    // window it gets a fresh pair, and `lost` stops working.
    clock.advance(2);
    let second = tokens.refresh(login.refresh_token.expose_secret(), Some("web-app"))?;
    println!(
        "   another client presenting it: {stolen_by_other_client}; a retry 2 s after a lost response: ok, same sid: {}; the lost token {} is superseded",
        expect(second.family_id == login.family_id, true)?,
        shown(lost.refresh_token.expose_secret()),
    );
    clock.advance(5 * 60);
    let third = tokens.refresh(second.refresh_token.expose_secret(), Some("web-app"))?;
    println!(
        "3. refreshed twice: {} -> {} -> {}, same sid: {}, new access tokens: {} and {}",
        shown(login.refresh_token.expose_secret()),
        shown(second.refresh_token.expose_secret()),
        shown(third.refresh_token.expose_secret()),
        expect(
            second.family_id == login.family_id && third.family_id == login.family_id,
            true
        )?,
        expect(verdict(&api, &second.access_token, &read_orders), "ok")?,
        expect(verdict(&api, &third.access_token, &read_orders), "ok")?,
    );

    // 4. An attacker who copied the first refresh token replays it, long
    //    after the grace window. It was used already, so two parties hold
    //    it: the family is revoked.
    let replay = match tokens.refresh(login.refresh_token.expose_secret(), Some("web-app")) {
        Ok(_) => return Err("a used refresh token was accepted".into()),
        Err(e) => expect(e.kind().as_str(), "refresh_token_reused")?,
    };
    println!("4. attacker replays the first refresh token: {replay}");

    // 5. The legitimate user's latest refresh token is dead too, and so is
    //    every access token of the family, at the API, before its expiry.
    let latest = match tokens.refresh(third.refresh_token.expose_secret(), Some("web-app")) {
        Ok(_) => return Err("a refresh token of a revoked family was accepted".into()),
        Err(e) => expect(e.kind().as_str(), "revoked")?,
    };
    println!("5. the user's latest refresh token: {latest}");
    for (n, access) in [&login, &second, &third].iter().enumerate() {
        println!(
            "   access token #{} at the API: {}",
            n + 1,
            expect(verdict(&api, &access.access_token, &read_orders), "revoked")?
        );
    }

    // 6. Idle timeout (7 days by default): a refresh token left unused
    //    that long expires, even though the session's 30 days are not up.
    let idle = tokens.login(Grant::new("user-42").client_id("web-app"))?;
    clock.advance(DEFAULT_IDLE_TIMEOUT.whole_seconds() - 1);
    let idle = tokens.refresh(idle.refresh_token.expose_secret(), Some("web-app"))?;
    println!("6. new login, refreshed after 6d 23h 59m 59s idle: ok");
    clock.advance(DEFAULT_IDLE_TIMEOUT.whole_seconds());
    match tokens.refresh(idle.refresh_token.expose_secret(), Some("web-app")) {
        Ok(_) => return Err("an idle refresh token was accepted".into()),
        Err(e) => println!(
            "   unused for 7 days: {} ({e})",
            expect(e.kind().as_str(), "expired")?
        ),
    }
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

/// What is safe to show of a refresh token: its first 10 characters (the
/// `rt_` prefix and part of the public id), never the secret.
fn shown(token: &str) -> String {
    format!("{}…", token.get(..10).unwrap_or(""))
}

/// `ok` or the error kind the API answers with.
fn verdict(api: &Validator, token: &str, need: &ScopeRequirement) -> &'static str {
    match api.validate_for(token, need) {
        Ok(_) => "ok",
        Err(e) => e.kind().as_str(),
    }
}
