use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Malformed};

use super::text::{Audience, ClaimStr};
use crate::json::{Number, Scalar, walk_object};

/// The largest NumericDate accepted: 9999-12-31T23:59:59Z.
pub(crate) const MAX_NUMERIC_DATE: i64 = 253_402_300_799;

/// A registered claim the validator can require (RFC 7519 §4.1, RFC 9068
/// §2.2, RFC 8693 §4.3). An enum, not a string, so a typo cannot silently
/// disable a check.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Claim {
    /// `iss`, the issuer.
    Issuer,
    /// `sub`, the subject.
    Subject,
    /// `aud`, the audience.
    Audience,
    /// `exp`, the expiration time.
    ExpiresAt,
    /// `nbf`, the time before which the token is not valid.
    NotBefore,
    /// `iat`, the time of issue.
    IssuedAt,
    /// `jti`, the token's unique id.
    JwtId,
    /// `scope`, the granted scopes (or the claim a validator reads them
    /// from instead, [`ValidatorBuilder::scope_claim`](crate::ValidatorBuilder::scope_claim)).
    Scope,
    /// `client_id`, the OAuth client the token was issued to.
    ClientId,
    /// `sid`, the session the token belongs to (a refresh token family).
    SessionId,
}

impl Claim {
    /// The claim's JSON member name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Issuer => "iss",
            Self::Subject => "sub",
            Self::Audience => "aud",
            Self::ExpiresAt => "exp",
            Self::NotBefore => "nbf",
            Self::IssuedAt => "iat",
            Self::JwtId => "jti",
            Self::Scope => "scope",
            Self::ClientId => "client_id",
            Self::SessionId => "sid",
        }
    }

    pub(crate) const fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The claims of a token: the registered claims this crate understands,
/// plus the application's own claims `T`.
///
/// Times are NumericDates: whole seconds since the Unix epoch (a fractional
/// value is truncated). `T` is deserialized from the whole claims object,
/// so it sees registered claims too and must not use
/// `#[serde(deny_unknown_fields)]`; when issuing, `T` must serialize to a
/// JSON object whose members do not repeat a registered claim name.
///
/// Strings are [`ClaimStr`]s and `aud` an [`Audience`]: they read as `&str`
/// and `&[ClaimStr]`, and those up to
/// [`INLINE_CLAIM_BYTES`](super::INLINE_CLAIM_BYTES) bytes (one
/// recipient, for `aud`) are kept without a heap allocation, so that
/// validating a typical token allocates nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Claims<T = NoCustomClaims> {
    /// `iss`: who issued the token.
    pub issuer: Option<ClaimStr>,
    /// `sub`: whom the token is about.
    pub subject: Option<ClaimStr>,
    /// `aud`: the recipients the token is for; `None` when absent (an empty
    /// list means the token carried `"aud":[]`).
    pub audience: Option<Audience>,
    /// `exp`: expiration time, seconds since the epoch.
    pub expires_at: Option<i64>,
    /// `nbf`: not valid before, seconds since the epoch.
    pub not_before: Option<i64>,
    /// `iat`: time of issue, seconds since the epoch.
    pub issued_at: Option<i64>,
    /// `jti`: unique token id.
    pub jwt_id: Option<ClaimStr>,
    /// The granted scopes, space-delimited: `scope` as RFC 8693 §4.2 and
    /// RFC 9068 §2.2.3 define it (a string), or as some providers send it
    /// (an array of strings, joined here with spaces). A validator
    /// configured with
    /// [`scope_claim`](crate::ValidatorBuilder::scope_claim) reads them from
    /// that claim instead (Okta's and Entra ID's `scp`), in either shape.
    pub scope: Option<ClaimStr>,
    /// `client_id`: the OAuth client (RFC 8693 §4.3, RFC 9068 §2.2).
    pub client_id: Option<ClaimStr>,
    /// `sid`: the session, here the refresh token family the token was
    /// minted from (OpenID Connect session id).
    pub session_id: Option<ClaimStr>,
    /// The application's own claims.
    pub custom: T,
}

