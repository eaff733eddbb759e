//! Scenario 7 and the sources: OIDC discovery and its RFC 8414 fallback,
//! the exact issuer check, `https` only, redirects never to `http` (over a
//! real local TLS server), the redirect limit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokengate_jwks::{Error, RemoteJwks};

fn discovery_doc(issuer: &str, jwks_uri: &str) -> String {
    serde_json::json!({
        "issuer": issuer,
        "jwks_uri": jwks_uri,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "id_token_signing_alg_values_supported": ["ES256"],
    })
    .to_string()
}

#[test]
fn oidc_discovery_finds_the_jwks_uri_of_the_exact_issuer() {
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    idp.route(
        "/.well-known/openid-configuration",
        200,
        discovery_doc(&idp.base, &idp.jwks_uri()),
    );
    let jwks = RemoteJwks::from_issuer(idp.base.clone())
        .danger_allow_http()
        .policy(quiet_policy(1))
        .build()
        .unwrap();
    assert_eq!(jwks.jwks_uri(), idp.jwks_uri());
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
    validator(&jwks)
        .validate(&token(&issuer.current()))
        .unwrap();
}

#[test]
fn rfc8414_metadata_is_used_when_openid_configuration_is_404() {
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    let tenant = format!("{}/tenants/acme", idp.base);
    // RFC 8414 §3.1: the well-known segment between host and path.
    idp.route(
        "/.well-known/oauth-authorization-server/tenants/acme",
        200,
        discovery_doc(&tenant, &idp.jwks_uri()),
    );
    let jwks = RemoteJwks::from_issuer(tenant)
        .danger_allow_http()
        .policy(quiet_policy(1))
        .build()
        .unwrap();
    assert_eq!(jwks.jwks_uri(), idp.jwks_uri());
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
    validator(&jwks)
        .validate(&token(&issuer.current()))
        .unwrap();

    // Neither document: a typed error naming both URLs.
    let err = RemoteJwks::from_issuer(format!("{}/nobody", idp.base))
        .danger_allow_http()
        .build()
        .unwrap_err();
    let Error::Discovery { reasons, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(reasons.contains("openid-configuration") && reasons.contains("404"));
    assert!(reasons.contains("oauth-authorization-server"));
}

#[test]
fn discovery_with_mismatched_issuer_is_refused() {
    let idp = Idp::start(Some(ring("k1")));
    for (configured, published) in [
        // Another issuer altogether.
        (idp.base.clone(), "https://evil.example.com".to_owned()),
        // A trailing slash matters (no normalisation).
        (idp.base.clone(), format!("{}/", idp.base)),
        (format!("{}/", idp.base), idp.base.clone()),
        // Case matters.
        (idp.base.clone(), idp.base.replace("http://", "HTTP://")),
    ] {
        idp.route(
            "/.well-known/openid-configuration",
            200,
            discovery_doc(&published, &idp.jwks_uri()),
        );
        // Even when the RFC 8414 document names the configured issuer, a
        // fetched OIDC document that names another is a refusal, not a
        // reason to look elsewhere.
        idp.route(
            "/.well-known/oauth-authorization-server",
            200,
            discovery_doc(&configured, &idp.jwks_uri()),
        );
        let err = RemoteJwks::from_issuer(configured.clone())
            .danger_allow_http()
            .build()
            .unwrap_err();
        let Error::DiscoveryRefused { source, .. } = &err else {
            panic!("{configured} / {published}: {err:?}")
        };
        assert!(source.to_string().contains("issuer"), "{source}");
    }
    // Documents that are not discovery documents: refused, typed.
    for garbage in ["[]", "{}", r#"{"issuer":1}"#, "<html>", ""] {
        idp.route("/.well-known/openid-configuration", 200, garbage);
        let err = RemoteJwks::from_issuer(idp.base.clone())
            .danger_allow_http()
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::DiscoveryRefused { .. }), "{err:?}");
    }
    assert_eq!(idp.fetches(), 0, "no key set fetched from a refused issuer");
}

#[test]
fn http_jwks_uri_is_refused_without_the_opt_out() {
    let idp = Idp::start(Some(ring("k1")));
    let err = RemoteJwks::from_jwks_uri(idp.jwks_uri())
        .build()
        .unwrap_err();
    let Error::Config(source) = &err else {
        panic!("{err:?}")
    };
    assert!(source.to_string().contains("danger_allow_http"), "{source}");
    // Discovery over http: refused before any request.
    let err = RemoteJwks::from_issuer(idp.base.clone())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    // Anything but http(s) is refused, opt-out or not.
    for url in [
        "file:///etc/passwd",
        "ftp://idp.example.com/jwks",
        "",
        "idp.example.com/jwks",
        "https",
    ] {
        let err = RemoteJwks::from_jwks_uri(url)
            .danger_allow_http()
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{url}: {err:?}");
    }
    assert_eq!(idp.fetches(), 0);
    // With the opt-out, it serves.
    let jwks = RemoteJwks::from_jwks_uri(idp.jwks_uri())
        .danger_allow_http()
        .build()
        .unwrap();
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
}

