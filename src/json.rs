//! Strict, single-pass reading of a JSON object, shared by header and
//! claims parsing.
//!
//! The object is read once: each top-level member the caller wants comes
//! back as a [`Scalar`] (strings borrowed from the input unless they hold
//! escapes), every other value is skipped without being built. What the
//! walk refuses, in the whole document and not only at the top level:
//!
//! - **Repeated member names, in every object at every depth** (RFC 7515
//!   §5.2, RFC 7519 §4, RFC 7493 §2.3): a parser that kept the first or the
//!   last of two `alg`, `exp` or `roles.admin` members would let two
//!   implementations disagree about the same token. The application's
//!   claims type is deserialized by serde (which keeps the last of two
//!   members) from the same bytes only after this walk accepted them, so
//!   it never sees a repeat; for `NoCustomClaims` the payload is not parsed
//!   a second time at all. Names are compared after unescaping.
//! - **Numbers outside the f64 range, anywhere** (`1e400`, `-1e309`, an
//!   integer literal of 400 digits; RFC 7493 §2.2): serde_json refuses
//!   them, and skipped values are read with `deserialize_any`, which parses
//!   every number, never with `deserialize_ignored_any`, which would let
//!   them through unread. Such a header or claims object is
//!   [`Malformed::Json`], so no later parser can round the number to
//!   infinity or drop it.
//! - Nesting deeper than [`MAX_DEPTH`] inside a member, anything but one
//!   UTF-8 JSON object, and trailing data.
//!
//! Each object's names are kept while it is open: up to
//! [`LINEAR_SCAN_MAX`] per object are scanned linearly, more go to a hash
//! set, so a hostile object cannot cost quadratic time. The top level keeps
//! its names on the stack and the caller's members in a bit mask; nested
//! objects share one buffer, allocated only when a nested object has
//! members.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use arrayvec::ArrayVec;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

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

/// Reads one JSON object from `bytes`. For each top-level member, in
/// document order, `known(name)` gives the index of a member the caller
/// wants; its value is read as a [`Scalar`] and handed to
/// `on(index, value)`. Other members are skipped, but still read in full:
/// the rules of the module docs hold at every depth. The first error `on`
/// returns is returned once the whole object has been read (a repeated
/// member or malformed JSON later in the object wins over it). Known
/// members are checked for repeats with a bit mask (by name for an index
/// past 63), the others by name. Bytes that are not UTF-8 are found before
/// anything is read: such a document is [`Malformed::Json`] even when it
/// also repeats a member.
///
/// # Errors
///
/// [`Malformed::Json`] for anything but exactly one well-formed JSON object
/// (invalid UTF-8, a byte-order mark, trailing data and numbers beyond the
/// f64 range included);
/// [`Malformed::DuplicateMember`] for a repeated member name in any object
/// of the document, however it is escaped; the errors of `on`.
pub(crate) fn walk_object<'de, W, F>(bytes: &'de [u8], known: W, on: F) -> Result<(), Error>
where
    W: Fn(&str) -> Option<u8>,
    F: FnMut(u8, Scalar<'de>) -> Result<(), Error>,
{
    // Anything but an object is refused before serde_json sees it: its
    // error is boxed, and garbage must cost no allocation.
    let first = bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
    if first != Some(&b'{') {
        return Err(Error::Malformed(Malformed::Json));
    }
    // UTF-8 is checked once over the whole document (a vectorized scan of
    // ASCII), and serde_json then reads text it need not check again: read
    // as bytes, it checks every string it meets, one call per string.
    let text = std::str::from_utf8(bytes).map_err(|_| Error::Malformed(Malformed::Json))?;
    let mut walk = Walk {
        names: Vec::new(),
        failure: None,
    };
    let mut de = serde_json::Deserializer::from_str(text);
    let walked = de.deserialize_map(ObjectVisitor {
        known,
        on,
        walk: &mut walk,
    });
    let result = walked.and_then(|()| de.end());
    match (walk.failure, result) {
        (Some(e), _) => Err(e),
        (None, Ok(())) => Ok(()),
        (None, Err(_)) => Err(Error::Malformed(Malformed::Json)),
    }
}

/// The state one walk shares between its levels.
struct Walk<'de> {
    /// The member names of the nested objects open now, outermost first:
    /// each object's names follow those of the object around it, and are
    /// dropped when it closes.
    names: Vec<Cow<'de, str>>,
    /// Why the walk stopped, when it was not serde_json's own error.
    failure: Option<Error>,
}

