//! API keys across servers: two stores on one Redis are two API servers;
//! what one does, the other enforces. And the replica through a Redis
//! kill and restart, a cold start, and a trimmed change stream.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokengate::StalePolicy;
use tokengate::{
    ApiKeyFormat, ApiKeyIssuer, ApiKeyStore, ApiKeyVerifier, Error, ErrorKind, NewApiKey,
};
use tokengate_redis::testing::{INSTALL_HINT, RedisServer, redis_server_available};
use tokengate_redis::{RedisApiKeyStore, RedisConfig};

const READY: Duration = Duration::from_secs(10);

fn server(aof: bool) -> RedisServer {
    assert!(redis_server_available(), "{INSTALL_HINT}");
    if aof {
        RedisServer::start_with_aof().unwrap()
    } else {
        RedisServer::start().unwrap()
    }
}

fn store(config: &RedisConfig) -> Arc<RedisApiKeyStore> {
    Arc::new(
        RedisApiKeyStore::connect(config)
            .unwrap()
            .wait_ready(READY)
            .unwrap(),
    )
}

fn format() -> ApiKeyFormat {
    ApiKeyFormat::new("acme")
        .unwrap()
        .environment("live")
        .unwrap()
}

/// Polls `check` until it holds; fails (naming `what`) after 10 s. The
/// replicas converge in milliseconds; the bound only keeps a broken feed
/// from hanging the test.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn verdict(verifier: &ApiKeyVerifier, key: &str) -> Result<(), ErrorKind> {
    verifier.verify(key).map(|_| ()).map_err(|e| e.kind())
}

#[test]
fn api_key_revoked_on_one_server_is_refused_on_another() {
    let server = server(false);
    let config = RedisConfig::new(server.url());
    let (a, b) = (store(&config), store(&config));
    let issuer = ApiKeyIssuer::new(format());
    let on_a = ApiKeyVerifier::new(format(), a.clone());
    let on_b = ApiKeyVerifier::new(format(), b.clone());

    let key = issuer.issue_into(&*a, NewApiKey::new("billing")).unwrap();
    assert_eq!(verdict(&on_a, key.expose_secret()), Ok(()));
    eventually("server B learns of the new key", || {
        verdict(&on_b, key.expose_secret()).is_ok()
    });

    assert!(on_a.revoke(key.id()).unwrap());
    assert_eq!(
        verdict(&on_a, key.expose_secret()),
        Err(ErrorKind::Revoked),
        "the revoking server refuses it at once"
    );
    eventually("server B refuses the revoked key", || {
        verdict(&on_b, key.expose_secret()) == Err(ErrorKind::Revoked)
    });
}

#[test]
fn api_key_rotated_on_one_server_is_replaced_on_another() {
    let server = server(false);
    let config = RedisConfig::new(server.url());
    let (a, b) = (store(&config), store(&config));
    let issuer = ApiKeyIssuer::new(format());
    let on_b = ApiKeyVerifier::new(format(), b.clone());

    let old = issuer.issue_into(&*a, NewApiKey::new("billing")).unwrap();
    eventually("server B learns of the key", || {
        verdict(&on_b, old.expose_secret()).is_ok()
    });
    // No grace: the old key stops at once.
    let new = issuer
        .rotate(&*a, old.id(), tokengate::time::Duration::ZERO)
        .unwrap();
    eventually("server B accepts the successor", || {
        verdict(&on_b, new.expose_secret()).is_ok()
    });
    assert_eq!(
        verdict(&on_b, old.expose_secret()),
        Err(ErrorKind::Expired),
        "server B refuses the rotated key"
    );
    assert_eq!(
        b.get(old.id()).unwrap().unwrap().replaced_by.as_deref(),
        Some(new.id())
    );
    // Server B cannot rotate it a second time: one successor, fleet-wide.
    assert!(
        issuer
            .rotate(&*b, old.id(), tokengate::time::Duration::ZERO)
            .is_err()
    );
    assert_eq!(a.list_by_owner("billing").unwrap().len(), 2);
}

