//! Strict, single-pass reading of the top-level members of a JSON object,
//! shared by header and claims parsing.
//!
//! The object is read once: each member the caller wants comes back as a
//! [`Scalar`] (strings borrowed from the input unless they hold escapes),
//! every other value is skipped without being built. Repeated member names
//! are rejected (RFC 7515 §5.2, RFC 7519 §4): a parser that kept the first
//! or the last of two `alg` or `exp` members would let two implementations
//! disagree about the same token.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::error::{Error, Malformed};

/// Above this many members, duplicates are found with a hash set instead of
/// a linear scan, so a hostile object cannot cost quadratic time.
const LINEAR_SCAN_MAX: usize = 16;

/// A JSON number, as far as NumericDates care.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Number {
    /// An integer that fits `i64`.
    Int(i64),
    /// A number with a fraction or exponent.
    Float(f64),
    /// A positive integer beyond `i64`.
    TooLarge,
}

/// A member value, typed only as far as the crate needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar<'de> {
    /// A string.
    Str(Cow<'de, str>),
    /// A number.
    Num(Number),
    /// An array whose elements are all strings.
    StrArray(Vec<Cow<'de, str>>),
    /// Anything else: `null`, a boolean, an object, a mixed array.
    Other,
}

impl<'de> Scalar<'de> {
    /// The string, if this is one.
    pub(crate) fn into_str(self) -> Option<Cow<'de, str>> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Reads one JSON object from `bytes`. For each member, in document order,
/// `known(name)` gives the index (below 64) of a member the caller wants;
/// its value is read as a [`Scalar`] and handed to `on(index, value)`.
/// Other members are skipped. The first error `on` returns stops the walk
/// and is returned as is. Known members are checked for repeats with a
/// bit mask, the others by name.
///
/// # Errors
///
/// [`Malformed::Json`] for anything but exactly one well-formed JSON object
/// (invalid UTF-8, a byte-order mark and trailing data included);
/// [`Malformed::DuplicateMember`] for a repeated member name, however it is
/// escaped; the errors of `on`.
pub(crate) fn walk_object<'de, W, F>(bytes: &'de [u8], known: W, on: F) -> Result<(), Error>
where
    W: Fn(&str) -> Option<u8>,
    F: FnMut(u8, Scalar<'de>) -> Result<(), Error>,
{
    let mut failure: Option<Error> = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let walked = de.deserialize_map(ObjectVisitor {
        known,
        on,
        failure: &mut failure,
    });
    let result = walked.and_then(|()| de.end());
    match (failure, result) {
        (Some(e), _) => Err(e),
        (None, Ok(())) => Ok(()),
        (None, Err(_)) => Err(Error::Malformed(Malformed::Json)),
    }
}

struct ObjectVisitor<'f, W, F> {
    known: W,
    on: F,
    failure: &'f mut Option<Error>,
}

impl<'de, W, F> Visitor<'de> for ObjectVisitor<'_, W, F>
where
    W: Fn(&str) -> Option<u8>,
    F: FnMut(u8, Scalar<'de>) -> Result<(), Error>,
{
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        // The first error `on` reports waits until the whole object has been
        // read, so that a repeated member is reported as such whatever the
        // order of the members.
        let mut pending: Option<Error> = None;
        let mut seen_known: u64 = 0;
        // Up to LINEAR_SCAN_MAX other names on the stack, then a hash set.
        let mut seen: [Cow<'de, str>; LINEAR_SCAN_MAX] = Default::default();
        let mut count = 0usize;
        let mut many: Option<HashSet<Cow<'de, str>>> = None;
        while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
            if let Some(index) = (self.known)(&key) {
                let bit = 1u64.checked_shl(u32::from(index)).unwrap_or(0);
                if seen_known & bit != 0 {
                    return Err(self.fail(Error::Malformed(Malformed::DuplicateMember)));
                }
                seen_known |= bit;
                if pending.is_some() {
                    map.next_value_seed(Skip(1))?;
                    continue;
                }
                let value = map.next_value::<Scalar<'de>>()?;
                if let Err(e) = (self.on)(index, value) {
                    pending = Some(e);
                }
                continue;
            }
            let duplicate = match many.as_mut() {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let earlier = seen.get(..count).unwrap_or_default();
                    let dup = earlier.contains(&key);
                    if !dup {
                        match seen.get_mut(count) {
                            Some(slot) => {
                                *slot = key;
                                count = count.saturating_add(1);
                            }
                            None => {
                                let mut set: HashSet<Cow<'de, str>> =
                                    seen.iter().cloned().collect();
                                set.insert(key);
                                many = Some(set);
                            }
                        }
                    }
                    dup
                }
            };
            if duplicate {
                return Err(self.fail(Error::Malformed(Malformed::DuplicateMember)));
            }
            map.next_value_seed(Skip(1))?;
        }
        match pending {
            Some(e) => Err(self.fail(e)),
            None => Ok(()),
        }
    }
}

/// Nesting allowed inside a member's value, as serde_json allows for the
/// values it builds: deeper values are malformed even when nobody reads
/// them.
const MAX_DEPTH: usize = 128;

/// Skips one value without building it, refusing nesting past
/// [`MAX_DEPTH`].
#[derive(Clone, Copy)]
struct Skip(usize);

impl<'de> DeserializeSeed<'de> for Skip {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.deeper::<A::Error>()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.deeper::<A::Error>()?;
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(inner)?;
        }
        Ok(())
    }
}

impl Skip {
    fn deeper<E: de::Error>(self) -> Result<Skip, E> {
        if self.0 >= MAX_DEPTH {
            Err(E::custom("nested too deeply"))
        } else {
            Ok(Skip(self.0.saturating_add(1)))
        }
    }
}

