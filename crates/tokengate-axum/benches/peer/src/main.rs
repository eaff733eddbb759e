//! The throughput benchmark's route behind jwt-authorizer 0.15 (axum 0.7).
//!
//! `GET /orders` answers the token's subject, as the benchmark's protected
//! route does: HS256 with the secret in `BENCH_SECRET`; `iss`, `aud`, `exp`
//! and `nbf` checked against `BENCH_ISSUER` and `BENCH_AUDIENCE`. `GET /open`
//! answers the unprotected route's body, without the layer. Serves on
//! 127.0.0.1 (port `BENCH_PORT`, or a free one) on a one-worker runtime, as
//! the benchmark's own servers do, and prints the port on the first line of
//! its output.

use std::io::Write;

use axum::routing::get;
use axum::Router;
use jwt_authorizer::{IntoLayer, JwtAuthorizer, JwtClaims, RegisteredClaims, Validation};

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("{name} is not set");
        std::process::exit(2)
    })
}

async fn orders(JwtClaims(claims): JwtClaims<RegisteredClaims>) -> String {
    claims.sub.unwrap_or_else(|| "-".to_owned())
}

fn main() {
    let secret = var("BENCH_SECRET");
    let issuer = var("BENCH_ISSUER");
    let audience = var("BENCH_AUDIENCE");
    let port: u16 = std::env::var("BENCH_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        // tokengate's default leeway (jwt-authorizer's is 60 s).
        let validation = Validation::new()
            .leeway(30)
            .algs(vec![jsonwebtoken::Algorithm::HS256])
            .iss(&[issuer])
            .aud(&[audience])
            .exp(true)
            .nbf(true);
        let auth = JwtAuthorizer::<RegisteredClaims>::from_secret(&secret)
            .validation(validation)
            .build()
            .await
            .expect("authorizer");
        let protected = Router::new()
            .route("/orders", get(orders))
            .layer(auth.into_layer());
        let app = Router::new()
            .route("/open", get(|| async { "orders" }))
            .merge(protected);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind");
        let port = listener.local_addr().expect("address").port();
        let mut out = std::io::stdout();
        writeln!(out, "{port}")
            .and_then(|()| out.flush())
            .expect("stdout");
        axum::serve(listener, app).await.expect("serve");
    });
}
