//! Project Wycheproof test vectors run through tokengate's own verification
//! path: the `VerifyingKey` constructors and `VerifyingKey::verify`, never
//! ring directly.
//!
//! Source: Project Wycheproof (upstream <https://github.com/C2SP/wycheproof>),
//! as packaged by the `wycheproof` crate, version 0.7.
//!
//! Only the parameters JWS uses are run: ECDSA P-256/SHA-256 and
//! P-384/SHA-384 in IEEE P1363 (`r || s`) form, Ed25519, RSASSA-PKCS1-v1_5
//! and RSASSA-PSS with SHA-256/384/512 (PSS with MGF1 over the same hash and
//! a salt as long as the hash), and full-length HMAC-SHA-256/384/512 tags.
//!
//! Expected results: a `valid` vector must verify, an `invalid` one must be
//! rejected (when the key is built or when the signature is checked), and an
//! `acceptable` one may go either way; which way it went is counted and
//! printed. Where JWS or the crate's policy is stricter than Wycheproof
//! (HMAC secrets shorter than the hash output, truncated HMAC tags, RSA
//! moduli under 2048 bits, DER-encoded ECDSA signatures), the stricter
//! outcome is asserted instead. Every test also asserts a minimum number of
//! vectors so that an empty loop fails.
//!
//! Run with `cargo test --test wycheproof -- --nocapture` to see the counts.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use tokengate::{Algorithm, Error, KeyError, SigningKey, VerifyingKey};
use wycheproof::{HashFunction, Mgf, TestResult};

/// What happened to the vectors of one family, and every mismatch found.
#[derive(Default)]
struct Tally {
    /// `valid` vectors that verified.
    valid: usize,
    /// `invalid` vectors that were rejected.
    invalid: usize,
    /// `acceptable` vectors that verified.
    acceptable_accepted: usize,
    /// `acceptable` vectors that were rejected.
    acceptable_rejected: usize,
    /// Vectors whose key the crate refused by policy (asserted).
    refused_key: usize,
    /// Vectors rejected because JWS is stricter than the Wycheproof group
    /// (truncated tags, DER signatures), asserted.
    stricter: usize,
    /// Vectors whose parameters are not JWS, not run.
    skipped: usize,
    /// Vectors run, per JWS algorithm.
    per_alg: BTreeMap<Algorithm, usize>,
    /// Mismatches: set, tcId, comment, what went wrong.
    failures: Vec<String>,
}

impl Tally {
    /// Vectors run through a constructor and `verify`, or through an
    /// asserted refusal.
    fn run(&self) -> usize {
        self.valid
            + self.invalid
            + self.acceptable_accepted
            + self.acceptable_rejected
            + self.refused_key
            + self.stricter
    }

    fn fail(&mut self, set: &str, tc_id: usize, comment: &str, what: impl AsRef<str>) {
        self.failures
            .push(format!("{set} tcId {tc_id} ({comment}): {}", what.as_ref()));
    }

    /// Records the outcome of a vector against its expected result.
    fn expect(
        &mut self,
        set: &str,
        tc_id: usize,
        comment: &str,
        expected: TestResult,
        accepted: bool,
    ) {
        match (expected, accepted) {
            (TestResult::Valid, true) => self.valid += 1,
            (TestResult::Invalid, false) => self.invalid += 1,
            (TestResult::Acceptable, true) => self.acceptable_accepted += 1,
            (TestResult::Acceptable, false) => self.acceptable_rejected += 1,
            (TestResult::Valid, false) => self.fail(set, tc_id, comment, "valid vector rejected"),
            (TestResult::Invalid, true) => {
                self.fail(set, tc_id, comment, "invalid vector ACCEPTED");
            }
        }
    }

    fn count_alg(&mut self, alg: Algorithm) {
        *self.per_alg.entry(alg).or_default() += 1;
    }

