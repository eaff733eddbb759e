//! # Threat model
//!
//! What tokengate defends against, what it leaves to the application, and
//! which tests try each attack. (This module holds documentation only.)
//!
//! ## Who the attacker is
//!
//! Anyone who can send a request: they control every byte of every token,
//! API key, refresh token and `Authorization` header they present, can
//! replay anything they have seen, can race requests, and can measure
//! response times. They do not hold the issuer's private keys or HMAC
//! secrets, and cannot write to the application's stores.
//!
//! ## What the crate defends against
//!
//! | attack | defence | tests that try it |
//! |---|---|---|
//! | `alg: none`, unknown or non-string `alg`, `alg` spelled with escapes | no `none` in the type system; unknown names are `unsupported_algorithm` | `tests/attacks.rs` (`data_alg`, `tests/data/attacks/alg.json`), `tests/rfc_vectors.rs` (`rfc7515_a5_unsecured_is_rejected`) |
//! | key-type confusion (HMAC keyed with a public key, CVE-2015-9235, CVE-2016-10555) | a key is bound to one algorithm when built; the header's `alg` must equal the key's and be allowed; an HMAC secret that is a public key's PEM, DER (SPKI, PKCS#1, X.509 certificate), JWK or JWK Set text, or an EC point, is refused when the key is built (`KeyError::PublicKeyAsHmacSecret`), by checks for a whole structure that random secrets never pass | `tests/attacks.rs` (`hmac_keyed_with_the_validators_public_key_is_algorithm_not_allowed`, `public_keys_cannot_be_bound_to_an_hmac_algorithm`, `public_keys_are_refused_as_hmac_secrets`), `src/keys/mod.rs` (`random_secrets_are_never_mistaken_for_public_keys`) |
//! | secrets in a published JWK Set (an `oct` member anyone can read, which would put HS256 in the default allow-list) | JWK Set import leaves `oct` members out and reports them; only `JwkSetOptions::danger_allow_symmetric_keys()` imports them, for a private document | `tests/attacks.rs` (`hs256_forged_with_an_oct_member_of_a_public_jwk_set_is_refused`, `data_jwks_unusable_members_are_skipped_and_reported`, `tests/data/attacks/jwks.json`) |
//! | one broken or foreign member of a provider's JWK Set leaving a server without keys; a refresh emptying the store | every member that cannot be used is left out and reported (index, `kid`, reason) while the others are imported; a set with no usable key is an error, and `replace_from_jwks` then keeps the previous keys | `tests/keys.rs` (`one_bad_member_does_not_take_the_jwk_set_down`, `replace_from_jwks_without_a_usable_key_keeps_the_old_keys`), `tests/attacks.rs` (`data_jwks_unusable_members_are_skipped_and_reported`) |
//! | allow-list checked against one algorithm, verification with another | the key's algorithm is the only source of truth | `tests/attacks.rs` (`allow_list_restricted_to_es256_refuses_genuine_rs256_tokens`) |
//! | one Ed25519 key accepted under both `EdDSA` and RFC 9864's `Ed25519` | the two names are two algorithms; a key is bound to one of them, and a JWK without `alg` is `EdDSA` unless the caller binds it | `tests/keys.rs` (`fully_specified_ed25519_algorithm_rfc9864`), `tests/rfc_vectors.rs` (`rfc9864_ed25519_with_the_rfc8037_key`) |
//! | trust brought in the header (`jwk`, `jku`, `x5u`, `x5c`, CVE-2018-0114) | never read; keys come from the application's store | `tests/attacks.rs` (`keys_and_key_urls_in_the_header_are_never_trusted`) |
//! | broken signature math (ECDSA r = s = 0, CVE-2022-21449; DER where fixed form is required; truncated HMAC tags) | ring / aws-lc verification; exact-length fixed-form signatures | `tests/attacks.rs` (`data_signatures`, `der_encoded_ecdsa_signatures_are_invalid`, `truncated_and_extended_hmac_tags_are_invalid`), `tests/wycheproof.rs` |
//! | claim type confusion (a string or null `exp` taken as absent, CVE-2026-25537) | registered claims strictly typed; present-but-wrong is `malformed` | `tests/attacks.rs` (`data_claims`), `tests/validation.rs` |
//! | error confusion (an expired, badly signed token reporting `expired`) | nothing in the payload is read before the signature verifies | `tests/attacks.rs` (`expired_and_badly_signed_reports_the_signature_and_no_claims`) |
//! | `crit` extensions, `b64: false` | any `crit` or `b64` rejects the token | `tests/attacks.rs` (`data_crit`) |
//! | oversized, deeply nested, duplicated, non-canonical input | size cap (8 KiB) before decoding; strict base64url; one JSON object; duplicate members rejected; serde_json's depth limit | `tests/attacks.rs` (`data_shape`, `over_long_tokens_are_token_too_large`, `deeply_nested_json_never_overflows_the_stack`), `fuzz/` |
//! | parser differentials below the top level (`{"roles":{"admin":false,"admin":true}}`, CVE-2017-12635; numbers no parser agrees on) | one walk over header and claims rejects a repeated member name in every object at every depth, and at any member index, before a custom claims type is deserialized (serde keeps the last of two members); a number beyond the f64 range anywhere (`1e400`, a 400-digit integer) makes the token `malformed` | `tests/attacks.rs` (`data_json_duplicates_at_every_depth_and_numbers_beyond_f64`, `tests/data/attacks/json.json`), `tests/validation.rs` (`nested_duplicate_members_are_duplicate_member_for_every_claims_type`, `numbers_beyond_the_f64_range_anywhere_make_the_token_malformed`), `src/json.rs` (`duplicate_check_holds_for_member_indexes_past_63`) |
//! | cross-token confusion (ID token as access token, refresh token or API key as a JWT, audience A at B) | the token type is a required choice of the validator (`access_token_profile()`, `typ(..)` or the loud `danger_accept_any_type()`, RFC 8725 §3.11); mandatory audience policy (accepting any is the loud `danger_accept_any_audience()`, for an authorization server's introspection); kinds told apart by shape | `tests/validation.rs` (`the_token_type_is_a_required_choice`, `an_id_token_does_not_pass_a_validator_that_chose_the_access_token_profile`), `tests/attacks.rs` (`id_tokens_do_not_pass_the_access_token_profile`), `tests/validation.rs` (`danger_accept_any_audience_accepts_any_aud_or_none`) |
//! | a credential routed to the wrong kind by its prefix (refresh tokens `acme_…` next to API keys `acme_live_…`: a valid key introspected inactive, its RFC 7009 revocation silently dropped); a misconfigured front door or introspector passed off as bad tokens | routing by a full parse of each format; overlapping formats, and an introspector or front door that accepts no kind, refused by `build()` | `tests/introspection.rs` (`an_api_key_whose_lead_starts_with_the_refresh_prefix_is_introspected_and_revoked`, `api_keys_and_refresh_tokens_with_the_same_lead_are_told_apart`, `overlapping_api_key_and_refresh_token_formats_are_refused_when_built`, `an_introspector_without_any_token_kind_is_refused_when_built`), `tests/authorization_header.rs` (`a_front_door_without_any_credential_kind_is_refused_when_built`) |
//! | a revocation the caller believes done but that did not happen (no revocation store; an access token with neither `jti` nor `sid`, silently widened to its whole subject) | `Introspector::revoke` answers `invalid_configuration` or `missing_claim` and changes nothing; a subject-wide revocation is its own call, `revoke_subject` | `tests/introspection.rs` (`revoking_an_access_token_without_a_revocation_store_is_refused`, `revoking_an_access_token_without_jti_or_sid_is_refused`) |
//! | scopes read from a claim of an unexpected shape (an array element `"read admin"` joined into two scopes; a mistyped `scp` taken as "no scopes" or ignored) | `scope`, or the claim named by `ValidatorBuilder::scope_claim`, is a string or an array of strings whose elements hold no space; anything else is `malformed` naming the claim; with another claim named, `scope` grants nothing | `tests/access_control.rs` (`scope_as_an_array_of_strings`, `scp_claim_as_an_array_of_strings`, `with_scp_named_the_scope_member_grants_nothing`), `tests/attacks.rs` (`data_claims`) |
//! | an empty scope requirement waving every caller through (`all("")`) | `ScopeRequirement::all`/`any` refuse an empty list; an empty set or list built from the variants is never met | `tests/access_control.rs` (`empty_scope_requirements_are_refused`) |
//! | an API key skipping the scopes every request needs (the validator's `require_scopes` checked only for JWTs at the front door) | the `Authenticator` applies the validator's requirement to both credential kinds | `tests/authorization_header.rs` (`the_validators_required_scopes_apply_to_api_keys_too`) |
//! | `kid` abuse (path traversal, SQL-like text, huge, non-string) | `kid` is only a map key, never a path or query; `Error::UnknownKey` hands it to the application cut to 128 bytes, and neither its `Display` nor its `Debug` shows it | `tests/attacks.rs` (`data_kid`, `huge_kids_are_unknown_key`), `tests/validation.rs` (`unknown_key_carries_the_kid_and_never_displays_it`), `tests/secrets.rs` (`validation_errors_never_quote_the_token`) |
//! | forged or mistyped API keys | length, prefix, alphabet and CRC32 before any lookup; SHA-256 digest compared in constant time (`ct::bytes_eq`: eight bytes at a time, no early exit) | `tests/api_keys.rs`, `tests/attacks.rs` |
//! | relabelled credentials (a test API key presented as a live one, a refresh token of one service at another that shares its store, the public checksum recomputed) | the stored digest covers the lead (prefix and environment), the id and the secret: `invalid_secret`, in constant time; rotation refuses a key of another format | `tests/api_keys.rs` (`a_test_key_relabelled_live_is_refused_by_the_live_verifier`, `a_live_issuer_refuses_to_rotate_a_test_key`), `tests/authorization_header.rs` (`a_test_key_relabelled_live_is_refused_at_the_front_door`), `tests/refresh.rs` (`a_refresh_token_relabelled_with_another_services_prefix_is_refused`) |
//! | racing API key rotations; a revocation landing mid-rotation | [`ApiKeyStore::rotate`](crate::ApiKeyStore::rotate) is one compare-and-set: a key gets at most one successor, a revoked one none | `tests/api_keys.rs` (`concurrent_rotations_of_one_key_make_exactly_one_successor`, `a_key_revoked_mid_rotation_gets_no_successor`), `tests/conformance.rs` (`in_memory_api_key_store_meets_the_api_key_store_contract`) |
//! | stolen refresh tokens | rotation on every use; reuse revokes the family and its access tokens on every server; rotation is one compare-and-set, so a failure never burns a token; the grace window leaves one live token per family; another client's token is refused | `tests/refresh.rs` (`a_retry_after_the_grace_window_is_reuse`, `another_clients_refresh_token_is_refused`), `tests/fleet.rs`, `tests/attacks.rs` |
//! | revoked credentials | revocation consulted after verification; entries kept past `exp` by a retention margin, and a validator whose leeway exceeds its store's margin is not built; "log out everywhere" inclusive of the current second (`iat` counts whole seconds) | `tests/revocation.rs` (`log_out_everywhere_revokes_tokens_issued_in_the_same_second`, `a_leeway_above_the_retention_margin_cannot_resurrect_a_pruned_revocation`) |
//! | a wall clock set before 1970 (read as the epoch, every expired token would pass) | [`SystemClock`](crate::SystemClock) reads it as [`UNKNOWN_TIME`](crate::UNKNOWN_TIME) (`i64::MAX`), past every expiry; `Clock::now` saturates instead of falling back to the epoch | `src/clock.rs` (`a_system_clock_before_1970_fails_closed`), `tests/refresh.rs` (`a_clock_that_cannot_tell_the_time_refuses_refresh_and_access_tokens`) |
//! | timing leaks on secret comparison | `hmac::verify` in the crypto library; digests compared word-wise without an early exit (`ct::bytes_eq`), and they have no `==` at all; digest computed before the lookup | `benches/timing.rs` (a dudect-style check, run on purpose), `tests/secrets.rs` (`secret_digests_have_no_variable_time_eq`) |
//! | a verified-token cache serving what a full validation would refuse | only tokens that passed every check enter; a hit needs the whole token, compared in constant time, and the same key material (thumbprint) and algorithm in the store, and runs the allow-list, time, issuer, audience, `typ`, revocation and scope checks again; entries keyed by SipHash under a random key; a hit's speed tells that a token was used recently, only to its bearer | `tests/verified_cache.rs` (`a_repeated_token_is_served_from_the_cache_and_a_forged_twin_is_not`, `a_kid_republished_with_other_material_is_checked_against_the_new_key`, `a_token_revoked_after_it_was_cached_is_refused`, `the_cache_never_changes_a_verdict`) |
//! | secrets in logs | secret types are not `Clone`/`Display`/`Serialize`, `Debug` is redacted, errors never quote tokens | `tests/secrets.rs`, `tests/attacks.rs` |
//! | panics, hangs and unbounded allocation on hostile input | no `unwrap`/`expect`/`panic`/indexing/unchecked arithmetic in library code (clippy denies them); size caps | `tests/roundtrip_props.rs`, `fuzz/` targets |
//!
//! ## What it leaves to the application
//!
//! - **Transport.** Bearer credentials must travel over TLS; anyone who
//!   sees one can use it until it expires or is revoked.
//! - **Storage.** Records in an [`ApiKeyStore`](crate::api_key::ApiKeyStore)
//!   or [`RefreshStore`](crate::refresh::RefreshStore) hold digests, not
//!   secrets, but whoever can write to them can mint access: protect the
//!   database. Private keys at rest are the application's to protect.
//! - **Rate limiting.** Guessing a 196-bit secret is hopeless, but a flood
//!   of requests still costs CPU; limit per client at the edge.
//! - **Clocks.** Expiry assumes roughly synchronized clocks (the default
//!   leeway is 30 seconds). A clock the crate knows to be wrong (before
//!   1970) fails closed; one that is merely off is the application's to
//!   fix.
//! - **Key distribution.** Fetch an identity provider's JWK Set over
//!   HTTPS from a configured URL (never from a token header) and refresh it
//!   with [`KeySetStore::replace_from_jwks`](crate::KeySetStore::replace_from_jwks);
//!   log the members it reports as left out, and alert when a refresh
//!   fails (the previous keys then stay).
//! - **Fleet consistency.** [`RevocationList`](crate::RevocationList) and
//!   the in-memory stores live in one process. A fleet shares a
//!   [`RevocationStore`](crate::RevocationStore) and validates against a
//!   [`RevocationReplica`](crate::RevocationReplica) on each server: a
//!   revocation reaches a server at its next sync, and the application
//!   chooses the sync interval and the staleness bound past which the
//!   replica rejects (or, if it chooses, serves stale).
//! - **Memory hygiene inside the crypto library.** Buffers this crate
//!   decodes secrets into are zeroized; the parsed key objects live inside
//!   ring or aws-lc-rs, which do not promise to wipe them.
//!
//! ## Defaults that matter
//!
//! | default | effect |
//! |---|---|
//! | issuer, audience and token type policies are mandatory; empty values refused | a forgotten check is a build error, not a silent hole (`tests/validation.rs`: `an_empty_issuer_or_audience_is_refused_at_build`) |
//! | `exp` required | tokens without expiry are refused |
//! | leeway 30 s | small clock skew tolerated, no more |
//! | allow-list = the store's algorithms | never wider than the keys |
//! | maximum token size 8 KiB | garbage is refused before decoding |
//! | HMAC secrets at least the hash length; RSA at least 2048 bits, with an odd modulus and an odd exponent from 3 to 2^33 - 1 | weak keys, and keys the crypto library would refuse at every verification, fail when built (`tests/keys.rs`: `rsa_public_keys_the_backends_refuse_are_refused_when_built`) |
//! | tokens without `kid` need a single candidate key | no trial verification against many keys |
//! | JWK Set import skips `oct` members and leaves out, with a reported reason, every member it cannot use | a public document never supplies a secret; one bad member never leaves a server without keys, and a refresh without usable keys keeps the old ones |
//! | HMAC secrets are never a public key's PEM, DER or JWK text | a configuration cannot make a downloadable key the secret |
//! | API key secret 196 bits; refresh token secret 256 bits | |
