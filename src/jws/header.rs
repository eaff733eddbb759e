use std::borrow::Cow;

use crate::error::{Error, Malformed};
use crate::json::walk_object;
use crate::jwt::ClaimStr;

use super::Algorithm;

/// A verified or decoded JOSE header (RFC 7515 §4).
///
/// Only the parameters the crate acts on are kept. Header parameters that
/// try to bring their own trust (`jwk`, `jku`, `x5u`, `x5c`) are never used
/// to find a key; the key always comes from the application's key store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) typ: Option<ClaimStr>,
    pub(crate) cty: Option<ClaimStr>,
    pub(crate) kid: Option<ClaimStr>,
}

impl Header {
    /// The signature algorithm (`alg`).
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The media type of the whole token (`typ`), such as `JWT` or `at+jwt`.
    pub fn typ(&self) -> Option<&str> {
        self.typ.as_deref()
    }

    /// The media type of the payload (`cty`).
    pub fn content_type(&self) -> Option<&str> {
        self.cty.as_deref()
    }

    /// The key id (`kid`).
    pub fn key_id(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Parses a decoded header.
    ///
    /// Checks, in order: a JSON object with unique member names; `alg`
    /// present, a string, and a supported algorithm; `typ`, `cty` and `kid`
    /// strings when present; no `crit` and no `b64` (no extension is
    /// understood, RFC 7515 §4.1.11, RFC 7797 §6).
    pub(crate) fn parse(bytes: &[u8]) -> Result<Self, Error> {
        HeaderRef::parse(bytes).map(HeaderRef::into_owned)
    }
}

/// The JSON of a header this crate emits, parameters in a fixed order,
/// from borrowed values.
pub(crate) fn header_json(
    alg: Algorithm,
    typ: Option<&str>,
    cty: Option<&str>,
    kid: Option<&str>,
) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(b"{\"alg\":\"");
    out.extend_from_slice(alg.as_str().as_bytes());
    out.push(b'"');
    for (name, value) in [("typ", typ), ("cty", cty), ("kid", kid)] {
        if let Some(v) = value {
            out.extend_from_slice(b",\"");
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"\":");
            serde_json::to_writer(&mut out, v).map_err(|_| Error::SigningFailed)?;
        }
    }
    out.push(b'}');
    Ok(out)
}

/// `true` when two `typ` values name the same media type: compared
/// case-insensitively, with an optional `application/` prefix on either
/// side (RFC 7515 §4.1.9).
pub(crate) fn typ_matches(expected: &str, actual: &str) -> bool {
    fn strip(s: &str) -> &str {
        const PREFIX: &str = "application/";
        match s.get(..PREFIX.len()) {
            Some(p) if p.eq_ignore_ascii_case(PREFIX) => s.get(PREFIX.len()..).unwrap_or(""),
            _ => s,
        }
    }
    strip(expected).eq_ignore_ascii_case(strip(actual))
}

/// A header read from a decoded segment, borrowing its strings where the
/// JSON has no escapes: the validator checks it without allocating, and
/// makes the owned [`Header`] only for a token that passed.
#[derive(Debug)]
pub(crate) struct HeaderRef<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) typ: Option<Cow<'a, str>>,
    pub(crate) cty: Option<Cow<'a, str>>,
    pub(crate) kid: Option<Cow<'a, str>>,
}

