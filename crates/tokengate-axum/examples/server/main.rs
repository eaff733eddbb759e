//! An authorization server and a protected API on 127.0.0.1, with
//! in-memory stores and nothing to set up.
//!
//! ```text
//! cargo run -p tokengate-axum --example server              # serve, print curl commands
//! PORT=8080 cargo run -p tokengate-axum --example server    # on a chosen port
//! cargo run -p tokengate-axum --example server -- --self-test
//! ```
//!
//! With `REDIS_URL` set (say `redis://127.0.0.1:6379/`), the revocations,
//! API keys and refresh families live in Redis, so two instances on two
//! ports share them: a token revoked on one is refused by the other.
//!
//! With `--self-test` (or `TOKENGATE_SELF_TEST=1`) it serves on a free
//! port, walks through every endpoint with a real HTTP client, prints each
//! answer, and exits 0 only when every answer is the expected one.

mod app;

use std::process::ExitCode;
use std::time::Duration;

#[tokio::main]
async fn main() -> ExitCode {
    let self_test = std::env::args().any(|a| a == "--self-test")
        || std::env::var("TOKENGATE_SELF_TEST").is_ok_and(|v| v == "1");
    match run(self_test).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(self_test: bool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let demo = app::build()?;
    let port: u16 = match std::env::var("PORT") {
        Ok(p) if !self_test => p.parse()?,
        _ => 0,
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = demo.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });

    if self_test {
        println!("self-test against {base}");
        let walk = tokio::time::timeout(Duration::from_secs(20), app::self_test(&base, &demo));
        let lines = match walk.await {
            Ok(Ok(lines)) => lines,
            Ok(Err(e)) => return Err(format!("self-test failed: {e}").into()),
            Err(_) => return Err("self-test did not finish within 20 s".into()),
        };
        for line in &lines {
            println!("ok  {line}");
        }
        println!(
            "self-test passed: {} requests",
            lines.iter().filter(|l| !l.starts_with(' ')).count()
        );
        server.abort();
        return Ok(());
    }

    let key = &demo.client_key;
    let rs = &demo.introspect_key;
    let stores = &demo.stores;
    println!(
        r#"tokengate-axum example: authorization server and orders API on {base}

State: {stores}

Demo credentials (new at every start):
  OAuth client demo-client, scope orders:read:   {key}
  Resource server orders-api, tokens:introspect: {rs}

# 1. A token for demo-client (client_credentials, its API key as client secret)
TOKEN=$(curl -s -u 'demo-client:{key}' -d grant_type=client_credentials {base}/oauth/token | sed 's/.*"access_token":"\([^"]*\)".*/\1/')

# 2. A protected route (200), then one that needs orders:write (403 with the challenge)
curl -i -H "Authorization: Bearer $TOKEN" {base}/api/orders
curl -i -X POST -H "Authorization: Bearer $TOKEN" {base}/api/orders

# 3. Sign in demo-user (a refresh family), then refresh
REFRESH=$(curl -s -X POST {base}/demo/login | sed 's/.*"refresh_token":"\([^"]*\)".*/\1/')
curl -s -u 'demo-client:{key}' -d grant_type=refresh_token -d refresh_token=$REFRESH {base}/oauth/token

# 4. Introspect (as orders-api), revoke (as demo-client), introspect again
curl -s -H 'Authorization: Bearer {rs}' -d token=$TOKEN {base}/oauth/introspect
curl -i -u 'demo-client:{key}' -d token=$TOKEN {base}/oauth/revoke
curl -s -H 'Authorization: Bearer {rs}' -d token=$TOKEN {base}/oauth/introspect

# 5. The published keys
curl -i {base}/.well-known/jwks.json

Ctrl-C to stop."#
    );
    server.await??;
    Ok(())
}