#[test]
fn api_key_replica_survives_a_redis_kill_and_restart_and_catches_up() {
    let mut server = server(true);
    let config = RedisConfig::new(server.url()).response_timeout(Duration::from_millis(500));
    let writer = store(&config);
    // A replica that fails closed soon after losing Redis, and one that
    // keeps serving.
    let strict = Arc::new(
        RedisApiKeyStore::builder(&config)
            .max_staleness(Duration::from_millis(300))
            .connect()
            .unwrap()
            .wait_ready(READY)
            .unwrap(),
    );
    let lenient = Arc::new(
        RedisApiKeyStore::builder(&config)
            .max_staleness(Duration::from_millis(300))
            .policy(StalePolicy::ServeStale)
            .connect()
            .unwrap()
            .wait_ready(READY)
            .unwrap(),
    );
    let issuer = ApiKeyIssuer::new(format());
    let keys: Vec<_> = (0..20)
        .map(|i| {
            issuer
                .issue_into(&*writer, NewApiKey::new(format!("owner{i}")))
                .unwrap()
        })
        .collect();
    let revoked = &keys[0];
    assert!(
        writer
            .revoke(revoked.id(), tokengate::time::OffsetDateTime::now_utc())
            .unwrap()
    );
    for replica in [&strict, &lenient] {
        eventually("the replica has every key and the revocation", || {
            replica.replica_len() == keys.len()
                && replica
                    .get(revoked.id())
                    .unwrap()
                    .is_some_and(|r| r.revoked_at.is_some())
        });
    }

    server.kill();
    // Writes fail, typed.
    let err = writer.revoke(keys[1].id(), tokengate::time::OffsetDateTime::now_utc());
    assert!(matches!(err, Err(Error::Store(_))), "{err:?}");
    // Past the staleness bound, the strict replica refuses to answer; the
    // lenient one answers from memory.
    eventually("the strict replica fails closed", || {
        matches!(strict.get(keys[2].id()), Err(Error::Store(_)))
    });
    let on_lenient = ApiKeyVerifier::new(format(), lenient.clone());
    assert_eq!(verdict(&on_lenient, keys[2].expose_secret()), Ok(()));
    assert_eq!(
        verdict(&on_lenient, revoked.expose_secret()),
        Err(ErrorKind::Revoked)
    );
    let on_strict = ApiKeyVerifier::new(format(), strict.clone());
    assert_eq!(
        verdict(&on_strict, keys[2].expose_secret()),
        Err(ErrorKind::StoreFailure),
        "a stale replica is a store failure (503), not an invalid key (401)"
    );

    server.restart().unwrap();
    // Everything written before the kill is still there and enforced;
    // the replicas catch up from their cursor without a full reload.
    eventually("the strict replica answers again", || {
        strict.get(keys[2].id()).is_ok()
    });
    assert!(
        writer
            .revoke(keys[3].id(), tokengate::time::OffsetDateTime::now_utc())
            .unwrap()
    );
    for (replica, verifier) in [(&strict, &on_strict), (&lenient, &on_lenient)] {
        eventually(
            "the replica sees the revocation made after the restart",
            || verdict(verifier, keys[3].expose_secret()) == Err(ErrorKind::Revoked),
        );
        assert_eq!(
            verdict(verifier, revoked.expose_secret()),
            Err(ErrorKind::Revoked)
        );
        for key in &keys[4..] {
            assert_eq!(verdict(verifier, key.expose_secret()), Ok(()));
        }
        assert_eq!(
            replica.full_loads(),
            1,
            "caught up from the stream, no reload"
        );
    }
    // A cold replica loads everything before it is ready.
    let cold = store(&config);
    assert_eq!(cold.replica_len(), keys.len());
    let on_cold = ApiKeyVerifier::new(format(), cold.clone());
    assert_eq!(
        verdict(&on_cold, revoked.expose_secret()),
        Err(ErrorKind::Revoked)
    );
    assert_eq!(
        verdict(&on_cold, keys[3].expose_secret()),
        Err(ErrorKind::Revoked)
    );
}

