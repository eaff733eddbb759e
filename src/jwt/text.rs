//! The strings of verified tokens, kept without a heap allocation when
//! short: a token's claims and header are read on every request, and most
//! of their strings (issuers, subjects, token ids, key ids, scopes) fit in
//! a few dozen bytes.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use arrayvec::ArrayString;
use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// How many bytes a [`ClaimStr`] holds inline: an issuer URL such as
/// `https://dev-123456.okta.com/oauth2/default` (42), a UUID (36), an
/// RFC 7638 thumbprint used as a key id (43).
pub const INLINE_CLAIM_BYTES: usize = 46;

/// A claim's or header parameter's string: inline up to
/// [`INLINE_CLAIM_BYTES`] bytes, on the heap beyond. Reads as a `&str`
/// (`Deref`), compares with `str` and `String`, and is made from either
/// (`"x".into()`).
#[derive(Clone)]
pub struct ClaimStr(Repr);

#[derive(Clone)]
enum Repr {
    Inline(ArrayString<INLINE_CLAIM_BYTES>),
    Heap(Box<str>),
}

impl ClaimStr {
    /// The empty string.
    pub const fn new() -> Self {
        Self(Repr::Inline(ArrayString::new_const()))
    }

    /// The string.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(s) => s.as_str(),
            Repr::Heap(s) => s,
        }
    }

    /// `true` when the string is stored inline, without a heap allocation.
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline(_))
    }
}

impl Default for ClaimStr {
    fn default() -> Self {
        Self::new()
    }
}

impl From<&str> for ClaimStr {
    fn from(s: &str) -> Self {
        match ArrayString::from(s) {
            Ok(inline) => Self(Repr::Inline(inline)),
            Err(_) => Self(Repr::Heap(s.into())),
        }
    }
}

impl From<String> for ClaimStr {
    fn from(s: String) -> Self {
        match ArrayString::from(&s) {
            Ok(inline) => Self(Repr::Inline(inline)),
            Err(_) => Self(Repr::Heap(s.into_boxed_str())),
        }
    }
}

impl From<&String> for ClaimStr {
    fn from(s: &String) -> Self {
        Self::from(s.as_str())
    }
}

impl From<Cow<'_, str>> for ClaimStr {
    fn from(s: Cow<'_, str>) -> Self {
        match s {
            Cow::Borrowed(s) => Self::from(s),
            Cow::Owned(s) => Self::from(s),
        }
    }
}

impl From<ClaimStr> for String {
    fn from(s: ClaimStr) -> Self {
        match s.0 {
            Repr::Inline(s) => s.as_str().to_owned(),
            Repr::Heap(s) => s.into_string(),
        }
    }
}