    /// Prints the counts and fails with every mismatch, then checks that at
    /// least `min_run` vectors ran.
    fn finish(&self, family: &str, min_run: usize) {
        println!(
            "{family}: run {} (valid verified {}, invalid rejected {}, acceptable \
             accepted {} / rejected {}, refused keys {}, rejected as non-JWS form {}), \
             skipped {}, per algorithm {:?}",
            self.run(),
            self.valid,
            self.invalid,
            self.acceptable_accepted,
            self.acceptable_rejected,
            self.refused_key,
            self.stricter,
            self.skipped,
            self.per_alg,
        );
        assert!(
            self.failures.is_empty(),
            "{family}: {} mismatches:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(
            self.run() >= min_run,
            "{family}: only {} vectors ran, expected at least {min_run}",
            self.run()
        );
        assert!(
            self.valid > 0 && self.invalid > 0,
            "{family}: both valid and invalid vectors must have run"
        );
    }
}

/// Verifies with every key built for the vector's group. All keys must
/// agree, and a rejection must be `Error::InvalidSignature`.
///
/// Returns whether the signature was accepted, or a description of the
/// disagreement.
fn verify_with(keys: &[(&str, &VerifyingKey)], msg: &[u8], sig: &[u8]) -> Result<bool, String> {
    let mut outcome: Option<(&str, bool)> = None;
    for (name, key) in keys {
        let accepted = match key.verify(msg, sig) {
            Ok(()) => true,
            Err(Error::InvalidSignature) => false,
            Err(other) => return Err(format!("{name}: verify returned {other:?}")),
        };
        match outcome {
            None => outcome = Some((name, accepted)),
            Some((first, before)) if before != accepted => {
                return Err(format!(
                    "keys disagree: {first} accepted={before}, {name} accepted={accepted}"
                ));
            }
            Some(_) => {}
        }
    }
    outcome
        .map(|(_, accepted)| accepted)
        .ok_or_else(|| "no key to verify with".to_owned())
}

/// Builds a key that must be accepted, recording a failure otherwise.
fn must_build(
    tally: &mut Tally,
    set: &str,
    what: &str,
    alg: Algorithm,
    built: Result<VerifyingKey, Error>,
) -> Option<VerifyingKey> {
    match built {
        Ok(key) if key.algorithm() == alg => Some(key),
        Ok(key) => {
            tally.failures.push(format!(
                "{set}: {what} built a key for {:?}, not {alg:?}",
                key.algorithm()
            ));
            None
        }
        Err(e) => {
            tally
                .failures
                .push(format!("{set}: {what} refused a valid {alg:?} key: {e:?}"));
            None
        }
    }
}

#[test]
fn ecdsa_p1363_es256_es384() {
    use wycheproof::ecdsa::{TestName, TestSet};

    let mut tally = Tally::default();
    let sets = [
        (
            TestName::EcdsaSecp256r1Sha256P1363,
            Algorithm::ES256,
            HashFunction::Sha2_256,
        ),
        (
            TestName::EcdsaSecp384r1Sha384P1363,
            Algorithm::ES384,
            HashFunction::Sha2_384,
        ),
    ];
    for (name, alg, hash) in sets {
        let set_name = format!("{name:?}");
        let set = TestSet::load(name).unwrap();
        let before = tally.run();
        for group in &set.test_groups {
            assert_eq!(group.hash, hash, "{set_name}: unexpected hash");
            let point = must_build(
                &mut tally,
                &set_name,
                "from_ec_point",
                alg,
                VerifyingKey::from_ec_point(alg, &group.key.key),
            );
            let spki = must_build(
                &mut tally,
                &set_name,
                "from_spki_der",
                alg,
                VerifyingKey::from_spki_der(alg, &group.der),
            );
            let (Some(point), Some(spki)) = (point, spki) else {
                continue;
            };
            let keys = [("from_ec_point", &point), ("from_spki_der", &spki)];
            for t in &group.tests {
                tally.count_alg(alg);
                match verify_with(&keys, &t.msg, &t.sig) {
                    Ok(accepted) => {
                        tally.expect(&set_name, t.tc_id, &t.comment, t.result, accepted)
                    }
                    Err(why) => tally.fail(&set_name, t.tc_id, &t.comment, why),
                }
            }
        }
        assert!(tally.run() - before >= 250, "{set_name}: too few vectors");
    }

    // The same curves with ASN.1 DER signatures: JWS uses only the fixed
    // `r || s` form (RFC 7518 §3.4), so no DER signature may verify, valid
    // or not.
    let der_sets = [
        (TestName::EcdsaSecp256r1Sha256, Algorithm::ES256),
        (TestName::EcdsaSecp384r1Sha384, Algorithm::ES384),
    ];
    for (name, alg) in der_sets {
        let set_name = format!("{name:?}");
        let set = TestSet::load(name).unwrap();
        let before = tally.stricter;
        for group in &set.test_groups {
            let Some(key) = must_build(
                &mut tally,
                &set_name,
                "from_ec_point",
                alg,
                VerifyingKey::from_ec_point(alg, &group.key.key),
            ) else {
                continue;
            };
            for t in &group.tests {
                tally.count_alg(alg);
                match verify_with(&[("from_ec_point", &key)], &t.msg, &t.sig) {
                    Ok(false) => tally.stricter += 1,
                    Ok(true) => tally.fail(
                        &set_name,
                        t.tc_id,
                        &t.comment,
                        "DER-encoded ECDSA signature ACCEPTED as JWS",
                    ),
                    Err(why) => tally.fail(&set_name, t.tc_id, &t.comment, why),
                }
            }
        }
        assert!(
            tally.stricter - before >= 250,
            "{set_name}: too few vectors"
        );
    }

    tally.finish("ECDSA (ES256, ES384)", 1000);
    assert!(tally.valid >= 300, "too few valid ECDSA vectors ran");
}

