//! The blocking HTTP GET behind every fetch: one timeout for the whole
//! exchange, redirects followed here (each hop checked by
//! [`redirect_allowed`]), the body capped while it is read.

use std::fmt;
use std::io::Read;
use std::time::{Duration, Instant};

use tokengate::keys::remote::{KeySetPolicy, cache_control_max_age, check_url, redirect_allowed};

/// A `200` response, read within the cap.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) body: Vec<u8>,
    pub(crate) max_age: Option<tokengate::time::Duration>,
}

/// Why a GET gave no document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GetError {
    /// The final response's status was not 200.
    Status(u16),
    /// Anything else: the connection, the timeout, a refused redirect, a
    /// body over the cap.
    Other(String),
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(status) => write!(f, "status {status}"),
            Self::Other(why) => f.write_str(why),
        }
    }
}

/// The client and the policy's limits.
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    allow_http: bool,
    timeout: Duration,
    max_redirects: u8,
    max_size: usize,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("allow_http", &self.allow_http)
            .field("timeout", &self.timeout)
            .field("max_redirects", &self.max_redirects)
            .field("max_size", &self.max_size)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// A client with the policy's limits; `roots` (DER), when given, are
    /// the only trusted root certificates.
    pub(crate) fn new(policy: &KeySetPolicy, allow_http: bool, roots: &[Vec<u8>]) -> Self {
        let timeout = std_duration(policy.fetch_timeout);
        let mut tls = ureq::tls::TlsConfig::builder();
        if !roots.is_empty() {
            let certs: Vec<ureq::tls::Certificate<'static>> = roots
                .iter()
                .map(|der| ureq::tls::Certificate::from_der(der).to_owned())
                .collect();
            tls = tls.root_certs(ureq::tls::RootCerts::from(certs));
        }
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            // Statuses and redirects are this crate's to judge.
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(concat!("tokengate-jwks/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        Self {
            agent: config.into(),
            allow_http,
            timeout,
            max_redirects: policy.max_redirects,
            max_size: policy.max_document_size,
        }
    }

    /// GETs `url`, following at most the policy's redirects, all within
    /// one timeout.
    pub(crate) fn get(&self, url: &str) -> Result<Response, GetError> {
        check_url(url, self.allow_http).map_err(|e| GetError::Other(e.to_string()))?;
        let deadline = Instant::now().checked_add(self.timeout);
        let mut current = url.to_owned();
        let mut hops: u8 = 0;
        loop {
            let remaining = match deadline {
                Some(at) => at.saturating_duration_since(Instant::now()),
                None => self.timeout,
            };
            if remaining.is_zero() {
                return Err(GetError::Other(format!(
                    "GET {current}: timed out after {} ms",
                    self.timeout.as_millis()
                )));
            }
            let response = self
                .agent
                .get(&current)
                .config()
                .timeout_global(Some(remaining))
                .build()
                .header("accept", "application/json")
                .call()
                .map_err(|e| GetError::Other(format!("GET {current}: {e}")))?;
            let status = response.status().as_u16();
            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                if hops >= self.max_redirects {
                    return Err(GetError::Other(format!(
                        "GET {url}: more than {} redirects",
                        self.max_redirects
                    )));
                }
                hops = hops.saturating_add(1);
                let location = response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        GetError::Other(format!(
                            "GET {current}: a {status} redirect without a readable Location"
                        ))
                    })?;
                current = next_hop(&current, location, self.allow_http).map_err(GetError::Other)?;
                continue;
            }
            if status != 200 {
                return Err(GetError::Status(status));
            }
            let cache_control: Vec<&str> = response
                .headers()
                .get_all("cache-control")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            let max_age = cache_control_max_age(&cache_control.join(","));
            let mut body = response.into_body();
            if let Some(length) = body.content_length()
                && length > u64::try_from(self.max_size).unwrap_or(u64::MAX)
            {
                return Err(GetError::Other(format!(
                    "GET {current}: the body is {length} bytes, over the {} byte cap",
                    self.max_size
                )));
            }
            let body = read_capped(body.as_reader(), self.max_size)
                .map_err(|why| GetError::Other(format!("GET {current}: {why}")))?;
            return Ok(Response { body, max_age });
        }
    }
}

/// Reads at most `cap` bytes of `reader`: a longer body is refused after
/// reading `cap + 1` bytes, never read to its end.
pub(crate) fn read_capped(reader: impl Read, cap: usize) -> Result<Vec<u8>, String> {
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut body = Vec::with_capacity(cap.min(64 * 1024));
    reader
        .take(limit)
        .read_to_end(&mut body)
        .map_err(|e| format!("reading the body: {e}"))?;
    if body.len() > cap {
        return Err(format!("the body exceeds the {cap} byte cap"));
    }
    Ok(body)
}

