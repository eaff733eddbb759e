//! The rows: which operation each library runs, on which input.

use std::rc::Rc;

use tokengate::NoCustomClaims;

use crate::fixtures::{Alg, ClaimsRef, RingKeys, SUB, Token, garbage, run_nbf, token, token_with};
use crate::harness::{Cell, Col, Row, cell};
use crate::jwt_rs::Backend;
use crate::{Res, Signer, js, jwt_rs, ring_floor, tg};

/// Builds every row, in table order.
pub(crate) fn all(keys: &Rc<RingKeys>, run_start: i64) -> Res<Vec<Row>> {
    let nbf = run_nbf(run_start);
    let hs = token(keys, Alg::Hs256, run_start)?;
    let mut rows = vec![
        verify_row("HS256 verify+decode", keys, Alg::Hs256, &hs, true)?,
        sign_row("HS256 sign", keys, Alg::Hs256, &hs, nbf)?,
    ];
    let es = token(keys, Alg::Es256, run_start)?;
    rows.push(sign_row("ES256 sign", keys, Alg::Es256, &es, nbf)?);
    rows.push(verify_row("ES256 verify", keys, Alg::Es256, &es, true)?);
    for (name, alg) in [
        ("EdDSA verify", Alg::EdDsa),
        ("RS256 verify", Alg::Rs256),
        ("PS256 verify", Alg::Ps256),
        ("ES384 verify", Alg::Es384),
    ] {
        let t = token(keys, alg, run_start)?;
        rows.push(verify_row(name, keys, alg, &t, true)?);
    }
    rows.push(garbage_row(keys)?);
    let claims = ClaimsRef {
        exp: run_start + 86_400,
        ..ClaimsRef::at(run_start, nbf)
    };
    let wrong = token_with(keys, Alg::Hs256, &claims, true)?;
    rows.push(verify_row(
        "reject HS256 wrong signature",
        keys,
        Alg::Hs256,
        &wrong,
        false,
    )?);
    Ok(rows)
}

/// Every library validating `t`; `expect` says whether it must accept.
fn verify_row(
    name: &'static str,
    keys: &Rc<RingKeys>,
    alg: Alg,
    t: &Token,
    expect: bool,
) -> Res<Row> {
    let mut cells = vec![
        ring_floor::ring_verify(keys, alg, &t.signing_input, &t.signature, expect),
        ring_floor::floor_verify(keys, alg, &t.compact, expect),
    ];
    cells.extend(verify_peers(alg, &t.compact, expect)?);
    Ok(Row { name, cells })
}

/// tokengate and the peers validating `token`.
fn verify_peers(alg: Alg, token: &str, expect: bool) -> Res<Vec<Cell>> {
    let mut cells = vec![tg::verify(alg, token, expect)?];
    for b in Backend::BOTH {
        cells.push(jwt_rs::verify(alg, b, token, expect)?);
    }
    cells.push(js::verify(alg, token, expect)?);
    Ok(cells)
}

/// 300 bytes of garbage against HS256 validators: no ring column (there
/// is nothing to verify).
fn garbage_row(keys: &Rc<RingKeys>) -> Res<Row> {
    let g = garbage();
    let mut cells = vec![ring_floor::floor_verify(keys, Alg::Hs256, &g, false)];
    cells.extend(verify_peers(Alg::Hs256, &g, false)?);
    Ok(Row {
        name: "reject garbage (300 B, no dots)",
        cells,
    })
}

/// Every library minting a token with the standard claims. Each signer's
/// output must validate with tokengate first.
fn sign_row(name: &'static str, keys: &Rc<RingKeys>, alg: Alg, t: &Token, nbf: i64) -> Res<Row> {
    let validator = tg::validator(alg)?;
    let checked = |col: Col, select: fn(), mut s: Signer| -> Res<Cell> {
        select();
        let minted = s()?;
        let ok = validator
            .validate(&minted)
            .map_err(|e| format!("{name} / {}: tokengate rejects its token: {e}", col.label()))?;
        if ok.subject() != Some(SUB) {
            return Err(format!("{name} / {}: wrong subject", col.label()).into());
        }
        Ok(cell(col, select, move || s().is_ok_and(|x| !x.is_empty())))
    };
    let nothing: fn() = || {};
    let mut cells = vec![
        ring_floor::ring_sign(keys, alg, &t.signing_input)?,
        checked(
            Col::Floor,
            nothing,
            ring_floor::floor_signer(keys, alg, nbf),
        )?,
        checked(Col::Tokengate, nothing, tg::signer(alg, nbf)?)?,
    ];
    for b in Backend::BOTH {
        cells.push(checked(
            jwt_rs::col(b),
            b.select(),
            jwt_rs::signer(alg, nbf)?,
        )?);
    }
    cells.push(checked(Col::JwtSimple, nothing, js::signer(alg, nbf)?)?);
    Ok(Row { name, cells })
}