#[test]
fn redirects_are_followed_up_to_the_limit_and_bad_locations_fail_the_fetch() {
    let issuer = ring("k1");
    let idp = Idp::start(Some(Arc::clone(&issuer)));
    idp.redirect("/a", "/b");
    idp.redirect("/b", &format!("{}/c", idp.base));
    idp.redirect("/c", "jwks");
    let mut policy = quiet_policy(1);
    policy.max_redirects = 3;
    let jwks = RemoteJwks::from_jwks_uri(format!("{}/a", idp.base))
        .danger_allow_http()
        .policy(policy)
        .build()
        .unwrap();
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
    validator(&jwks)
        .validate(&token(&issuer.current()))
        .unwrap();

    policy.max_redirects = 2;
    let jwks = RemoteJwks::from_jwks_uri(format!("{}/a", idp.base))
        .danger_allow_http()
        .policy(policy)
        .build()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(20)).is_err());
    let error = jwks.status().last_error.unwrap();
    assert!(error.contains("more than 2 redirects"), "{error}");

    for location in ["", "::::", "file:///etc/passwd", "ftp://x/y", "\u{7f}"] {
        idp.redirect("/bad", location);
        let jwks = RemoteJwks::from_jwks_uri(format!("{}/bad", idp.base))
            .danger_allow_http()
            .policy(quiet_policy(1))
            .build()
            .unwrap();
        assert!(
            jwks.wait_ready(Duration::from_secs(20)).is_err(),
            "{location:?}"
        );
        assert!(jwks.status().last_error.is_some());
    }
}

/// A minimal HTTPS server (rustls, a certificate made by rcgen for
/// 127.0.0.1): each path answers a status, headers and a body.
struct TlsServer {
    base: String,
    cert_der: Vec<u8>,
}

type Routes = HashMap<&'static str, (u16, Vec<(String, String)>, String)>;

impl TlsServer {
    fn start(routes: impl FnOnce(&str) -> Routes) -> TlsServer {
        let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
        let cert_der = certified.cert.der().to_vec();
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(
            rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der()),
        );
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .unwrap(),
        );
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let routes = Arc::new(routes(&base));
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(tcp) = tcp else { return };
                let (config, routes) = (Arc::clone(&config), Arc::clone(&routes));
                std::thread::spawn(move || {
                    let _ = tcp.set_read_timeout(Some(Duration::from_secs(10)));
                    let conn = rustls::ServerConnection::new(config).unwrap();
                    let mut tls = rustls::StreamOwned::new(conn, tcp);
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head);
                    let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                    let (status, headers, body) = routes.get(path.as_str()).cloned().unwrap_or((
                        404,
                        vec![],
                        "not found".to_owned(),
                    ));
                    let mut response = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (name, value) in headers {
                        response.push_str(&format!("{name}: {value}\r\n"));
                    }
                    response.push_str("\r\n");
                    response.push_str(&body);
                    let _ = tls.write_all(response.as_bytes());
                    tls.conn.send_close_notify();
                    let _ = tls.flush();
                });
            }
        });
        TlsServer { base, cert_der }
    }
}

#[test]
fn redirect_to_http_is_refused() {
    let issuer = ring("k1");
    let plain = Idp::start(Some(Arc::clone(&issuer)));
    let jwks_doc = issuer.jwks().to_json();
    let plain_jwks = plain.jwks_uri();
    let tls = TlsServer::start(|base| {
        let location = |to: String| vec![("Location".to_owned(), to)];
        HashMap::from([
            (
                "/downgrade",
                (302, location(plain_jwks.clone()), String::new()),
            ),
            ("/moved", (301, location("/jwks".to_owned()), String::new())),
            ("/jwks", (200, vec![], jwks_doc.clone())),
            (
                "/.well-known/openid-configuration",
                (200, vec![], discovery_doc(base, &plain_jwks)),
            ),
        ])
    });
    let follow = |path: &str| {
        RemoteJwks::from_jwks_uri(format!("{}{path}", tls.base))
            .root_certificate_der(tls.cert_der.clone())
            // Even with the opt-out, https never redirects to http.
            .danger_allow_http()
            .policy(quiet_policy(1))
            .build()
            .unwrap()
    };

    // The control: an https redirect to https is followed (so the refusal
    // below is the redirect rule, not a TLS failure).
    let jwks = follow("/moved");
    jwks.wait_ready(Duration::from_secs(20)).unwrap();
    validator(&jwks)
        .validate(&token(&issuer.current()))
        .unwrap();

    // https -> http: refused, and the http server never hears of it.
    let jwks = follow("/downgrade");
    let err = jwks.wait_ready(Duration::from_secs(20)).unwrap_err();
    assert_eq!(err.kind(), tokengate::ErrorKind::KeySetUnavailable);
    let error = jwks.status().last_error.unwrap();
    assert!(
        error.contains("redirect") && error.contains("refused"),
        "{error}"
    );
    assert_eq!(plain.fetches(), 0);

    // An https issuer whose discovery document names an http jwks_uri:
    // refused without the opt-out.
    let err = RemoteJwks::from_issuer(tls.base.clone())
        .root_certificate_der(tls.cert_der.clone())
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::DiscoveryRefused { .. }), "{err:?}");

    // Without the certificate among the trusted roots, TLS fails: the
    // client does verify the server.
    let jwks = RemoteJwks::from_jwks_uri(format!("{}/jwks", tls.base))
        .policy(quiet_policy(1))
        .build()
        .unwrap();
    assert!(jwks.wait_ready(Duration::from_secs(20)).is_err());
    assert_eq!(plain.fetches(), 0);
}