#[test]
fn ed25519_eddsa() {
    use wycheproof::eddsa::{TestName, TestSet};

    let mut tally = Tally::default();
    let set_name = "Ed25519";
    let set = TestSet::load(TestName::Ed25519).unwrap();
    for group in &set.test_groups {
        let raw = must_build(
            &mut tally,
            set_name,
            "from_ed25519",
            Algorithm::EdDSA,
            VerifyingKey::from_ed25519(&group.key.pk),
        );
        let spki = must_build(
            &mut tally,
            set_name,
            "from_spki_der",
            Algorithm::EdDSA,
            VerifyingKey::from_spki_der(Algorithm::EdDSA, &group.der),
        );
        let (Some(raw), Some(spki)) = (raw, spki) else {
            continue;
        };
        let keys = [("from_ed25519", &raw), ("from_spki_der", &spki)];
        for t in &group.tests {
            tally.count_alg(Algorithm::EdDSA);
            match verify_with(&keys, &t.msg, &t.sig) {
                Ok(accepted) => tally.expect(set_name, t.tc_id, &t.comment, t.result, accepted),
                Err(why) => tally.fail(set_name, t.tc_id, &t.comment, why),
            }
        }
    }
    tally.finish("Ed25519 (EdDSA)", 140);
}

/// The three RSA verification keys of a Wycheproof group: from `n`/`e`,
/// from the PKCS#1 `RSAPublicKey` DER and from the SPKI DER. A group whose
/// modulus is under 2048 bits must be refused by all three.
struct RsaKeys {
    keys: Vec<(&'static str, VerifyingKey)>,
    /// The SPKI carries the RSASSA-PSS OID and the crate refused it.
    pss_spki_refused: bool,
}

enum RsaGroupKeys {
    Built(RsaKeys),
    /// The modulus is under 2048 bits and every constructor refused it.
    RefusedTooSmall,
    /// A constructor misbehaved; the failure is recorded.
    Broken,
}

/// The key material of one Wycheproof RSA group.
struct RsaGroup<'a> {
    key_size: usize,
    n: &'a [u8],
    e: &'a [u8],
    pkcs1: &'a [u8],
    spki: &'a [u8],
    /// A `...WithParams` group, whose SPKI has the id-RSASSA-PSS OID.
    spki_may_be_pss: bool,
}