impl<T> Claims<T> {
    /// `true` when `aud` contains `audience`.
    pub fn has_audience(&self, audience: &str) -> bool {
        self.audience.as_ref().is_some_and(|a| a.contains(audience))
    }

    /// The space-separated scope tokens of `scope`.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    pub(crate) fn with_custom<U>(self, custom: U) -> Claims<U> {
        Claims {
            issuer: self.issuer,
            subject: self.subject,
            audience: self.audience,
            expires_at: self.expires_at,
            not_before: self.not_before,
            issued_at: self.issued_at,
            jwt_id: self.jwt_id,
            scope: self.scope,
            client_id: self.client_id,
            session_id: self.session_id,
            custom,
        }
    }
}

const REGISTERED: [&str; 10] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "scope",
    "client_id",
    "sid",
];

impl<T: Serialize> Serialize for Claims<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_claims(s, &Registered::of(self), &self.custom)
    }
}

/// The registered claims of a token, borrowed: what [`Claims`] holds, and
/// what the token builder signs without copying its strings.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Registered<'a> {
    pub(crate) issuer: Option<&'a str>,
    pub(crate) subject: Option<&'a str>,
    pub(crate) audience: Option<&'a [ClaimStr]>,
    pub(crate) expires_at: Option<i64>,
    pub(crate) not_before: Option<i64>,
    pub(crate) issued_at: Option<i64>,
    pub(crate) jwt_id: Option<&'a str>,
    pub(crate) scope: Option<&'a str>,
    pub(crate) client_id: Option<&'a str>,
    pub(crate) session_id: Option<&'a str>,
}

impl<'a> Registered<'a> {
    pub(crate) fn of<T>(c: &'a Claims<T>) -> Self {
        Self {
            issuer: c.issuer.as_deref(),
            subject: c.subject.as_deref(),
            audience: c.audience.as_deref(),
            expires_at: c.expires_at,
            not_before: c.not_before,
            issued_at: c.issued_at,
            jwt_id: c.jwt_id.as_deref(),
            scope: c.scope.as_deref(),
            client_id: c.client_id.as_deref(),
            session_id: c.session_id.as_deref(),
        }
    }

    pub(crate) fn has(&self, claim: Claim) -> bool {
        match claim {
            Claim::Issuer => self.issuer.is_some(),
            Claim::Subject => self.subject.is_some(),
            Claim::Audience => self.audience.is_some(),
            Claim::ExpiresAt => self.expires_at.is_some(),
            Claim::NotBefore => self.not_before.is_some(),
            Claim::IssuedAt => self.issued_at.is_some(),
            Claim::JwtId => self.jwt_id.is_some(),
            Claim::Scope => self.scope.is_some(),
            Claim::ClientId => self.client_id.is_some(),
            Claim::SessionId => self.session_id.is_some(),
        }
    }
}

/// Registered claims and the application's, serialized as one object.
pub(crate) struct ClaimsView<'a, T> {
    pub(crate) registered: Registered<'a>,
    pub(crate) custom: &'a T,
}

impl<T: Serialize> Serialize for ClaimsView<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_claims(s, &self.registered, self.custom)
    }
}

