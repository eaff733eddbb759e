//! Scopes: the space-delimited `scope` vocabulary shared by JWTs (RFC 9068
//! §2.2.3, RFC 8693 §4.2) and API keys.

use std::collections::HashMap;
use std::fmt;

use arrayvec::ArrayVec;

use crate::error::Error;

/// A set of scope tokens, such as `orders:read profile`.
///
/// Scope tokens are non-empty runs of the characters RFC 6749 §3.3 allows
/// (`%x21 / %x23-5B / %x5D-7E`: printable ASCII except space, `"` and `\`).
/// The set keeps its tokens sorted and unique, joined by single spaces
/// (the canonical `scope` string) in one allocation. Membership is a scan
/// that stops at the first larger token, and needs no allocation.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ScopeSet {
    text: Box<str>,
}

/// Up to this many tokens are sorted on the stack while a set is built.
const STACK_TOKENS: usize = 16;

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
        let mut few: ArrayVec<S, STACK_TOKENS> = ArrayVec::new();
        let mut many: Vec<S> = Vec::new();
        for t in tokens {
            if many.is_empty() {
                if let Err(full) = few.try_push(t) {
                    many.extend(few.drain(..));
                    many.push(full.element());
                }
            } else {
                many.push(t);
            }
        }
        if many.is_empty() {
            Self::of_texts(
                &mut few
                    .iter()
                    .map(AsRef::as_ref)
                    .collect::<ArrayVec<&str, STACK_TOKENS>>(),
            )
        } else {
            Self::of_texts(&mut many.iter().map(AsRef::as_ref).collect::<Vec<&str>>())
        }
    }

    /// The set of `tokens`, each read once: checked, sorted and joined as
    /// the same `&str`.
    fn of_texts(tokens: &mut [&str]) -> Result<Self, Error> {
        if !tokens.iter().all(|t| is_scope_token(t)) {
            return Err(Error::InvalidScope);
        }
        tokens.sort_unstable();
        Ok(Self::of_sorted(tokens.iter().copied()))
    }

    /// The set of `tokens`, valid and in ascending order; repeats are
    /// skipped. Measured first, so the text is allocated once, at its size.
    fn of_sorted<'t, I>(tokens: I) -> Self
    where
        I: Iterator<Item = &'t str> + Clone,
    {
        let unique = |tokens: I| {
            let mut last: Option<&str> = None;
            tokens.filter(move |t| {
                let repeat = last == Some(*t);
                last = Some(t);
                !repeat
            })
        };
        let len = unique(tokens.clone())
            .map(|t| t.len().saturating_add(1))
            .sum::<usize>()
            .saturating_sub(1);
        let mut text = String::with_capacity(len);
        for t in unique(tokens) {
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(t);
        }
        Self {
            text: text.into_boxed_str(),
        }
    }

    /// `true` when the set holds `token`.
    pub fn contains(&self, token: &str) -> bool {
        self.iter().take_while(|t| *t <= token).any(|t| t == token)
    }

    /// `true` when every token of `other` is in `self`: one walk over both
    /// sorted lists.
    pub fn contains_all(&self, other: &ScopeSet) -> bool {
        let mut mine = self.iter();
        other
            .iter()
            .all(|wanted| mine.by_ref().find(|t| *t >= wanted) == Some(wanted))
    }

    /// The tokens of `self` that `granted` lacks.
    pub(crate) fn not_in<G: GrantedScopes + ?Sized>(&self, granted: &G) -> ScopeSet {
        Self::of_sorted(self.iter().filter(|t| !granted.has_scope(t)))
    }

    /// The tokens, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> + Clone {
        self.text.split(' ').filter(|t| !t.is_empty())
    }

    /// The number of tokens.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// `true` when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

