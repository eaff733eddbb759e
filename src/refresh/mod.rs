//! Opaque refresh tokens with rotation and reuse detection (RFC 9700
//! §4.14.2).
//!
//! A login opens a *family*: one refresh token and one access token. Each
//! use of a refresh token returns a new refresh token and a new access
//! token and invalidates the one presented. Presenting an already-used
//! refresh token means two parties hold it, so the whole family is revoked:
//! every refresh token descended from the login and, through the
//! [`RevocationStore`](crate::RevocationStore) and the access tokens' `sid`
//! claim, every access token minted from it.
//!
//! Refresh tokens use the API key format with the `rt` prefix and a
//! 43-character secret (256 bits): `rt_` + 12-character id + secret +
//! checksum. Stores keep a [`SecretDigest`](crate::api_key::SecretDigest)
//! (SHA-256 of the prefix, id and secret), compared in constant time;
//! lookups are by the public id. Because the digest covers the prefix, two
//! services that share a [`RefreshStore`] under different prefixes (set
//! with [`RefreshTokensBuilder::prefix`]) never redeem each other's
//! tokens, even relabelled with a recomputed checksum. Services that share
//! a store must use different prefixes: with the same one, their tokens
//! cannot be told apart.
//!
//! # Rotation is one atomic step
//!
//! A refresh signs the new access token and draws the new refresh token
//! first, then asks the store for one compare-and-set
//! ([`RefreshStore::rotate`]): "if the presented token is still in the
//! state I read, mark it used, point it at its successor and insert the
//! successor". A failure anywhere (signing, the network, the store) leaves
//! the presented token exactly as it was, so the client's retry succeeds
//! instead of being taken for theft. Of two racing requests only one
//! commits; the other reads the new state and decides again.
//!
//! A failure whose answer was lost after the store committed (a timeout)
//! is recognised too: the refresh reads the presented token again, and if
//! it points at the successor this request drew (a random id nobody else
//! knows), the rotation happened and its tokens are handed out.
//!
//! # The reuse grace window
//!
//! A response can be lost (a mobile network drops it) after the store
//! committed the rotation; the client then retries with the token it
//! still has. For [`RefreshTokensBuilder::reuse_grace`] after a token's
//! *first* use (default 5 seconds; zero turns it off), the same client
//! presenting the same token again gets a **new pair in the same family**
//! instead of a revocation: a new access token and a new refresh token
//! that *supersedes* the first successor, which stops working. The family
//! keeps its subject, client, scopes, claims and absolute lifetime.
//!
//! Why it is safe enough to be the default: the family never has more
//! than one live refresh token (the retry takes the place of the first
//! successor, in one atomic step of the store); the window is measured from
//! the first use and does not slide; it applies only while the first
//! successor is unused (once the chain moved on, the old token is reuse,
//! and the family is revoked); it applies only to the client the family
//! belongs to; and whichever party later presents the superseded token
//! triggers the revocation. What it gives up: a token *observed* within
//! seconds of its use (in a log, by a proxy) can be redeemed in that
//! window, and the thief's token then lives until the real client refreshes
//! again; the window is judged on the refreshing server's clock against the
//! first use recorded by another, so clock skew between servers stretches
//! or shrinks it. Set [`RefreshTokensBuilder::reuse_grace`] to zero where
//! that trade is not wanted. After the window, a second presentation is
//! reuse.
//!
//! # Client binding
//!
//! A [`Grant`] records the OAuth client. [`RefreshTokens::refresh`] and
//! [`RefreshTokens::revoke`] take the authenticated client's id and refuse
//! another client's token with [`Error::WrongClient`](crate::Error::WrongClient)
//! (RFC 6749 §6, RFC 7009 §2.1), without touching the family.
//!
//! # Async applications: the same logic, without I/O
//!
//! The core has no async runtime. The synchronous
//! [`RefreshTokens::refresh`] drives three I/O-free steps with its
//! [`RefreshStore`]; an application whose store client is async drives the
//! same steps itself, so its executor never blocks and the rules stay
//! written once. (Async store traits were the alternative; they would tie
//! the core to one future type or a boxing scheme, and they would not be
//! object safe the way every other store here is. The steps need neither:
//! whatever client the application has, it awaits between them.)
//!
//! ```
//! # use std::sync::Arc;
//! # use tokengate::{refresh::*, *};
//! # fn main() -> Result<(), Error> {
//! # let keys = Arc::new(KeyRing::new(SigningKey::generate(Algorithm::ES256)?));
//! # let store = Arc::new(InMemoryRefreshStore::new());
//! # let revocation = Arc::new(RevocationList::new());
//! # let tokens = RefreshTokens::builder(store.clone(), keys,
//! #     TokenBuilder::new().issuer("https://auth.example.com").audience("https://api.example.com"))
//! #     .revocation(revocation.clone()).build()?;
//! # let presented = tokens.login(Grant::new("alice").client_id("app"))?;
//! # let presented = presented.refresh_token.expose_secret();
//! // Each `store.…` / `revocation.…` call below is where an async
//! // application awaits its own client instead.
//! let attempt = tokens.begin_refresh(presented, Some("app"))?;
//! let mut record = store.get(attempt.token_id())?;
//! let mut rounds = 0;
//! let pair = loop {
//!     rounds += 1;
//!     if rounds > 8 {
//!         return Err(Error::store(std::io::Error::other("the token kept changing")));
//!     }
//!     match tokens.plan_refresh(&attempt, record)? {
//!         RefreshStep::Rotate(plan) => {
//!             let outcome = match store.rotate(plan.request()) {
//!                 Ok(outcome) => outcome,
//!                 // The commit may have happened before the answer was
//!                 // lost: read again and check.
//!                 Err(e) => match store.get(attempt.token_id())? {
//!                     Some(now) if plan.committed_in(&now) => break plan.into_pair(),
//!                     _ => return Err(e),
//!                 },
//!             };
//!             match tokens.finish_refresh(plan, outcome)? {
//!                 Finished::Issued(pair) => break pair,
//!                 Finished::Retry(current) => record = Some(current),
//!                 Finished::Reused(family) => {
//!                     store.revoke_family(family.family_id(), family.at())?;
//!                     revocation.revoke_session(family.family_id(), family.sessions_until())?;
//!                     return Err(family.error());
//!                 }
//!             }
//!         }
//!         RefreshStep::RevokeFamily(family) => {
//!             store.revoke_family(family.family_id(), family.at())?;
//!             revocation.revoke_session(family.family_id(), family.sessions_until())?;
//!             return Err(family.error());
//!         }
//!     }
//! };
//! assert_eq!(pair.refresh_token.expose_secret().len(), 64);
//! # Ok(()) }
//! ```
//!
//! Logins split the same way: [`RefreshTokens::prepare_login`], insert
//! [`LoginPlan::record`], hand out the pair.

mod flow;
mod memory;
mod record;
mod service;
mod store;

use time::Duration;

pub use flow::{FamilyRevocation, Finished, LoginPlan, RefreshAttempt, RefreshStep, RotationPlan};
pub use memory::InMemoryRefreshStore;
pub use record::{Grant, RefreshRecord, RefreshToken, TokenPair};
pub use service::{RefreshTokens, RefreshTokensBuilder};
pub use store::{DuplicateRefreshId, Expected, RefreshStore, RotateOutcome, RotateRequest};

/// The default absolute lifetime of a family: 30 days from login.
pub const DEFAULT_ABSOLUTE_LIFETIME: Duration = Duration::days(30);
/// The default idle timeout: a refresh token unused for 7 days expires.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::days(7);
/// The default access token lifetime: 15 minutes.
pub const DEFAULT_ACCESS_LIFETIME: Duration = Duration::minutes(15);
/// The default reuse grace window: 5 seconds.
pub const DEFAULT_REUSE_GRACE: Duration = Duration::seconds(5);