fn serialize_claims<S: Serializer, T: Serialize>(
    s: S,
    r: &Registered<'_>,
    custom: &T,
) -> Result<S::Ok, S::Error> {
    use serde::ser::Error as _;
    let custom = serde_json::to_value(custom).map_err(S::Error::custom)?;
    let custom = match custom {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => serde_json::Map::new(),
        _ => {
            return Err(S::Error::custom(
                "custom claims must serialize to a JSON object",
            ));
        }
    };
    if let Some(name) = custom.keys().find(|k| REGISTERED.contains(&k.as_str())) {
        return Err(S::Error::custom(format!(
            "custom claim `{name}` repeats a registered claim"
        )));
    }
    let mut map = s.serialize_map(None)?;
    let strings = [
        ("iss", r.issuer),
        ("sub", r.subject),
        ("jti", r.jwt_id),
        ("scope", r.scope),
        ("client_id", r.client_id),
        ("sid", r.session_id),
    ];
    for (name, value) in strings {
        if let Some(v) = value {
            map.serialize_entry(name, v)?;
        }
    }
    match r.audience {
        Some([one]) => map.serialize_entry("aud", one)?,
        Some(many) => map.serialize_entry("aud", many)?,
        None => {}
    }
    for (name, value) in [
        ("exp", r.expires_at),
        ("nbf", r.not_before),
        ("iat", r.issued_at),
    ] {
        if let Some(v) = value {
            map.serialize_entry(name, &v)?;
        }
    }
    for (k, v) in &custom {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// The custom claims type for tokens that carry none the application
/// reads. Deserializes from any claims object and serializes to nothing.
/// The crate's own paths for it ([`Validator::validate`](crate::Validator::validate),
/// [`Authenticator::authenticate`](crate::Authenticator::authenticate))
/// do not run serde at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct NoCustomClaims;

impl Serialize for NoCustomClaims {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for NoCustomClaims {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = NoCustomClaims;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claims object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(NoCustomClaims)
            }
        }
        d.deserialize_map(V)
    }
}

/// Reads a NumericDate (RFC 7519 §2): a JSON number of seconds, finite,
/// non-negative and before year 10000; a fraction is truncated. Strings,
/// `null`, booleans and anything else are errors, never "absent".
fn numeric_date(value: Scalar<'_>, name: &'static str) -> Result<i64, Error> {
    let secs = match value {
        Scalar::Num(Number::Int(i)) => i,
        Scalar::Num(Number::Float(f))
            if f.is_finite() && (0.0..=MAX_NUMERIC_DATE as f64).contains(&f) =>
        {
            f.trunc() as i64
        }
        _ => return Err(Error::claim(name)),
    };
    if !(0..=MAX_NUMERIC_DATE).contains(&secs) {
        return Err(Error::claim(name));
    }
    Ok(secs)
}

#[inline]
pub(crate) fn string_claim(value: Scalar<'_>, name: &'static str) -> Result<ClaimStr, Error> {
    value
        .into_str()
        .map(ClaimStr::from)
        .ok_or_else(|| Error::claim(name))
}

/// `aud`: a string, or an array of strings (RFC 7519 §4.1.3).
fn audience(value: Scalar<'_>) -> Result<Audience, Error> {
    match value {
        Scalar::Str(one) => Ok(Audience::from(one)),
        Scalar::StrArray(many) => Ok(many.into_iter().collect()),
        _ => Err(Error::claim("aud")),
    }
}

/// The granted scopes, read from the claim `name` (`scope` unless a
/// validator names another): a space-delimited string (RFC 8693 §4.2,
/// RFC 9068 §2.2.3) kept as it is, or an array of strings (Okta's and Entra
/// ID's `scp`, some `scope` claims) joined with spaces. An array element
/// that is empty or holds a space is refused, since joined it would read
/// as other scopes than the element; a number, an object, `null` or an
/// array holding anything but strings is refused as well, never read as
/// "no scopes".
fn scope_claim(value: Scalar<'_>, name: &str) -> Result<ClaimStr, Error> {
    let invalid = || {
        if name == Claim::Scope.name() {
            Error::claim(Claim::Scope.name())
        } else {
            Error::claim(name.to_owned())
        }
    };
    match value {
        Scalar::Str(one) => Ok(ClaimStr::from(one)),
        Scalar::StrArray(many) => {
            let mut joined = String::new();
            for scope in &many {
                if scope.is_empty() || scope.contains(' ') {
                    return Err(invalid());
                }
                if !joined.is_empty() {
                    joined.push(' ');
                }
                joined.push_str(scope);
            }
            Ok(ClaimStr::from(joined))
        }
        _ => Err(invalid()),
    }
}

/// The index of `scope` in [`REGISTERED`].
const SCOPE_INDEX: u8 = 7;