fn rsa_keys(tally: &mut Tally, set: &str, alg: Algorithm, group: &RsaGroup<'_>) -> RsaGroupKeys {
    let RsaGroup {
        key_size,
        n,
        e,
        pkcs1,
        spki,
        spki_may_be_pss,
    } = *group;
    let built = [
        (
            "from_rsa_components",
            VerifyingKey::from_rsa_components(alg, n, e),
        ),
        ("from_pkcs1_der", VerifyingKey::from_pkcs1_der(alg, pkcs1)),
        ("from_spki_der", VerifyingKey::from_spki_der(alg, spki)),
    ];
    if key_size < 2048 {
        let mut ok = true;
        for (what, result) in built {
            if !matches!(result, Err(Error::InvalidKey(KeyError::RsaTooSmall { .. }))) {
                tally.failures.push(format!(
                    "{set}: {what} did not refuse a {key_size}-bit modulus with RsaTooSmall: {result:?}"
                ));
                ok = false;
            }
        }
        return if ok {
            RsaGroupKeys::RefusedTooSmall
        } else {
            RsaGroupKeys::Broken
        };
    }
    let mut keys = Vec::new();
    let mut pss_spki_refused = false;
    for (what, result) in built {
        if what == "from_spki_der" && spki_may_be_pss && result.is_err() {
            // An SPKI with the id-RSASSA-PSS OID: not the JWK/PEM form JWS
            // keys normally come in; recorded, not required.
            pss_spki_refused = true;
            continue;
        }
        match must_build(tally, set, what, alg, result) {
            Some(key) => keys.push((what, key)),
            None => return RsaGroupKeys::Broken,
        }
    }
    RsaGroupKeys::Built(RsaKeys {
        keys,
        pss_spki_refused,
    })
}

fn run_rsa_group<'a>(
    tally: &mut Tally,
    set: &str,
    alg: Algorithm,
    keys: &RsaGroupKeys,
    tests: impl IntoIterator<Item = (usize, &'a str, TestResult, &'a [u8], &'a [u8])>,
) {
    for (tc_id, comment, result, msg, sig) in tests {
        tally.count_alg(alg);
        match keys {
            RsaGroupKeys::Built(built) => {
                let refs: Vec<(&str, &VerifyingKey)> =
                    built.keys.iter().map(|(n, k)| (*n, k)).collect();
                match verify_with(&refs, msg, sig) {
                    Ok(accepted) => tally.expect(set, tc_id, comment, result, accepted),
                    Err(why) => tally.fail(set, tc_id, comment, why),
                }
            }
            RsaGroupKeys::RefusedTooSmall => tally.refused_key += 1,
            RsaGroupKeys::Broken => tally.fail(set, tc_id, comment, "no usable key"),
        }
    }
}

#[test]
fn rsa_pkcs1_v1_5_rs256_rs384_rs512() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};

    let mut tally = Tally::default();
    for name in TestName::all() {
        let set_name = format!("{name:?}");
        let set = TestSet::load(name).unwrap();
        let (run_before, skipped_before) = (tally.run(), tally.skipped);
        for group in &set.test_groups {
            let alg = match group.hash {
                HashFunction::Sha2_256 => Algorithm::RS256,
                HashFunction::Sha2_384 => Algorithm::RS384,
                HashFunction::Sha2_512 => Algorithm::RS512,
                // SHA-224, SHA-512/t, SHA-3: no JWS algorithm.
                _ => {
                    tally.skipped += group.tests.len();
                    continue;
                }
            };
            let keys = rsa_keys(
                &mut tally,
                &set_name,
                alg,
                &RsaGroup {
                    key_size: group.key_size,
                    n: &group.key.n,
                    e: &group.key.e,
                    pkcs1: &group.asn_key,
                    spki: &group.der,
                    spki_may_be_pss: false,
                },
            );
            run_rsa_group(
                &mut tally,
                &set_name,
                alg,
                &keys,
                group.tests.iter().map(|t| {
                    (
                        t.tc_id,
                        t.comment.as_str(),
                        t.result,
                        t.msg.as_slice(),
                        t.sig.as_slice(),
                    )
                }),
            );
        }
        println!(
            "{set_name}: run {}, skipped {}",
            tally.run() - run_before,
            tally.skipped - skipped_before
        );
    }
    tally.finish("RSASSA-PKCS1-v1_5 (RS256, RS384, RS512)", 3000);
    for alg in [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512] {
        assert!(
            tally.per_alg.get(&alg).copied().unwrap_or(0) >= 700,
            "too few {alg:?} vectors"
        );
    }
}

