//! The rows: which operation each library runs, on which input.

use std::rc::Rc;

use crate::fixtures::{
    Alg, ClaimsRef, RingKeys, SUB, Token, garbage, garbage_segments, run_nbf, token, token_with,
};
use crate::harness::{Cell, Col, Row, cell};
use crate::jwt_rs::Backend;
use crate::shared::{Kind, ROWS, RowSpec};
use crate::{Res, Signer, js, jwt_rs, ring_floor, tg};

/// The input of every row, in table order: the token each validator gets
/// (signed once with ring, valid for a day from `run_start`) or `-` for the
/// sign rows.
pub(crate) fn inputs(keys: &RingKeys, run_start: i64) -> Res<Vec<(RowSpec, String)>> {
    let mut out = Vec::with_capacity(ROWS.len());
    for spec in ROWS {
        let alg = alg(spec)?;
        let input = match (spec.kind, spec.key) {
            (Kind::Sign, _) => "-".to_owned(),
            (_, "garbage") => garbage(),
            (_, "garbage-segments") => garbage_segments(),
            (_, "hs256-wrong-signature") => {
                let claims = ClaimsRef {
                    exp: run_start + 86_400,
                    ..ClaimsRef::at(run_start, run_nbf(run_start))
                };
                token_with(keys, alg, &claims, true)?.compact
            }
            _ => token(keys, alg, run_start)?.compact,
        };
        out.push((spec, input));
    }
    Ok(out)
}

fn alg(spec: RowSpec) -> Res<Alg> {
    Alg::from_name(spec.alg).ok_or_else(|| format!("{}: unknown alg", spec.key).into())
}

/// The row `spec` over `input`, with every in-process column.
pub(crate) fn build(keys: &Rc<RingKeys>, spec: RowSpec, input: &str, nbf: i64) -> Res<Row> {
    let alg = alg(spec)?;
    let cells = match spec.kind {
        Kind::Sign => sign_cells(spec.name, keys, alg, nbf)?,
        Kind::Verify | Kind::Reject if spec.key.starts_with("garbage") => {
            garbage_cells(keys, input)?
        }
        Kind::Verify | Kind::Reject => verify_cells(
            keys,
            alg,
            &Token::from_compact(input)?,
            spec.kind == Kind::Verify,
        )?,
    };
    Ok(Row {
        spec,
        input: input.to_owned(),
        nbf,
        cells,
    })
}

/// Every library validating `t`; `expect` says whether it must accept.
fn verify_cells(keys: &Rc<RingKeys>, alg: Alg, t: &Token, expect: bool) -> Res<Vec<Cell>> {
    let mut cells = vec![
        ring_floor::ring_verify(keys, alg, &t.signing_input, &t.signature, expect),
        ring_floor::floor_verify(keys, alg, &t.compact, expect),
    ];
    cells.extend(verify_peers(alg, &t.compact, expect)?);
    Ok(cells)
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
fn garbage_cells(keys: &Rc<RingKeys>, g: &str) -> Res<Vec<Cell>> {
    let mut cells = vec![ring_floor::floor_verify(keys, Alg::Hs256, g, false)];
    cells.extend(verify_peers(Alg::Hs256, g, false)?);
    Ok(cells)
}

/// Every library minting a token with the standard claims. Each signer's
/// output must validate with tokengate first.
fn sign_cells(name: &'static str, keys: &Rc<RingKeys>, alg: Alg, nbf: i64) -> Res<Vec<Cell>> {
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
    // The ring column signs a token's signing input of the same shape.
    let sample = token(keys, alg, crate::fixtures::now_unix())?;
    let mut cells = vec![
        ring_floor::ring_sign(keys, alg, &sample.signing_input)?,
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
    Ok(cells)
}