impl<W, F> ObjectVisitor<'_, W, F> {
    fn fail<E: de::Error>(&mut self, e: Error) -> E {
        *self.failure = Some(e);
        E::custom("rejected")
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Num(Number::Int(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::Num(
            i64::try_from(v).map_or(Number::TooLarge, Number::Int),
        ))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Num(Number::Float(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Other)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        // Elements are one level down from the member.
        let mut strings = Vec::new();
        let mut all_strings = true;
        while let Some(item) = seq.next_element_seed(ElementSeed)? {
            match (item, all_strings) {
                (Some(s), true) => strings.push(s),
                (None, _) => all_strings = false,
                (Some(_), false) => {}
            }
        }
        Ok(if all_strings {
            Scalar::StrArray(strings)
        } else {
            Scalar::Other
        })
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip(2))?;
        }
        Ok(Scalar::Other)
    }
}

/// An array element: `Some` string, or `None` for any other value (which
/// is skipped without being built).
struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Option<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Cow::Owned(v)))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element_seed(Skip(3))?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_key::<IgnoredAny>()?.is_some() {
            map.next_value_seed(Skip(3))?;
        }
        Ok(None)
    }
}

/// A JSON string, borrowed from the input unless it contains escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonStr<'a>(pub(crate) Cow<'a, str>);

impl<'de> Deserialize<'de> for JsonStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = JsonStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(JsonStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: [&str; 9] = ["a", "b", "c", "e", "f", "g", "h", "i", "alg"];

    fn collect(json: &[u8]) -> Result<Vec<(String, Scalar<'_>)>, Error> {
        let mut out = Vec::new();
        walk_object(
            json,
            |k| NAMES.iter().position(|n| *n == k).map(|i| i as u8),
            |i, v| {
                out.push((NAMES[usize::from(i)].to_owned(), v));
                Ok(())
            },
        )?;
        Ok(out)
    }

    #[test]
    fn reads_members_in_order() {
        let m = collect(
            br#"{"a":1,"b":"x\u0041","c":{"d":[1,2]},"e":["p","q"],"f":[1,"p"],"g":-2.5,"h":18446744073709551615,"skip":[[[]]],"i":null}"#,
        )
        .unwrap();
        let names: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "e", "f", "g", "h", "i"]);
        assert_eq!(m[0].1, Scalar::Num(Number::Int(1)));
        assert_eq!(m[1].1, Scalar::Str(Cow::Borrowed("xA")));
        assert_eq!(m[2].1, Scalar::Other);
        assert_eq!(m[3].1, Scalar::StrArray(vec!["p".into(), "q".into()]));
        assert_eq!(m[4].1, Scalar::Other);
        assert_eq!(m[5].1, Scalar::Num(Number::Float(-2.5)));
        assert_eq!(m[6].1, Scalar::Num(Number::TooLarge));
        assert_eq!(m[7].1, Scalar::Other);
    }

    #[test]
    fn rejects_duplicates_including_escaped_spellings() {
        for json in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"alg":"HS256","\u0061lg":"none"}"#,
            br#"{"skip":1,"skip":2}"#,
            br#"{"skip":1,"\u0073kip":2}"#,
        ] {
            assert!(matches!(
                collect(json),
                Err(Error::Malformed(Malformed::DuplicateMember))
            ));
        }
    }

    #[test]
    fn rejects_duplicates_among_many_members() {
        let mut json = String::from("{");
        for i in 0..100 {
            json.push_str(&format!("\"m{i}\":0,"));
        }
        json.push_str("\"m7\":1}");
        assert!(matches!(
            collect(json.as_bytes()),
            Err(Error::Malformed(Malformed::DuplicateMember))
        ));
    }

    #[test]
    fn nesting_is_limited_even_where_nobody_reads() {
        let deep = |n: usize| format!("{{\"x\":{}1{}}}", "[".repeat(n), "]".repeat(n));
        assert!(collect(deep(100).as_bytes()).is_ok());
        assert!(matches!(
            collect(deep(200).as_bytes()),
            Err(Error::Malformed(Malformed::Json))
        ));
        let deep_in_known = format!("{{\"a\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        assert!(collect(deep_in_known.as_bytes()).is_err());
        let objects = format!("{{\"x\":{}1{}}}", "{\"k\":".repeat(200), "}".repeat(200));
        assert!(matches!(
            collect(objects.as_bytes()),
            Err(Error::Malformed(Malformed::Json))
        ));
    }

    #[test]
    fn a_repeat_is_reported_whatever_the_callers_verdict_on_the_first() {
        let r = walk_object(
            br#"{"alg":"none","x":1,"alg":"HS256"}"#,
            |k| (k == "alg").then_some(0),
            |_, _| Err(Error::UnsupportedAlgorithm),
        );
        assert!(matches!(
            r,
            Err(Error::Malformed(Malformed::DuplicateMember))
        ));
    }

    #[test]
    fn the_callers_error_wins() {
        let r = walk_object(
            br#"{"a":1,"b":2}"#,
            |k| (k == "b").then_some(0),
            |_, _| Err(Error::InvalidIssuer),
        );
        assert!(matches!(r, Err(Error::InvalidIssuer)));
    }

    #[test]
    fn rejects_non_objects_and_trailing_data() {
        for json in [
            &b"[]"[..],
            b"1",
            b"\"x\"",
            b"{",
            b"{} {}",
            b"{}x",
            b"\xef\xbb\xbf{}",
            b"{\"a\":\"\xff\"}",
            b"",
            b"{\"a\":1e400}",
        ] {
            assert!(
                matches!(collect(json), Err(Error::Malformed(Malformed::Json))),
                "{json:?}"
            );
        }
        assert!(collect(b" {} \n").is_ok());
    }
}