/// The URL a redirect from `from` with `Location: location` leads to, if
/// the policy lets the client follow it ([`redirect_allowed`]: never from
/// `https` to `http`, `http` only with the opt-out).
pub(crate) fn next_hop(from: &str, location: &str, allow_http: bool) -> Result<String, String> {
    let to = resolve(from, location.trim());
    if redirect_allowed(from, &to, allow_http) {
        Ok(to)
    } else {
        Err(format!("a redirect from {from} to {to} is refused"))
    }
}

/// Resolves a `Location` against the URL it came from (RFC 3986 §5, for
/// the forms servers send: absolute, scheme-relative, absolute path,
/// relative path).
fn resolve(base: &str, location: &str) -> String {
    let has_scheme = location
        .find(':')
        .is_some_and(|i| location.get(..i).is_some_and(is_scheme));
    if has_scheme {
        return location.to_owned();
    }
    let (scheme, rest) = match base.find("://") {
        Some(i) => (
            base.get(..i).unwrap_or(""),
            base.get(i.saturating_add(3)..).unwrap_or(""),
        ),
        None => return location.to_owned(),
    };
    if let Some(authority_and_path) = location.strip_prefix("//") {
        return format!("{scheme}://{authority_and_path}");
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or("");
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path_and_more = rest.get(authority_end..).unwrap_or("");
    let path = path_and_more
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .to_owned();
    let dir = match path.rfind('/') {
        Some(i) => path.get(..=i).unwrap_or("/"),
        None => "/",
    };
    format!("{scheme}://{authority}{dir}{location}")
}

fn is_scheme(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A policy duration as a `std` one (negative durations are refused by
/// the policy; zero stays zero).
pub(crate) fn std_duration(d: tokengate::time::Duration) -> Duration {
    Duration::try_from(d).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn a_redirect_from_https_to_http_is_refused_even_with_the_opt_out() {
        for location in [
            "http://idp.example.com/jwks",
            "HTTP://idp.example.com/jwks",
            "//evil.example.com/jwks",
        ] {
            let from = if location.starts_with("//") {
                // Scheme-relative keeps the scheme: from http it stays http.
                "http://idp.example.com/keys"
            } else {
                "https://idp.example.com/keys"
            };
            let refused = next_hop(from, location, false);
            assert!(refused.is_err(), "{location}");
        }
        assert!(next_hop("https://a.example/k", "http://a.example/k", true).is_err());
        assert!(next_hop("https://a.example/k", "file:///etc/passwd", true).is_err());
        assert!(next_hop("https://a.example/k", "javascript:alert(1)", true).is_err());
    }

    #[test]
    fn redirects_that_stay_on_https_are_followed_to_the_resolved_url() {
        let from = "https://idp.example.com/realms/acme/keys?x=1";
        assert_eq!(
            next_hop(from, "https://cdn.example.com/jwks.json", false).unwrap(),
            "https://cdn.example.com/jwks.json"
        );
        assert_eq!(
            next_hop(from, "//cdn.example.com/jwks.json", false).unwrap(),
            "https://cdn.example.com/jwks.json"
        );
        assert_eq!(
            next_hop(from, "/certs", false).unwrap(),
            "https://idp.example.com/certs"
        );
        assert_eq!(
            next_hop(from, "certs", false).unwrap(),
            "https://idp.example.com/realms/acme/certs"
        );
        assert_eq!(
            next_hop("http://127.0.0.1:8080/a", "/b", true).unwrap(),
            "http://127.0.0.1:8080/b"
        );
    }

    #[test]
    fn garbage_locations_never_panic() {
        for location in [
            "",
            ":",
            "://",
            "/",
            "?",
            "#",
            "\u{1F600}",
            "ht!tp://x",
            "a:b",
        ] {
            for from in [
                "",
                "https://",
                "https://a",
                "nonsense",
                "https://a/\u{1F600}",
            ] {
                let _ = next_hop(from, location, true);
            }
        }
    }

    struct Counting<R> {
        inner: R,
        read: std::rc::Rc<std::cell::Cell<usize>>,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read.set(self.read.get() + n);
            Ok(n)
        }
    }

    #[test]
    fn a_body_over_the_cap_is_refused_after_reading_one_byte_more_than_the_cap() {
        let read = std::rc::Rc::new(std::cell::Cell::new(0));
        let ten_mb = Counting {
            inner: std::io::repeat(b' ').take(10 * 1024 * 1024),
            read: read.clone(),
        };
        let err = read_capped(ten_mb, 512 * 1024).unwrap_err();
        assert!(err.contains("cap"), "{err}");
        assert_eq!(read.get(), 512 * 1024 + 1);
        assert_eq!(read_capped(&b"{}"[..], 2).unwrap(), b"{}");
        assert!(read_capped(&b"{} "[..], 2).is_err());
    }
}