impl fmt::Display for ScopeSet {
    /// The space-delimited form, as carried in a `scope` claim.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
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

/// Scopes a caller was granted, checked without allocating: a parsed
/// [`ScopeSet`] (a scan of its sorted tokens) or a raw space-delimited `scope` string (a
/// scan).
pub trait GrantedScopes {
    /// `true` when `token` was granted.
    fn has_scope(&self, token: &str) -> bool;
}

impl GrantedScopes for ScopeSet {
    fn has_scope(&self, token: &str) -> bool {
        self.contains(token)
    }
}

impl GrantedScopes for str {
    fn has_scope(&self, token: &str) -> bool {
        self.split(' ').any(|t| t == token)
    }
}

impl<G: GrantedScopes + ?Sized> GrantedScopes for &G {
    fn has_scope(&self, token: &str) -> bool {
        (**self).has_scope(token)
    }
}

/// A requirement on granted scopes: all of a set, any of a set, or
/// combinations.
///
/// A requirement names at least one scope: [`ScopeRequirement::all`] and
/// [`ScopeRequirement::any`] refuse an empty list (all of nothing would be
/// met by every caller, any of nothing by none, so either is a mistake).
/// Built directly from the variants, an empty set or list fails closed: it
/// is never satisfied.
///
/// ```
/// use tokengate::scope::{ScopeRequirement, ScopeSet};
///
/// // orders:read, and either orders:write or admin.
/// let need = ScopeRequirement::all("orders:read")?
///     .and(ScopeRequirement::any("orders:write admin")?);
/// assert!(need.is_satisfied_by("orders:read admin"));
/// let err = need.check("orders:read").unwrap_err();
/// assert_eq!(err.kind().as_str(), "insufficient_scope");
/// # Ok::<(), tokengate::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRequirement {
    /// Every scope of the set (an empty set is never satisfied).
    All(ScopeSet),
    /// At least one scope of the set (an empty set is never satisfied).
    Any(ScopeSet),
    /// Every requirement of the list (an empty list is never satisfied).
    AllOf(Vec<ScopeRequirement>),
    /// At least one requirement of the list (an empty list is never
    /// satisfied).
    AnyOf(Vec<ScopeRequirement>),
}

impl ScopeRequirement {
    /// Requires every scope of a space-delimited list.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScope`] as [`ScopeSet::parse`];
    /// [`Error::InvalidConfiguration`] for a list of no scopes.
    pub fn all(scopes: &str) -> Result<Self, Error> {
        non_empty(ScopeSet::parse(scopes)?).map(Self::All)
    }

    /// Requires at least one scope of a space-delimited list.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScope`] as [`ScopeSet::parse`];
    /// [`Error::InvalidConfiguration`] for a list of no scopes.
    pub fn any(scopes: &str) -> Result<Self, Error> {
        non_empty(ScopeSet::parse(scopes)?).map(Self::Any)
    }

    /// Both `self` and `other`.
    #[must_use]
    pub fn and(self, other: ScopeRequirement) -> Self {
        match self {
            Self::AllOf(mut list) => {
                list.push(other);
                Self::AllOf(list)
            }
            first => Self::AllOf(vec![first, other]),
        }
    }

    /// `self` or `other`.
    #[must_use]
    pub fn or(self, other: ScopeRequirement) -> Self {
        match self {
            Self::AnyOf(mut list) => {
                list.push(other);
                Self::AnyOf(list)
            }
            first => Self::AnyOf(vec![first, other]),
        }
    }

    /// Every scope the requirement mentions: what a client should ask for
    /// to meet it (the `scope` of an RFC 6750 §3 challenge).
    pub fn scopes(&self) -> ScopeSet {
        let mut tokens: Vec<&str> = Vec::new();
        self.collect(&mut tokens);
        tokens.sort_unstable();
        ScopeSet::of_sorted(tokens.into_iter())
    }

    fn collect<'s>(&'s self, out: &mut Vec<&'s str>) {
        match self {
            Self::All(set) | Self::Any(set) => out.extend(set.iter()),
            Self::AllOf(list) | Self::AnyOf(list) => list.iter().for_each(|r| r.collect(out)),
        }
    }

    /// `false` when no grant can ever meet the requirement (an empty set
    /// or list somewhere it cannot be avoided).
    pub fn is_satisfiable(&self) -> bool {
        match self {
            Self::All(set) | Self::Any(set) => !set.is_empty(),
            Self::AllOf(list) => {
                !list.is_empty() && list.iter().all(ScopeRequirement::is_satisfiable)
            }
            Self::AnyOf(list) => list.iter().any(ScopeRequirement::is_satisfiable),
        }
    }

    /// `true` when `granted` meets the requirement. Does not allocate. An
    /// empty set or list is never met.
    pub fn is_satisfied_by<G: GrantedScopes + ?Sized>(&self, granted: &G) -> bool {
        match self {
            Self::All(set) => !set.is_empty() && set.iter().all(|t| granted.has_scope(t)),
            Self::Any(set) => set.iter().any(|t| granted.has_scope(t)),
            Self::AllOf(list) => {
                !list.is_empty() && list.iter().all(|r| r.is_satisfied_by(granted))
            }
            Self::AnyOf(list) => list.iter().any(|r| r.is_satisfied_by(granted)),
        }
    }

    /// Checks `granted`, allocating only to report a failure.
    ///
    /// # Errors
    ///
    /// [`Error::InsufficientScope`] with the scopes that would satisfy the
    /// requirement: for `All`, those missing; for `Any`, the whole set; for
    /// `AllOf`, the union over failing parts; for `AnyOf`, the smallest
    /// missing set among its parts.
    pub fn check<G: GrantedScopes + ?Sized>(&self, granted: &G) -> Result<(), Error> {
        if self.is_satisfied_by(granted) {
            Ok(())
        } else {
            Err(Error::InsufficientScope {
                missing: self.missing(granted),
            })
        }
    }

    fn missing<G: GrantedScopes + ?Sized>(&self, granted: &G) -> ScopeSet {
        match self {
            Self::All(set) => set.not_in(granted),
            Self::Any(set) => set.clone(),
            Self::AllOf(list) => {
                let parts: Vec<ScopeSet> = list
                    .iter()
                    .filter(|r| !r.is_satisfied_by(granted))
                    .map(|r| r.missing(granted))
                    .collect();
                let mut tokens: Vec<&str> = parts.iter().flat_map(ScopeSet::iter).collect();
                tokens.sort_unstable();
                ScopeSet::of_sorted(tokens.into_iter())
            }
            Self::AnyOf(list) => list
                .iter()
                .filter(|r| r.is_satisfiable())
                .map(|r| r.missing(granted))
                .min_by_key(ScopeSet::len)
                .unwrap_or_default(),
        }
    }
}