impl Walk<'_> {
    /// Records `e` as the reason and returns the error that stops serde.
    fn fail<E: de::Error>(&mut self, e: Error) -> E {
        self.failure = Some(e);
        E::custom("rejected")
    }
}

/// The names of one nested object, kept in [`Walk::names`] from `start`
/// while there are few, in a hash set once there are many.
struct NestedNames<'de> {
    start: usize,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> NestedNames<'de> {
    fn open(names: &[Cow<'de, str>]) -> Self {
        Self {
            start: names.len(),
            many: None,
        }
    }

    /// `true` when this object already has a member `name`; records it
    /// otherwise.
    fn repeat(&mut self, names: &mut Vec<Cow<'de, str>>, name: Cow<'de, str>) -> bool {
        if let Some(set) = self.many.as_mut() {
            return !set.insert(name);
        }
        let mine = names.get(self.start..).unwrap_or_default();
        if mine.contains(&name) {
            return true;
        }
        if mine.len() < LINEAR_SCAN_MAX {
            names.push(name);
        } else {
            // Nested objects opened later start where this one's names
            // end, which is now `start` again.
            let mut set: HashSet<Cow<'de, str>> = names.drain(self.start..).collect();
            set.insert(name);
            self.many = Some(set);
        }
        false
    }

    fn close(self, names: &mut Vec<Cow<'de, str>>) {
        names.truncate(self.start);
    }
}

/// The names of the top-level object that the caller does not map to a
/// bit: up to [`LINEAR_SCAN_MAX`] borrowed names on the stack (nothing to
/// drop), then, or from the first name that had to be unescaped, a hash
/// set.
struct TopNames<'de> {
    few: ArrayVec<&'de str, LINEAR_SCAN_MAX>,
    many: Option<HashSet<Cow<'de, str>>>,
}

impl<'de> TopNames<'de> {
    /// `true` when `name` was seen before; records it otherwise.
    fn repeat(&mut self, name: Cow<'de, str>) -> bool {
        if let Some(set) = self.many.as_mut() {
            return !set.insert(name);
        }
        if self.few.contains(&name.as_ref()) {
            return true;
        }
        match name {
            Cow::Borrowed(borrowed) if !self.few.is_full() => self.few.push(borrowed),
            name => {
                let mut set: HashSet<Cow<'de, str>> =
                    self.few.iter().map(|n| Cow::Borrowed(*n)).collect();
                set.insert(name);
                self.many = Some(set);
            }
        }
        false
    }
}

struct ObjectVisitor<'w, 'de, W, F> {
    known: W,
    on: F,
    walk: &'w mut Walk<'de>,
}

impl<'de, W, F> Visitor<'de> for ObjectVisitor<'_, 'de, W, F>
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
        let mut others = TopNames {
            few: ArrayVec::new(),
            many: None,
        };
        while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
            let Some(index) = (self.known)(&key) else {
                if others.repeat(key) {
                    return Err(self.walk.fail(Error::Malformed(Malformed::DuplicateMember)));
                }
                map.next_value_seed(Skip {
                    depth: 1,
                    walk: &mut *self.walk,
                })?;
                continue;
            };
            let repeat = match 1u64.checked_shl(u32::from(index)) {
                Some(bit) => {
                    let repeat = seen_known & bit != 0;
                    seen_known |= bit;
                    repeat
                }
                // No room in the mask past index 63: remember the name.
                // Known and other names never collide, so they can share.
                None => others.repeat(key),
            };
            if repeat {
                return Err(self.walk.fail(Error::Malformed(Malformed::DuplicateMember)));
            }
            if pending.is_some() {
                map.next_value_seed(Skip {
                    depth: 1,
                    walk: &mut *self.walk,
                })?;
                continue;
            }
            let value = map.next_value_seed(ScalarSeed(&mut *self.walk))?;
            if let Err(e) = (self.on)(index, value) {
                pending = Some(e);
            }
        }
        match pending {
            Some(e) => Err(self.walk.fail(e)),
            None => Ok(()),
        }
    }
}

/// Nesting allowed inside a member's value, as serde_json allows for the
/// values it builds: deeper values are malformed even when nobody reads
/// them.
const MAX_DEPTH: usize = 128;