#[test]
fn api_key_replica_reloads_in_full_when_the_stream_was_trimmed_past_its_cursor() {
    let server = server(false);
    let config = RedisConfig::new(server.url()).prefix("trim");
    let writer = store(&config);
    let replica = store(&config);
    let issuer = ApiKeyIssuer::new(format());
    let first = issuer.issue_into(&*writer, NewApiKey::new("o")).unwrap();
    eventually("the replica has the key", || replica.replica_len() == 1);
    assert_eq!(replica.full_loads(), 1);

    // Lose changes the replica has not read: drop the stream's entries and
    // advance the counter, as trimming during a long disconnect would.
    let mut conn = config.client().unwrap().connection().unwrap();
    let stream = config.key("ak", "changes");
    redis::cmd("XTRIM")
        .arg(&stream)
        .arg("MAXLEN")
        .arg(0)
        .query::<i64>(&mut conn)
        .unwrap();
    redis::cmd("INCRBY")
        .arg(config.key("ak", "seq"))
        .arg(5)
        .query::<i64>(&mut conn)
        .unwrap();
    // A revocation written straight into the record, whose change event
    // was among those lost.
    redis::cmd("HSET")
        .arg(config.key("ak", &format!("k:{}", first.id())))
        .arg("rv")
        .arg(1_750_000_000)
        .query::<i64>(&mut conn)
        .unwrap();

    let second = issuer.issue_into(&*writer, NewApiKey::new("o")).unwrap();
    eventually("the replica reloads", || replica.full_loads() == 2);
    let on_replica = ApiKeyVerifier::new(format(), replica.clone());
    eventually("the replica has the second key", || {
        verdict(&on_replica, second.expose_secret()).is_ok()
    });
    assert_eq!(
        verdict(&on_replica, first.expose_secret()),
        Err(ErrorKind::Revoked),
        "no lost revocation"
    );
}

#[test]
fn api_key_import_inserts_in_batches_skips_existing_ids_and_reaches_other_servers() {
    let server = server(false);
    let config = RedisConfig::new(server.url()).prefix("import");
    let (a, b) = (store(&config), store(&config));
    let issuer = ApiKeyIssuer::new(format());
    let issued: Vec<_> = (0..1_234)
        .map(|i| {
            issuer
                .issue(NewApiKey::new(format!("owner{}", i % 3)))
                .unwrap()
        })
        .collect();
    let existing = issued[5].1.clone();
    a.insert(existing.clone()).unwrap();
    let inserted = a.import(issued.iter().map(|(_, r)| r.clone())).unwrap();
    assert_eq!(inserted, issued.len() - 1, "the existing id is skipped");
    assert_eq!(a.import([existing]).unwrap(), 0);
    assert_eq!(
        a.replica_len(),
        issued.len(),
        "the importing store reads its writes"
    );
    eventually("server B has every imported key", || {
        b.replica_len() == issued.len()
    });
    let on_b = ApiKeyVerifier::new(format(), b.clone());
    for (key, _) in issued.iter().step_by(97) {
        assert_eq!(verdict(&on_b, key.expose_secret()), Ok(()));
    }
    let listed: usize = (0..3)
        .map(|o| b.list_by_owner(&format!("owner{o}")).unwrap().len())
        .sum();
    assert_eq!(listed, issued.len());
}

#[test]
fn api_key_replica_reloads_when_redis_comes_back_without_its_data() {
    let mut server = server(false);
    let config = RedisConfig::new(server.url()).response_timeout(Duration::from_millis(500));
    let writer = store(&config);
    let replica = store(&config);
    let issuer = ApiKeyIssuer::new(format());
    let lost = issuer.issue_into(&*writer, NewApiKey::new("o")).unwrap();
    eventually("the replica has the key", || replica.replica_len() == 1);

    // No persistence: Redis comes back empty, stream and counter included.
    server.kill();
    server.restart().unwrap();
    eventually("the replica reloads from the empty server", || {
        replica.full_loads() == 2 && replica.replica_len() == 0
    });
    let on_replica = ApiKeyVerifier::new(format(), replica.clone());
    assert_eq!(
        verdict(&on_replica, lost.expose_secret()),
        Err(ErrorKind::UnknownCredential),
        "a key Redis no longer has is not served from memory"
    );
    let fresh = issuer.issue_into(&*writer, NewApiKey::new("o")).unwrap();
    eventually("the replica follows the new stream", || {
        verdict(&on_replica, fresh.expose_secret()).is_ok()
    });
}