/// `set`, unless it is empty.
fn non_empty(set: ScopeSet) -> Result<ScopeSet, Error> {
    if set.is_empty() {
        Err(Error::config(
            "a scope requirement names at least one scope: all of none would be met \
             by every caller, any of none by no caller",
        ))
    } else {
        Ok(set)
    }
}

/// Role names mapped to scope sets, so roles are checked like scopes: a
/// caller holds a role when it was granted every scope of it.
#[derive(Debug, Clone, Default)]
pub struct RoleMap {
    roles: HashMap<String, ScopeSet>,
}

impl RoleMap {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Defines (or redefines) `role` as the scopes of a space-delimited list.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidScope`] as [`ScopeSet::parse`];
    /// [`Error::InvalidConfiguration`] for a role of no scopes, which every
    /// caller would hold.
    pub fn define(mut self, role: impl Into<String>, scopes: &str) -> Result<Self, Error> {
        let set = ScopeSet::parse(scopes)?;
        if set.is_empty() {
            return Err(Error::config("a role needs at least one scope"));
        }
        self.roles.insert(role.into(), set);
        Ok(self)
    }

    /// The requirement that stands for `role`, or `None` if undefined.
    pub fn requirement(&self, role: &str) -> Option<ScopeRequirement> {
        self.roles.get(role).cloned().map(ScopeRequirement::All)
    }

    /// Checks that `granted` holds `role`.
    ///
    /// # Errors
    ///
    /// [`Error::InsufficientScope`] with the role's missing scopes;
    /// [`Error::InvalidConfiguration`] for an undefined role.
    pub fn check_role<G: GrantedScopes + ?Sized>(
        &self,
        role: &str,
        granted: &G,
    ) -> Result<(), Error> {
        let set = self
            .roles
            .get(role)
            .ok_or(Error::config("undefined role"))?;
        if set.iter().all(|t| granted.has_scope(t)) {
            Ok(())
        } else {
            Err(Error::InsufficientScope {
                missing: set.not_in(granted),
            })
        }
    }

    /// The roles `granted` holds, in no particular order.
    pub fn roles_of<'a, G: GrantedScopes + ?Sized>(
        &'a self,
        granted: &'a G,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.roles
            .iter()
            .filter(|(_, set)| set.iter().all(|t| granted.has_scope(t)))
            .map(|(r, _)| r.as_str())
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

    /// Any number of tokens, inline or on the heap, sorted on the stack or
    /// not: the same set as a sorted, deduplicated list of the tokens.
    #[test]
    fn sets_of_every_size_match_a_sorted_list() {
        for n in [0_usize, 1, 2, 3, 15, 16, 17, 40, 200] {
            for repeat in [false, true] {
                let tokens: Vec<String> = (0..n)
                    .rev()
                    .map(|i| format!("s{}", (i * 7919) % (n.max(1) * 3)))
                    .flat_map(|t| if repeat { vec![t.clone(), t] } else { vec![t] })
                    .collect();
                let mut want: Vec<&str> = tokens.iter().map(String::as_str).collect();
                want.sort_unstable();
                want.dedup();
                let set = ScopeSet::from_tokens(&tokens).unwrap();
                assert_eq!(set.iter().collect::<Vec<_>>(), want, "{n}");
                assert_eq!(set.len(), want.len());
                assert_eq!(set.is_empty(), want.is_empty());
                assert_eq!(set.to_string(), want.join(" "));
                assert_eq!(ScopeSet::parse(&tokens.join(" ")).unwrap(), set);
                for t in &want {
                    assert!(set.contains(t), "{t}");
                }
                for absent in ["", "s", "r9", "t0", "s00", "s0x"] {
                    assert!(!set.contains(absent), "{absent}");
                }
            }
        }
        // Which tokens come first does not matter, nor their repeats.
        assert_eq!(
            ScopeSet::parse("b a a").unwrap(),
            ScopeSet::from_tokens(["a", "b"]).unwrap()
        );
    }

    #[test]
    fn contains_all_agrees_with_contains() {
        let sets: Vec<ScopeSet> = [
            "", "a", "b", "a b", "a c", "a b c", "b c d", "c", "aa b", "a ab",
        ]
        .iter()
        .map(|s| ScopeSet::parse(s).unwrap())
        .collect();
        for x in &sets {
            for y in &sets {
                assert_eq!(
                    x.contains_all(y),
                    y.iter().all(|t| x.contains(t)),
                    "{x} ⊇ {y}"
                );
            }
        }
    }

    /// Each token's text is read once: a token whose `as_ref` changes
    /// between calls cannot put an unchecked or unsorted token in a set.
    #[test]
    fn each_token_is_read_once() {
        struct Shifty(std::cell::Cell<u32>);
        impl AsRef<str> for Shifty {
            fn as_ref(&self) -> &str {
                let n = self.0.get();
                self.0.set(n + 1);
                if n == 0 { "ok" } else { "b a" }
            }
        }
        let set = ScopeSet::from_tokens([Shifty(0.into()), Shifty(0.into())]).unwrap();
        assert_eq!(set.to_string(), "ok");
        let bad = ScopeSet::from_tokens([Shifty(1.into())]);
        assert!(matches!(bad, Err(Error::InvalidScope)));
    }

    /// A set is one allocation of exactly its text's size, none when empty.
    #[test]
    fn a_set_is_its_canonical_text() {
        let set = ScopeSet::parse(" profile orders:write  orders:read profile").unwrap();
        assert_eq!(&*set.text, "orders:read orders:write profile");
        assert_eq!(ScopeSet::parse("").unwrap().text.len(), 0);
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

    #[test]
    fn requirements_and_missing_scopes() {
        let need = ScopeRequirement::all("a b").unwrap();
        assert!(need.is_satisfied_by("b a c"));
        assert!(need.is_satisfied_by(&ScopeSet::parse("a b").unwrap()));
        match need.check("a") {
            Err(Error::InsufficientScope { missing }) => assert_eq!(missing.to_string(), "b"),
            other => panic!("{other:?}"),
        }
        let any = ScopeRequirement::any("x y").unwrap();
        assert!(any.is_satisfied_by("y"));
        assert!(!any.is_satisfied_by("z"));
        assert!(ScopeRequirement::any("").is_err() && ScopeRequirement::all(" ").is_err());
        assert!(!ScopeRequirement::Any(ScopeSet::new()).is_satisfied_by("z"));
        assert!(!ScopeRequirement::All(ScopeSet::new()).is_satisfied_by("z"));
        let both = need.clone().and(any.clone());
        assert!(both.is_satisfied_by("a b x"));
        match both.check("a") {
            Err(Error::InsufficientScope { missing }) => assert_eq!(missing.to_string(), "b x y"),
            other => panic!("{other:?}"),
        }
        let either = ScopeRequirement::all("p q r")
            .unwrap()
            .or(ScopeRequirement::all("s").unwrap());
        assert!(either.is_satisfied_by("s"));
        match either.check("p") {
            Err(Error::InsufficientScope { missing }) => assert_eq!(missing.to_string(), "s"),
            other => panic!("{other:?}"),
        }
        // A granted scope string is matched token by token, not by substring.
        assert!(
            !ScopeRequirement::all("read")
                .unwrap()
                .is_satisfied_by("read:all")
        );
    }

    #[test]
    fn roles() {
        let roles = RoleMap::new()
            .define("viewer", "orders:read")
            .unwrap()
            .define("editor", "orders:read orders:write")
            .unwrap();
        assert!(roles.check_role("viewer", "orders:read").is_ok());
        assert!(matches!(
            roles.check_role("editor", "orders:read"),
            Err(Error::InsufficientScope { .. })
        ));
        assert!(roles.check_role("nobody", "x").is_err());
        let mut held: Vec<&str> = roles.roles_of("orders:write orders:read").collect();
        held.sort_unstable();
        assert_eq!(held, ["editor", "viewer"]);
        assert!(
            roles
                .requirement("viewer")
                .unwrap()
                .is_satisfied_by("orders:read")
        );
    }
}