/// Wycheproof's RSA signature sets (crate version 0.7) have no modulus under
/// 2048 bits, so the refusal is also checked on moduli derived from a
/// Wycheproof key: the same bytes one byte shorter (2040 bits), and with the
/// top byte lowered to 0x7f (2047 bits).
#[test]
fn rsa_moduli_under_2048_bits_are_refused() {
    use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};

    let set = TestSet::load(TestName::Rsa2048Sha256).unwrap();
    let group = &set.test_groups[0];
    let n: &[u8] = &group.key.n;
    let n = &n[n.iter().position(|b| *b != 0).unwrap()..];
    assert_eq!(n.len(), 256);
    assert!(n[0] & 0x80 != 0, "a 2048-bit modulus has its top bit set");
    let e: &[u8] = &group.key.e;
    let t = group
        .tests
        .iter()
        .find(|t| t.result == TestResult::Valid)
        .unwrap();

    // The unmodified 2048-bit key is accepted and verifies its valid vector.
    for alg in [Algorithm::RS256, Algorithm::PS256] {
        let key = VerifyingKey::from_rsa_components(alg, n, e).unwrap();
        if alg == Algorithm::RS256 {
            key.verify(&t.msg, &t.sig).unwrap();
        }
    }

    let shorter = &n[1..];
    let mut top_cleared = n.to_vec();
    top_cleared[0] = 0x7f;
    for (modulus, bits) in [(shorter, 2040), (top_cleared.as_slice(), 2047)] {
        for alg in [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ] {
            let err = VerifyingKey::from_rsa_components(alg, modulus, e).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::InvalidKey(KeyError::RsaTooSmall { bits: Some(b) }) if b == bits
                ),
                "{alg:?} with a {bits}-bit modulus: {err:?}"
            );
        }
    }
}

#[test]
fn rsa_pss_ps256_ps384_ps512() {
    use wycheproof::rsa_pss_verify::{TestGroupTypeId, TestName, TestSet};

    let mut tally = Tally::default();
    let mut pss_spki_refused_groups = 0usize;
    let mut jws_groups = 0usize;
    for name in TestName::all() {
        let set_name = format!("{name:?}");
        let set = TestSet::load(name).unwrap();
        let (run_before, skipped_before) = (tally.run(), tally.skipped);
        for group in &set.test_groups {
            // JWS: hash = MGF1 hash, salt length = hash length (RFC 7518 §3.5).
            let alg = match (group.mgf, group.hash, group.mgf_hash, group.salt_size) {
                (Mgf::Mgf1, HashFunction::Sha2_256, Some(HashFunction::Sha2_256), 32) => {
                    Algorithm::PS256
                }
                (Mgf::Mgf1, HashFunction::Sha2_384, Some(HashFunction::Sha2_384), 48) => {
                    Algorithm::PS384
                }
                (Mgf::Mgf1, HashFunction::Sha2_512, Some(HashFunction::Sha2_512), 64) => {
                    Algorithm::PS512
                }
                _ => {
                    tally.skipped += group.tests.len();
                    continue;
                }
            };
            jws_groups += 1;
            let keys = rsa_keys(
                &mut tally,
                &set_name,
                alg,
                &RsaGroup {
                    key_size: group.key_size,
                    n: &group.key.n,
                    e: &group.key.e,
                    pkcs1: &group.asn_key,
                    spki: &group.der,
                    spki_may_be_pss: group.test_type == TestGroupTypeId::RsaPssVerifyWithParam,
                },
            );
            if matches!(&keys, RsaGroupKeys::Built(built) if built.pss_spki_refused) {
                pss_spki_refused_groups += 1;
            }
            run_rsa_group(
                &mut tally,
                &set_name,
                alg,
                &keys,
                group.tests.iter().map(|t| {
                    (
                        t.tc_id,
                        t.comment.as_str(),
                        t.result,
                        t.msg.as_slice(),
                        t.sig.as_slice(),
                    )
                }),
            );
        }
        println!(
            "{set_name}: run {}, skipped {}",
            tally.run() - run_before,
            tally.skipped - skipped_before
        );
    }
    println!(
        "RSASSA-PSS: {jws_groups} JWS groups; {pss_spki_refused_groups} of them have an \
         id-RSASSA-PSS SPKI the crate refused (verified with n/e and PKCS#1 only)"
    );
    tally.finish("RSASSA-PSS (PS256, PS384, PS512)", 1000);
    assert!(
        tally.skipped >= 1000,
        "the non-JWS PSS groups were not seen"
    );
    for alg in [Algorithm::PS256, Algorithm::PS384, Algorithm::PS512] {
        assert!(
            tally.per_alg.get(&alg).copied().unwrap_or(0) >= 100,
            "too few {alg:?} vectors"
        );
    }
}