/// Reads the registered claims with strict types, in one pass that skips
/// every other member. The scopes are read from `scope_name` (`scope`, or
/// the claim a validator names instead); a `scope` member is then not a
/// registered claim and is skipped like any other.
pub(crate) fn parse_registered(payload: &[u8], scope_name: &str) -> Result<Claims<()>, Error> {
    let mut c = Claims::<()>::default();
    walk_object(
        payload,
        |name| {
            if name == scope_name {
                Some(SCOPE_INDEX)
            } else {
                REGISTERED
                    .iter()
                    .position(|r| *r == name)
                    .map(|i| i as u8)
                    .filter(|i| *i != SCOPE_INDEX)
            }
        },
        |index, value| {
            match index {
                0 => c.issuer = Some(string_claim(value, "iss")?),
                1 => c.subject = Some(string_claim(value, "sub")?),
                2 => c.audience = Some(audience(value)?),
                3 => c.expires_at = Some(numeric_date(value, "exp")?),
                4 => c.not_before = Some(numeric_date(value, "nbf")?),
                5 => c.issued_at = Some(numeric_date(value, "iat")?),
                6 => c.jwt_id = Some(string_claim(value, "jti")?),
                SCOPE_INDEX => c.scope = Some(scope_claim(value, scope_name)?),
                8 => c.client_id = Some(string_claim(value, "client_id")?),
                _ => c.session_id = Some(string_claim(value, "sid")?),
            }
            Ok(())
        },
    )?;
    Ok(c)
}

/// Deserializes the application's claims type from the payload.
pub(crate) fn parse_custom<T: de::DeserializeOwned>(payload: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(payload).map_err(|_| Error::Malformed(Malformed::CustomClaims))
}