impl Deref for ClaimStr {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for ClaimStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for ClaimStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for ClaimStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ClaimStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for ClaimStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ClaimStr {}

impl PartialOrd for ClaimStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ClaimStr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for ClaimStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for ClaimStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ClaimStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for ClaimStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<ClaimStr> for str {
    fn eq(&self, other: &ClaimStr) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<ClaimStr> for &str {
    fn eq(&self, other: &ClaimStr) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<ClaimStr> for String {
    fn eq(&self, other: &ClaimStr) -> bool {
        self == other.as_str()
    }
}

impl Serialize for ClaimStr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ClaimStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = ClaimStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ClaimStr, E> {
                Ok(ClaimStr::from(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<ClaimStr, E> {
                Ok(ClaimStr::from(v))
            }
        }
        d.deserialize_str(V)
    }
}

/// `aud`: the recipients a token is for (RFC 7519 §4.1.3), one or many.
/// One is kept without a heap allocation; reads as a slice of
/// [`ClaimStr`].
#[derive(Clone, Default)]
pub struct Audience(Recipients);

#[derive(Clone)]
enum Recipients {
    One(ClaimStr),
    Many(Vec<ClaimStr>),
}

impl Default for Recipients {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl Audience {
    /// No recipient (a token carrying `"aud":[]`).
    pub const fn new() -> Self {
        Self(Recipients::Many(Vec::new()))
    }

    /// The recipients.
    pub fn as_slice(&self) -> &[ClaimStr] {
        match &self.0 {
            Recipients::One(one) => std::slice::from_ref(one),
            Recipients::Many(many) => many,
        }
    }

    /// `true` when `audience` is one of the recipients.
    pub fn contains(&self, audience: &str) -> bool {
        self.as_slice().iter().any(|a| a == audience)
    }
}

impl Deref for Audience {
    type Target = [ClaimStr];
    fn deref(&self) -> &[ClaimStr] {
        self.as_slice()
    }
}

impl<S: Into<ClaimStr>> From<S> for Audience {
    fn from(one: S) -> Self {
        Self(Recipients::One(one.into()))
    }
}

impl<S: Into<ClaimStr>> FromIterator<S> for Audience {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        let mut iter = iter.into_iter();
        let Some(first) = iter.next() else {
            return Self::new();
        };
        match iter.next() {
            None => Self(Recipients::One(first.into())),
            Some(second) => {
                let mut many = vec![first.into(), second.into()];
                many.extend(iter.map(Into::into));
                Self(Recipients::Many(many))
            }
        }
    }
}

impl fmt::Debug for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

impl PartialEq for Audience {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Audience {}

impl<S: AsRef<str>> PartialEq<[S]> for Audience {
    fn eq(&self, other: &[S]) -> bool {
        self.len() == other.len()
            && self
                .as_slice()
                .iter()
                .zip(other)
                .all(|(a, b)| a.as_str() == b.as_ref())
    }
}

impl<S: AsRef<str>> PartialEq<Vec<S>> for Audience {
    fn eq(&self, other: &Vec<S>) -> bool {
        *self == other[..]
    }
}

impl<S: AsRef<str>, const N: usize> PartialEq<[S; N]> for Audience {
    fn eq(&self, other: &[S; N]) -> bool {
        *self == other[..]
    }
}

impl Serialize for Audience {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.as_slice().serialize(s)
    }
}

impl<'a> IntoIterator for &'a Audience {
    type Item = &'a ClaimStr;
    type IntoIter = std::slice::Iter<'a, ClaimStr>;
    fn into_iter(self) -> Self::IntoIter {
        self.as_slice().iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_inline_and_long_ones_on_the_heap() {
        let short = "x".repeat(INLINE_CLAIM_BYTES);
        let long = "x".repeat(INLINE_CLAIM_BYTES + 1);
        for (text, inline) in [(&short, true), (&long, false), (&String::new(), true)] {
            for s in [
                ClaimStr::from(text.as_str()),
                ClaimStr::from(text.clone()),
                ClaimStr::from(Cow::Borrowed(text.as_str())),
                ClaimStr::from(Cow::<str>::Owned(text.clone())),
            ] {
                assert_eq!(s.is_inline(), inline, "{}", text.len());
                assert_eq!(s, *text);
                assert_eq!(s.as_str(), text.as_str());
                assert_eq!(String::from(s), *text);
            }
        }
        // Multi-byte characters: the limit counts bytes.
        let accents = "é".repeat(INLINE_CLAIM_BYTES / 2);
        assert!(ClaimStr::from(accents.as_str()).is_inline());
        let more = format!("{accents}é");
        let s = ClaimStr::from(more.as_str());
        assert!(!s.is_inline());
        assert_eq!(s, more);
    }

    #[test]
    fn compares_hashes_and_orders_as_its_text() {
        use std::collections::hash_map::DefaultHasher;
        let hash = |v: &dyn Fn(&mut DefaultHasher)| {
            let mut h = DefaultHasher::new();
            v(&mut h);
            h.finish()
        };
        let long = "y".repeat(60);
        for text in ["", "a", long.as_str()] {
            let s = ClaimStr::from(text);
            assert_eq!(s, text);
            assert_eq!(text, s);
            assert_eq!(s, text.to_owned());
            assert_eq!(
                hash(&|h| s.hash(h)),
                hash(&|h| text.hash(h)),
                "Borrow<str> needs equal hashes"
            );
        }
        assert_eq!(
            ClaimStr::from("a").cmp(&ClaimStr::from("b")),
            Ordering::Less
        );
        assert_eq!(format!("{:?}", ClaimStr::from("a\"b")), r#""a\"b""#);
        assert_eq!(ClaimStr::from("ab").to_string(), "ab");
    }

    #[test]
    fn serde_round_trip() {
        let long = "z".repeat(80);
        for text in ["", "https://auth.example.com", long.as_str(), "a\"\\\u{e9}"] {
            let s = ClaimStr::from(text);
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, serde_json::to_string(text).unwrap());
            let back: ClaimStr = serde_json::from_str(&json).unwrap();
            assert_eq!(back, s);
        }
        assert!(serde_json::from_str::<ClaimStr>("1").is_err());
    }

    #[test]
    fn an_audience_of_one_is_inline_and_many_are_a_list() {
        let none: Audience = Vec::<String>::new().into_iter().collect();
        assert!(none.is_empty());
        assert_eq!(none, Audience::new());
        let one = Audience::from("api");
        assert_eq!(one, ["api"]);
        assert!(one.contains("api") && !one.contains("ap"));
        assert!(matches!(one.0, Recipients::One(ref s) if s.is_inline()));
        let collected: Audience = ["api"].into_iter().collect();
        assert_eq!(collected, one);
        let many: Audience = ["a", "b", "c"].into_iter().collect();
        assert_eq!(many, vec!["a", "b", "c"]);
        assert_eq!(many.len(), 3);
        assert_ne!(many, ["a", "b"]);
        assert_eq!(serde_json::to_string(&many).unwrap(), r#"["a","b","c"]"#);
        assert_eq!(format!("{one:?}"), r#"["api"]"#);
        assert_eq!((&many).into_iter().count(), 3);
    }
}
