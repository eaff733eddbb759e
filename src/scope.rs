//! Scopes: the space-delimited `scope` vocabulary shared by JWTs (RFC 9068
//! §2.2.3, RFC 8693 §4.2) and API keys.

use std::fmt;

use crate::error::Error;

/// A set of scope tokens, such as `orders:read profile`.
///
/// Scope tokens are non-empty runs of the characters RFC 6749 §3.3 allows
/// (`%x21 / %x23-5B / %x5D-7E`: printable ASCII except space, `"` and `\`).
/// The set keeps its tokens sorted and unique, so membership is a binary
/// search and needs no allocation.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet {
    tokens: Vec<Box<str>>,
}

/// `true` for a valid RFC 6749 scope token.
pub fn is_scope_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

impl ScopeSet {
    /// The empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses a space-delimited `scope` string. Runs of spaces are treated
    /// as one separator.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScope`] when a token holds a character outside the
    /// RFC 6749 scope-token alphabet.
    pub fn parse(scope: &str) -> Result<Self, Error> {
        Self::from_tokens(scope.split(' ').filter(|t| !t.is_empty()))
    }

    /// A set from individual scope tokens.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScope`] for an empty token or one with a character
    /// outside the RFC 6749 scope-token alphabet (a space included).
    pub fn from_tokens<I, S>(tokens: I) -> Result<Self, Error>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out: Vec<Box<str>> = Vec::new();
        for t in tokens {
            let t = t.as_ref();
            if !is_scope_token(t) {
                return Err(Error::InvalidScope);
            }
            out.push(t.into());
        }
        out.sort_unstable();
        out.dedup();
        Ok(Self { tokens: out })
    }

    /// `true` when the set holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.tokens
            .binary_search_by(|t| t.as_ref().cmp(token))
            .is_ok()
    }

    /// `true` when every token of `other` is in `self`.
    pub fn contains_all(&self, other: &ScopeSet) -> bool {
        other.iter().all(|t| self.contains(t))
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.tokens.iter().map(AsRef::as_ref)
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// `true` when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

impl fmt::Display for ScopeSet {
    /// The space-delimited form, as carried in a `scope` claim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, t) in self.tokens.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(t)?;
        }
        Ok(())
    }
}

impl fmt::Debug for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl serde::Serialize for ScopeSet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ScopeSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sorts_and_dedups() {
        let s = ScopeSet::parse("  b a  b c:read ").unwrap();
        assert_eq!(s.to_string(), "a b c:read");
        assert_eq!(s.len(), 3);
        assert!(s.contains("c:read") && !s.contains("c"));
        assert!(ScopeSet::parse("").unwrap().is_empty());
    }

    #[test]
    fn rejects_characters_outside_rfc6749() {
        for bad in ["a\"b", "a\\b", "caf\u{e9}", "tab\there", "nl\n"] {
            assert!(
                matches!(ScopeSet::parse(bad), Err(Error::InvalidScope)),
                "{bad:?}"
            );
        }
        assert!(ScopeSet::from_tokens(["a b"]).is_err());
        assert!(ScopeSet::from_tokens([""]).is_err());
    }

    #[test]
    fn subset() {
        let have = ScopeSet::parse("a b c").unwrap();
        assert!(have.contains_all(&ScopeSet::parse("a c").unwrap()));
        assert!(!have.contains_all(&ScopeSet::parse("a d").unwrap()));
    }
}