/// Parses a whole claims payload: registered claims strictly, then `T`.
pub(crate) fn parse_claims<T: de::DeserializeOwned>(payload: &[u8]) -> Result<Claims<T>, Error> {
    let registered = parse_registered(payload, Claim::Scope.name())?;
    Ok(registered.with_custom(parse_custom(payload)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(json: &str) -> Result<Claims<()>, Error> {
        parse_registered(json.as_bytes(), "scope")
    }

    fn is_claim_error(r: Result<Claims<()>, Error>, name: &str) -> bool {
        matches!(r, Err(Error::Malformed(Malformed::Claim(n))) if n == name)
    }

    #[test]
    fn no_custom_claims_reads_from_json_and_from_values() {
        let json = r#"{"iss":"a","n":[1,{"x":null}],"s":"\u00e9"}"#;
        assert_eq!(
            parse_custom::<NoCustomClaims>(json.as_bytes()).unwrap(),
            NoCustomClaims
        );
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::from_value::<NoCustomClaims>(value).unwrap(),
            NoCustomClaims
        );
        let claims = parse_claims::<NoCustomClaims>(json.as_bytes()).unwrap();
        assert_eq!(claims.issuer.as_deref(), Some("a"));
    }

    #[test]
    fn numeric_dates_are_strict() {
        assert_eq!(
            reg(r#"{"exp":1300819380}"#).unwrap().expires_at,
            Some(1300819380)
        );
        assert_eq!(
            reg(r#"{"exp":1300819380.9}"#).unwrap().expires_at,
            Some(1300819380)
        );
        assert_eq!(reg(r#"{"exp":0}"#).unwrap().expires_at, Some(0));
        assert_eq!(
            reg(r#"{"exp":1e9}"#).unwrap().expires_at,
            Some(1_000_000_000)
        );
        for bad in [
            r#"{"exp":"1300819380"}"#,
            r#"{"exp":null}"#,
            r#"{"exp":true}"#,
            r#"{"exp":-1}"#,
            r#"{"exp":-0.5}"#,
            r#"{"exp":253402300800}"#,
            r#"{"exp":18446744073709551615}"#,
            r#"{"exp":[1]}"#,
            r#"{"exp":{}}"#,
        ] {
            assert!(is_claim_error(reg(bad), "exp"), "{bad}");
        }
        assert!(is_claim_error(reg(r#"{"nbf":"0"}"#), "nbf"));
        assert!(is_claim_error(reg(r#"{"iat":null}"#), "iat"));
    }

    #[test]
    fn audience_forms() {
        assert_eq!(
            reg(r#"{"aud":"a"}"#).unwrap().audience,
            Some(Audience::from("a"))
        );
        assert_eq!(
            reg(r#"{"aud":["a","b"]}"#).unwrap().audience,
            Some(["a", "b"].into_iter().collect())
        );
        assert_eq!(
            reg(r#"{"aud":[]}"#).unwrap().audience,
            Some(Audience::new())
        );
        for bad in [
            r#"{"aud":1}"#,
            r#"{"aud":{"a":1}}"#,
            r#"{"aud":[["a"]]}"#,
            r#"{"aud":["a",1]}"#,
            r#"{"aud":null}"#,
        ] {
            assert!(is_claim_error(reg(bad), "aud"), "{bad}");
        }
    }

    #[test]
    fn string_claims_are_strict() {
        for name in ["iss", "sub", "jti", "client_id", "sid"] {
            assert!(is_claim_error(reg(&format!(r#"{{"{name}":1}}"#)), name));
            assert!(is_claim_error(reg(&format!(r#"{{"{name}":null}}"#)), name));
        }
    }

    #[test]
    fn scope_shapes() {
        let scope = |json: &str, name: &str| parse_registered(json.as_bytes(), name);
        assert_eq!(
            reg(r#"{"scope":"a  b"}"#).unwrap().scope.as_deref(),
            Some("a  b")
        );
        assert_eq!(
            reg(r#"{"scope":["a","b:c"]}"#).unwrap().scope.as_deref(),
            Some("a b:c")
        );
        assert_eq!(reg(r#"{"scope":[]}"#).unwrap().scope.as_deref(), Some(""));
        for bad in [
            r#"{"scope":1}"#,
            r#"{"scope":null}"#,
            r#"{"scope":true}"#,
            r#"{"scope":{"a":"b"}}"#,
            r#"{"scope":["a",1]}"#,
            r#"{"scope":["a",["b"]]}"#,
            r#"{"scope":["a b"]}"#,
            r#"{"scope":[""]}"#,
        ] {
            assert!(is_claim_error(reg(bad), "scope"), "{bad}");
        }
        // Another claim named: read there, in either shape; `scope` is then
        // an unregistered member.
        let c = scope(r#"{"scope":"x","scp":["a","b"]}"#, "scp").unwrap();
        assert_eq!(c.scope.as_deref(), Some("a b"));
        let c = scope(r#"{"scope":7,"scp":"a"}"#, "scp").unwrap();
        assert_eq!(c.scope.as_deref(), Some("a"));
        assert_eq!(scope(r#"{"scope":"x"}"#, "scp").unwrap().scope, None);
        for bad in [r#"{"scp":1}"#, r#"{"scp":["a",{}]}"#, r#"{"scp":{}}"#] {
            assert!(is_claim_error(scope(bad, "scp"), "scp"), "{bad}");
        }
    }

    #[test]
    fn serializes_registered_then_custom_and_refuses_collisions() {
        #[derive(Serialize)]
        struct Custom {
            role: &'static str,
        }
        let c = Claims {
            issuer: Some("i".into()),
            audience: Some(Audience::from("a")),
            expires_at: Some(5),
            custom: Custom { role: "admin" },
            ..Claims::<()>::default().with_custom(Custom { role: "" })
        };
        assert_eq!(
            serde_json::to_string(&c).unwrap(),
            r#"{"iss":"i","aud":"a","exp":5,"role":"admin"}"#
        );
        #[derive(Serialize)]
        struct Bad {
            exp: i64,
        }
        let bad = Claims::<()>::default().with_custom(Bad { exp: 1 });
        assert!(serde_json::to_string(&bad).is_err());
    }
}