/// The level below `depth`, or an error past [`MAX_DEPTH`].
fn deeper<E: de::Error>(depth: usize) -> Result<usize, E> {
    if depth >= MAX_DEPTH {
        Err(E::custom("nested too deeply"))
    } else {
        Ok(depth.saturating_add(1))
    }
}

/// The one member name of the map serde_json hands a visitor for a number
/// when its `arbitrary_precision` feature is on (any crate of the
/// application can switch it on: cargo unifies features). Its value is the
/// number's text.
const ARBITRARY_PRECISION_NUMBER: &str = "$serde_json::private::Number";

/// `true` when this build's serde_json hands numbers over as
/// [`ARBITRARY_PRECISION_NUMBER`] maps. Asked once; without the feature, an
/// object that happens to have that member name stays an object.
fn numbers_arrive_as_maps() -> bool {
    static ANSWER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ANSWER.get_or_init(|| {
        struct Probe;
        impl<'de> Visitor<'de> for Probe {
            type Value = bool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<bool, E> {
                Ok(false)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
                while map
                    .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(true)
            }
        }
        // Integers that fit 64 bits arrive as such either way; a fraction
        // shows the difference.
        let mut de = serde_json::Deserializer::from_slice(b"0.5");
        de.deserialize_any(Probe).unwrap_or(false)
    })
}

/// A number's JSON text read as serde_json reads it without
/// `arbitrary_precision`: an integer that fits `i64`; a larger one that
/// fits `u64` ([`Number::TooLarge`]); anything else as `f64`, which must be
/// finite. `None` for a number beyond the f64 range.
fn parse_number(text: &str) -> Option<Number> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Number::Int(i));
    }
    if text.parse::<u64>().is_ok() {
        return Some(Number::TooLarge);
    }
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Number::Float)
}

/// Reads the members of a nested object whose values sit at `depth + 1`,
/// skipping the values and refusing a repeated name. Under serde_json's
/// `arbitrary_precision` a number arrives as such an object; it is
/// recognised and returned (and refused beyond the f64 range, as without
/// the feature).
fn skip_object<'de, A: MapAccess<'de>>(
    walk: &mut Walk<'de>,
    depth: usize,
    mut map: A,
) -> Result<Option<Number>, A::Error> {
    let Some(JsonStr(first)) = map.next_key::<JsonStr<'de>>()? else {
        deeper::<A::Error>(depth)?;
        return Ok(None);
    };
    if first == ARBITRARY_PRECISION_NUMBER && numbers_arrive_as_maps() {
        let JsonStr(text) = map.next_value::<JsonStr<'de>>()?;
        let number = parse_number(&text)
            .ok_or_else(|| <A::Error as de::Error>::custom("number out of range"))?;
        if map.next_key::<JsonStr<'de>>()?.is_some() {
            return Err(<A::Error as de::Error>::custom("not a number"));
        }
        return Ok(Some(number));
    }
    let inner = deeper::<A::Error>(depth)?;
    let mut names = NestedNames::open(&walk.names);
    let mut key = Some(first);
    while let Some(name) = key {
        if names.repeat(&mut walk.names, name) {
            return Err(walk.fail(Error::Malformed(Malformed::DuplicateMember)));
        }
        map.next_value_seed(Skip { depth: inner, walk })?;
        key = map.next_key::<JsonStr<'de>>()?.map(|JsonStr(k)| k);
    }
    names.close(&mut walk.names);
    Ok(None)
}

/// Skips one value at `depth` without building it, refusing nesting past
/// [`MAX_DEPTH`] and repeated names in its objects. Numbers are parsed
/// (`deserialize_any`), so one beyond the f64 range is an error here too.
struct Skip<'w, 'de> {
    depth: usize,
    walk: &'w mut Walk<'de>,
}

impl<'de> DeserializeSeed<'de> for Skip<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Skip<'_, 'de> {
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
        let inner = deeper::<A::Error>(self.depth)?;
        while seq
            .next_element_seed(Skip {
                depth: inner,
                walk: &mut *self.walk,
            })?
            .is_some()
        {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        skip_object(self.walk, self.depth, map).map(|_| ())
    }
}

/// Reads a known member's value as a [`Scalar`].
struct ScalarSeed<'w, 'de>(&'w mut Walk<'de>);