impl<'a> HeaderRef<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let mut alg = None;
        let mut typ = None;
        let mut cty = None;
        let mut kid = None;
        let mut critical = false;
        walk_object(
            bytes,
            |name| match name {
                "alg" => Some(0),
                "typ" => Some(1),
                "cty" => Some(2),
                "kid" => Some(3),
                "crit" => Some(4),
                "b64" => Some(5),
                _ => None,
            },
            |index, value| {
                let (slot, param) = match index {
                    0 => {
                        let name = value.into_str().ok_or(Malformed::Header("alg"))?;
                        alg = Some(Algorithm::from_name(&name)?);
                        return Ok(());
                    }
                    1 => (&mut typ, "typ"),
                    2 => (&mut cty, "cty"),
                    3 => (&mut kid, "kid"),
                    _ => {
                        critical = true;
                        return Ok(());
                    }
                };
                *slot = Some(value.into_str().ok_or(Malformed::Header(param))?);
                Ok(())
            },
        )?;
        let alg = alg.ok_or(Malformed::Header("alg"))?;
        if critical {
            return Err(Error::UnsupportedCriticalHeader);
        }
        Ok(Self { alg, typ, cty, kid })
    }

    pub(crate) fn into_owned(self) -> Header {
        Header {
            alg: self.alg,
            typ: self.typ.map(ClaimStr::from),
            cty: self.cty.map(ClaimStr::from),
            kid: self.kid.map(ClaimStr::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Header, Error> {
        Header::parse(s.as_bytes())
    }

    #[test]
    fn parses_known_parameters() {
        let h =
            parse(r#"{"alg":"ES256","typ":"at+jwt","kid":"k1","cty":"x","x5u":"https://evil"}"#)
                .unwrap();
        assert_eq!(h.algorithm(), Algorithm::ES256);
        assert_eq!(h.typ(), Some("at+jwt"));
        assert_eq!(h.key_id(), Some("k1"));
        assert_eq!(h.content_type(), Some("x"));
    }

    #[test]
    fn alg_must_be_a_supported_string() {
        assert!(matches!(
            parse(r#"{"alg":"none"}"#),
            Err(Error::UnsupportedAlgorithm)
        ));
        assert!(matches!(
            parse(r#"{"alg":"\u006eone"}"#),
            Err(Error::UnsupportedAlgorithm)
        ));
        assert_eq!(
            parse(r#"{"alg":"\u0048S256"}"#).unwrap().algorithm(),
            Algorithm::HS256
        );
        for bad in [
            r#"{"alg":256}"#,
            r#"{"alg":null}"#,
            r#"{"alg":["HS256"]}"#,
            r#"{}"#,
        ] {
            assert!(
                matches!(parse(bad), Err(Error::Malformed(Malformed::Header("alg")))),
                "{bad}"
            );
        }
    }

    #[test]
    fn crit_and_b64_are_rejected() {
        for h in [
            r#"{"alg":"HS256","b64":false,"crit":["b64"],"x":1}"#,
            r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
            r#"{"alg":"HS256","crit":[]}"#,
            r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
            r#"{"alg":"HS256","b64":true}"#,
        ] {
            assert!(
                matches!(parse(h), Err(Error::UnsupportedCriticalHeader)),
                "{h}"
            );
        }
    }

    #[test]
    fn string_parameters_are_typed() {
        assert!(matches!(
            parse(r#"{"alg":"HS256","kid":7}"#),
            Err(Error::Malformed(Malformed::Header("kid")))
        ));
        assert!(matches!(
            parse(r#"{"alg":"HS256","typ":null}"#),
            Err(Error::Malformed(Malformed::Header("typ")))
        ));
        assert!(matches!(
            parse(r#"{"alg":"HS256","alg":"HS256"}"#),
            Err(Error::Malformed(Malformed::DuplicateMember))
        ));
    }

    #[test]
    fn serializes_and_reparses() {
        let h = Header {
            alg: Algorithm::EdDSA,
            typ: Some("JWT".into()),
            cty: None,
            kid: Some("a\"b".into()),
        };
        let json =
            header_json(h.alg, h.typ.as_deref(), h.cty.as_deref(), h.kid.as_deref()).unwrap();
        assert_eq!(Header::parse(&json).unwrap(), h);
    }

    #[test]
    fn typ_comparison() {
        assert!(typ_matches("at+jwt", "at+jwt"));
        assert!(typ_matches("at+jwt", "AT+JWT"));
        assert!(typ_matches("at+jwt", "application/at+jwt"));
        assert!(typ_matches("application/at+jwt", "At+Jwt"));
        assert!(!typ_matches("at+jwt", "JWT"));
        assert!(!typ_matches("at+jwt", "application/jwt"));
        assert!(!typ_matches("at+jwt", "xapplication/at+jwt"));
    }
}
