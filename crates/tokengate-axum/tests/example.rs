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

async fn serve(demo: &app::Demo) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let router = demo.router.clone();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// With `REDIS_URL`, two instances of the example on two ports share their
/// state: a token issued by one is accepted by the other, and once revoked
/// on the first, refused by the second.
#[tokio::test(flavor = "multi_thread")]
async fn two_example_instances_on_one_redis_share_revocations() {
    assert!(
        tokengate_redis::testing::redis_server_available(),
        "{}",
        tokengate_redis::testing::INSTALL_HINT
    );
    let redis = tokengate_redis::testing::RedisServer::start().unwrap();
    let url = redis.url();
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            app::build_on_redis(&url).unwrap(),
            app::build_on_redis(&url).unwrap(),
        )
    })
    .await
    .unwrap();
    let (base_a, base_b) = (serve(&a).await, serve(&b).await);
    let http = reqwest::Client::new();
    let form = "application/x-www-form-urlencoded";

    // A client of instance A gets a token there...
    let issued: serde_json::Value = http
        .post(format!("{base_a}/oauth/token"))
        .basic_auth("demo-client", Some(&a.client_key))
        .header("content-type", form)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = issued["access_token"].as_str().unwrap().to_owned();
    let me = |base: &str| {
        http.get(format!("{base}/api/me"))
            .bearer_auth(&token)
            .send()
    };
    // ...which instance B accepts.
    assert_eq!(me(&base_b).await.unwrap().status().as_u16(), 200);

    // Revoked on A, it is refused on B once B's replica has the change
    // (milliseconds; the bound only keeps a broken feed from hanging).
    let revoked = http
        .post(format!("{base_a}/oauth/revoke"))
        .basic_auth("demo-client", Some(&a.client_key))
        .header("content-type", form)
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let status = me(&base_b).await.unwrap().status().as_u16();
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            std::time::Instant::now() < deadline,
            "B never refused the revoked token"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(me(&base_a).await.unwrap().status().as_u16(), 401);
    drop((a, b));
}
