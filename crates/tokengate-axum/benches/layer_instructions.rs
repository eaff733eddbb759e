//! Instructions per request through the router in process, without the
//! network: a route without the layer, and the same route behind the
//! layer with an HS256 token (with and without the verified-token cache)
//! and with an API key. `benches/layer_instructions.sh` runs each case
//! under callgrind with N and 2N requests and prints the difference
//! divided by N; the counts do not move with the machine's load, unlike
//! the times of `throughput`.
//!
//! ```text
//! bash crates/tokengate-axum/benches/layer_instructions.sh
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use tokengate::{Algorithm, SigningKey};
use tokengate_axum::{Auth, AuthLayer};
use tower::ServiceExt;

mod common;

/// The cases, by name.
const CASES: [&str; 4] = ["open", "hs256", "hs256_cached", "api_key"];

/// A protected router, its token and its API key.
fn protected(cache: bool) -> (Router, String, String) {
    let (door, token, api_key) =
        common::door(SigningKey::hmac(Algorithm::HS256, &[7; 32]).unwrap(), cache);
    let router = Router::new()
        .route(
            "/orders",
            get(|Auth(p): Auth| async move { p.subject().unwrap_or("-").to_owned() }),
        )
        .layer(AuthLayer::new(door));
    (router, token, api_key)
}

fn run(case: &str, n: u64) {
    let (router, bearer) = match case {
        "open" => {
            // The same handler's work, and the HS256 case's header bytes.
            let (_, token, _) = protected(false);
            let router = Router::new().route("/orders", get(|| async { "user-1".to_owned() }));
            (router, token)
        }
        "hs256" => {
            let (router, token, _) = protected(false);
            (router, token)
        }
        "hs256_cached" => {
            let (router, token, _) = protected(true);
            (router, token)
        }
        "api_key" => {
            let (router, _, key) = protected(false);
            (router, key)
        }
        other => panic!("unknown case {other}; one of {CASES:?}"),
    };
    let value = format!("Bearer {bearer}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        for _ in 0..n {
            let req = Request::get("/orders")
                .header(header::AUTHORIZATION, &value)
                .body(Body::empty())
                .unwrap();
            let response = router.clone().oneshot(req).await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            black_box(
                axum::body::to_bytes(response.into_body(), 64)
                    .await
                    .unwrap(),
            );
        }
    });
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [case, n] if !case.starts_with('-') => run(case, n.parse().expect("N")),
        // `cargo test --benches` (and `cargo bench`) pass flags: smoke.
        _ => {
            for case in CASES {
                run(case, 1);
            }
        }
    }
}
