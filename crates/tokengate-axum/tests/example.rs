//! The example server's own walk through every endpoint, as a test.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/server/app.rs"]
mod app;

#[tokio::test]
async fn the_example_server_answers_its_walk_through_as_expected() {
    let demo = app::build().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = demo.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    let lines = app::self_test(&base, &demo).await.unwrap();
    assert!(lines.len() >= 15, "{lines:#?}");
}