#[test]
fn hmac_hs256_hs384_hs512() {
    use wycheproof::mac::{TestName, TestSet};

    let mut tally = Tally::default();
    let sets = [
        (TestName::HmacSha256, Algorithm::HS256, 32usize),
        (TestName::HmacSha384, Algorithm::HS384, 48),
        (TestName::HmacSha512, Algorithm::HS512, 64),
    ];
    for (name, alg, hash_len) in sets {
        let set_name = format!("{name:?}");
        let set = TestSet::load(name).unwrap();
        let (mut full, mut truncated, mut short_key) = (0usize, 0usize, 0usize);
        for group in &set.test_groups {
            assert_eq!(group.key_size % 8, 0);
            assert_eq!(group.tag_size % 8, 0);
            let key_len = group.key_size / 8;
            let tag_len = group.tag_size / 8;
            for t in &group.tests {
                tally.count_alg(alg);
                assert_eq!(t.key.len(), key_len, "{set_name} tcId {}", t.tc_id);
                let built = VerifyingKey::hmac(alg, &t.key);
                if key_len < hash_len {
                    // RFC 7518 §3.2: the crate refuses a secret shorter than
                    // the hash output, whatever Wycheproof expects.
                    short_key += 1;
                    match built {
                        Err(Error::InvalidKey(KeyError::SecretTooShort { min, len }))
                            if min == hash_len && len == key_len =>
                        {
                            tally.refused_key += 1;
                        }
                        other => tally.fail(
                            &set_name,
                            t.tc_id,
                            &t.comment,
                            format!("{key_len}-byte secret not refused: {other:?}"),
                        ),
                    }
                    continue;
                }
                let Some(key) = must_build(&mut tally, &set_name, "hmac", alg, built) else {
                    continue;
                };
                let verified = verify_with(&[("hmac", &key)], &t.msg, &t.tag);
                if tag_len == hash_len {
                    full += 1;
                    match verified {
                        Ok(accepted) => {
                            tally.expect(&set_name, t.tc_id, &t.comment, t.result, accepted);
                        }
                        Err(why) => tally.fail(&set_name, t.tc_id, &t.comment, why),
                    }
                    if t.result == TestResult::Valid {
                        // The signing side produces the same tag.
                        let signer = SigningKey::hmac(alg, &t.key).unwrap();
                        if signer.sign(&t.msg).unwrap() != t.tag.as_slice() {
                            tally.fail(&set_name, t.tc_id, &t.comment, "sign() disagrees");
                        }
                    }
                } else {
                    // A truncated tag is never a JWS signature: even a
                    // correct truncation must be rejected.
                    truncated += 1;
                    match verified {
                        Ok(false) => tally.stricter += 1,
                        Ok(true) => tally.fail(
                            &set_name,
                            t.tc_id,
                            &t.comment,
                            format!("{tag_len}-byte truncated tag ACCEPTED"),
                        ),
                        Err(why) => tally.fail(&set_name, t.tc_id, &t.comment, why),
                    }
                    if t.result == TestResult::Valid {
                        // It really is the full tag cut short, and the full
                        // tag verifies: the rejection is for the truncation.
                        let full_tag = SigningKey::hmac(alg, &t.key).unwrap().sign(&t.msg).unwrap();
                        if full_tag.get(..tag_len) != Some(t.tag.as_slice()) {
                            tally.fail(&set_name, t.tc_id, &t.comment, "not a prefix of sign()");
                        }
                        if key.verify(&t.msg, &full_tag).is_err() {
                            tally.fail(&set_name, t.tc_id, &t.comment, "full tag rejected");
                        }
                    }
                }
            }
        }
        println!(
            "{set_name}: full-length tags {full}, truncated tags {truncated}, short secrets {short_key}"
        );
        assert!(full >= 80, "{set_name}: too few full-length vectors");
        assert!(truncated >= 80, "{set_name}: too few truncated vectors");
        assert!(short_key >= 1, "{set_name}: no short-secret vectors");
    }
    tally.finish("HMAC (HS256, HS384, HS512)", 500);
}
