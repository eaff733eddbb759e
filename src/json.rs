//! Strict JSON object splitting shared by header and claims parsing.
//!
//! A JOSE header or JWT claims set is split once into its top-level members,
//! each kept as a borrowed raw JSON value. Repeated member names are
//! rejected (RFC 7515 §5.2, RFC 7519 §4): a parser that kept the first or
//! the last of two `alg` or `exp` members would let two implementations
//! disagree about the same token.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::error::{Error, Malformed};

/// Above this many members, duplicates are found with a hash set instead of
/// a linear scan, so a hostile object cannot cost quadratic time.
const LINEAR_SCAN_MAX: usize = 16;

/// The top-level members of a JSON object, in document order.
#[derive(Debug)]
pub(crate) struct Members<'a> {
    entries: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Members<'a> {
    /// Parses `bytes` as exactly one JSON object with unique member names.
    pub(crate) fn parse(bytes: &'a [u8]) -> Result<Self, Error> {
        let members: Members<'a> = serde_json::from_slice(bytes).map_err(|e| {
            if e.to_string().starts_with(DUPLICATE) {
                Error::Malformed(Malformed::DuplicateMember)
            } else {
                Error::Malformed(Malformed::Json)
            }
        })?;
        Ok(members)
    }

    /// Iterates over `(name, raw value)` pairs.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.entries.iter().map(|(k, v)| (k.as_ref(), *v))
    }

    /// The raw value of member `name`, if present.
    #[cfg(test)]
    pub(crate) fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.entries
            .iter()
            .find(|(k, _)| k.as_ref() == name)
            .map(|(_, v)| *v)
    }
}

const DUPLICATE: &str = "duplicate member";

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries: Vec<(Cow<'de, str>, &'de RawValue)> = Vec::with_capacity(12);
                let mut seen: Option<HashSet<Cow<'de, str>>> = None;
                while let Some(JsonStr(key)) = map.next_key::<JsonStr<'de>>()? {
                    let value: &'de RawValue = map.next_value()?;
                    let duplicate = match seen.as_mut() {
                        Some(set) => !set.insert(key.clone()),
                        None => {
                            let dup = entries.iter().any(|(k, _)| *k == key);
                            if !dup && entries.len() == LINEAR_SCAN_MAX {
                                let mut set: HashSet<Cow<'de, str>> =
                                    entries.iter().map(|(k, _)| k.clone()).collect();
                                set.insert(key.clone());
                                seen = Some(set);
                            }
                            dup
                        }
                    };
                    if duplicate {
                        return Err(de::Error::custom(DUPLICATE));
                    }
                    entries.push((key, value));
                }
                Ok(Members { entries })
            }
        }
        d.deserialize_map(V)
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

/// Reads a raw JSON value as a string; `None` if it is any other type.
pub(crate) fn as_str(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<JsonStr<'_>>(raw.get())
        .ok()
        .map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_members_in_order() {
        let m = Members::parse(br#"{"a":1,"b":"x\u0041","c":{"d":[1,2]}}"#).unwrap();
        let names: Vec<&str> = m.iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(as_str(m.get("b").unwrap()).unwrap(), "xA");
        assert!(as_str(m.get("a").unwrap()).is_none());
        assert_eq!(m.get("c").unwrap().get(), r#"{"d":[1,2]}"#);
    }

    #[test]
    fn rejects_duplicates_including_escaped_spellings() {
        for json in [
            &br#"{"a":1,"a":2}"#[..],
            br#"{"alg":"HS256","\u0061lg":"none"}"#,
        ] {
            assert!(matches!(
                Members::parse(json),
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
            Members::parse(json.as_bytes()),
            Err(Error::Malformed(Malformed::DuplicateMember))
        ));
    }

    #[test]
    fn rejects_non_objects_and_trailing_data() {
        for json in [
            &b"[]"[..],
            b"1",
            b"\"x\"",
            b"{",
            b"{} {}",
            b"\xef\xbb\xbf{}",
            b"{\"a\":\"\xff\"}",
            b"",
        ] {
            assert!(matches!(
                Members::parse(json),
                Err(Error::Malformed(Malformed::Json))
            ));
        }
    }
}