impl<'de> DeserializeSeed<'de> for ScalarSeed<'_, 'de> {
    type Value = Scalar<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ScalarVisitor(self.0))
    }
}

struct ScalarVisitor<'w, 'de>(&'w mut Walk<'de>);

impl<'de> Visitor<'de> for ScalarVisitor<'_, 'de> {
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
        while let Some(item) = seq.next_element_seed(ElementSeed(&mut *self.0))? {
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
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(match skip_object(self.0, 1, map)? {
            Some(number) => Scalar::Num(number),
            None => Scalar::Other,
        })
    }
}

/// An array element: `Some` string, or `None` for any other value (which
/// is skipped without being built).
struct ElementSeed<'w, 'de>(&'w mut Walk<'de>);

impl<'de> DeserializeSeed<'de> for ElementSeed<'_, 'de> {
    type Value = Option<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ElementVisitor(self.0))
    }
}

struct ElementVisitor<'w, 'de>(&'w mut Walk<'de>);

impl<'de> Visitor<'de> for ElementVisitor<'_, 'de> {
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
        while seq
            .next_element_seed(Skip {
                depth: 3,
                walk: &mut *self.0,
            })?
            .is_some()
        {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        skip_object(self.0, 2, map)?;
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

    #[test]
    fn numbers_are_read_the_same_with_and_without_arbitrary_precision() {
        assert_eq!(parse_number("42"), Some(Number::Int(42)));
        assert_eq!(parse_number("-7"), Some(Number::Int(-7)));
        assert_eq!(parse_number("18446744073709551615"), Some(Number::TooLarge));
        assert_eq!(parse_number("1.5e3"), Some(Number::Float(1500.0)));
        assert_eq!(parse_number("1e400"), None);
        // Whichever way this build's serde_json hands numbers over, a
        // NumericDate reads as a number, and an object with the feature's
        // member name is a number only when the feature is on.
        let mut seen = Vec::new();
        walk_object(
            br#"{"a":1700000000,"b":{"$serde_json::private::Number":"5"}}"#,
            |n| match n {
                "a" => Some(0),
                "b" => Some(1),
                _ => None,
            },
            |i, v| {
                seen.push((i, v));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(
            seen.first(),
            Some(&(0, Scalar::Num(Number::Int(1_700_000_000))))
        );
        let b = if numbers_arrive_as_maps() {
            Scalar::Num(Number::Int(5))
        } else {
            Scalar::Other
        };
        assert_eq!(seen.get(1), Some(&(1, b)));
    }

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
            br#"{"\u0073kip":1,"skip":2}"#,
            br#"{"\u0073kip":1,"x":0,"\u0073kip":2}"#,
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

    /// A known member's repeat is caught whatever its index: past 63 the
    /// bit mask has no room, and the name is remembered instead.
    #[test]
    fn duplicate_check_holds_for_member_indexes_past_63() {
        let names: Vec<String> = (0..70).map(|i| format!("n{i}")).collect();
        let known = |k: &str| names.iter().position(|n| n == k).map(|i| i as u8);
        // 70 members: n64 first, then n0 to n62, then n64 again as the 65th,
        // then n65 to n69.
        let mut order = vec![64];
        order.extend(0..63);
        order.push(64);
        order.extend(65..70);
        assert_eq!(order.len(), 70);
        let json = format!(
            "{{{}}}",
            order
                .iter()
                .map(|i| format!("\"n{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut seen = 0;
        let r = walk_object(json.as_bytes(), known, |_, _| {
            seen += 1;
            Ok(())
        });
        assert!(
            matches!(r, Err(Error::Malformed(Malformed::DuplicateMember))),
            "{r:?}"
        );
        // Every member once, without the repeat: accepted, all delivered.
        let unique: Vec<usize> = (0..70).rev().collect();
        let json = format!(
            "{{{}}}",
            unique
                .iter()
                .map(|i| format!("\"n{i}\":{i}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut delivered = Vec::new();
        walk_object(json.as_bytes(), known, |i, _| {
            delivered.push(i);
            Ok(())
        })
        .unwrap();
        assert_eq!(delivered.len(), 70);
    }

    /// Bytes that are not UTF-8, anywhere in the document (a name, a value
    /// read or skipped, between tokens), make it malformed; UTF-8 beyond
    /// ASCII is read as such.
    #[test]
    fn only_utf8_is_json() {
        for json in [
            &b"{\"x\":\"\xff\"}"[..],
            b"{\"\xc3\":1}",
            b"{\"a\":\"\xc0\xaf\"}",     // overlong '/'
            b"{\"a\":\"\xed\xa0\x80\"}", // a surrogate, UTF-8 encoded
            b"{\"a\":[\"ok\",\"\xf8\x88\x80\x80\x80\"]}",
            b"{\"x\":1}\xff",
        ] {
            assert!(
                matches!(collect(json), Err(Error::Malformed(Malformed::Json))),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        // Checked before the walk: not UTF-8 wins over a repeat before it.
        assert!(matches!(
            collect(b"{\"a\":1,\"a\":2,\"b\":\"\xff\"}"),
            Err(Error::Malformed(Malformed::Json))
        ));
        let ok = "{\"a\":\"gr\u{fc}\u{df} \u{1f600}\",\"\u{e9}\":1}";
        assert_eq!(
            collect(ok.as_bytes()).unwrap(),
            vec![(
                "a".to_owned(),
                Scalar::Str("gr\u{fc}\u{df} \u{1f600}".into())
            )]
        );
    }

    /// Repeated names inside nested objects are as malformed as at the top
    /// level: in members the caller reads and in members it skips, in
    /// objects inside arrays, at any depth.
    #[test]
    fn duplicates_are_rejected_at_every_depth() {
        for json in [
            &br#"{"x":{"admin":false,"admin":true}}"#[..],
            br#"{"a":{"admin":false,"admin":true}}"#,
            br#"{"x":{"k":{"k":{"admin":1,"admin":2}}}}"#,
            br#"{"x":[{"r":1,"r":2}]}"#,
            br#"{"a":[{"r":1,"r":2}]}"#,
            br#"{"a":["s",{"r":1,"r":2}]}"#,
            br#"{"x":[[[{"r":1,"r":2}]]]}"#,
            br#"{"a":[[{"r":1,"r":2}]]}"#,
            br#"{"x":{"a":1,"b":{"c":1,"c":1},"d":1}}"#,
        ] {
            assert!(
                matches!(
                    collect(json),
                    Err(Error::Malformed(Malformed::DuplicateMember))
                ),
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        // The same name in sibling or nested objects is not a repeat.
        for json in [
            &br#"{"x":{"admin":true},"y":{"admin":true}}"#[..],
            br#"{"x":{"admin":{"admin":true}}}"#,
            br#"{"a":[{"r":1},{"r":2}],"x":[{"r":1},{"r":2}]}"#,
            br#"{"x":{"a":1},"a":{"x":1}}"#,
        ] {
            assert!(collect(json).is_ok(), "{}", String::from_utf8_lossy(json));
        }
        // Many nested members: still found, without a quadratic scan.
        let mut many = String::from(r#"{"x":{"#);
        for i in 0..100 {
            many.push_str(&format!("\"m{i}\":0,"));
        }
        many.push_str(r#""m7":1}}"#);
        assert!(matches!(
            collect(many.as_bytes()),
            Err(Error::Malformed(Malformed::DuplicateMember))
        ));
    }

    /// serde_json refuses a number beyond the f64 range wherever it stands,
    /// in members read or skipped, so such a token never validates.
    #[test]
    fn numbers_beyond_f64_are_malformed_at_every_depth() {
        let big = format!("1{}", "0".repeat(400));
        for json in [
            r#"{"x":1e400}"#.to_owned(),
            r#"{"x":-1e400}"#.to_owned(),
            r#"{"a":1e400}"#.to_owned(),
            r#"{"x":{"y":[1,{"z":1e309}]}}"#.to_owned(),
            r#"{"a":[1e309]}"#.to_owned(),
            format!(r#"{{"x":{big}}}"#),
            format!(r#"{{"x":[{{"y":-{big}}}]}}"#),
        ] {
            assert!(
                matches!(
                    collect(json.as_bytes()),
                    Err(Error::Malformed(Malformed::Json))
                ),
                "{json}"
            );
        }
        // The largest finite values are numbers like any other.
        assert!(collect(br#"{"x":1.7976931348623157e308,"y":-1e308,"z":5e-324}"#).is_ok());
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
