//! Fault test 6: two OS processes, each with its own connection, rotating
//! the same refresh token at the same moment, round after round.
//!
//! The test binary runs itself twice more as the racers (the ignored test
//! `racer`, selected by name, with its settings in the environment).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokengate::api_key::SecretDigest;
use tokengate::refresh::{Expected, RotateOutcome, RotateRequest};
use tokengate::time::OffsetDateTime;
use tokengate::{RefreshRecord, RefreshStore, ScopeSet};
use tokengate_redis::testing::{INSTALL_HINT, RedisServer, redis_server_available};
use tokengate_redis::{RedisConfig, RedisRefreshStore};

const ROUNDS: usize = 200;
const ROOT: &str = "root";
const ENV_URL: &str = "TOKENGATE_RACE_URL";
const ENV_ME: &str = "TOKENGATE_RACE_ME";
const PREFIX: &str = "race";

fn at(s: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(s).unwrap()
}

fn root() -> RefreshRecord {
    RefreshRecord {
        id: ROOT.to_owned(),
        secret_digest: SecretDigest::from_bytes([9; 32]),
        family_id: "fam".to_owned(),
        parent: None,
        subject: "alice".to_owned(),
        client_id: None,
        scopes: ScopeSet::parse("read").unwrap(),
        claims: serde_json::Map::new(),
        issued_at: at(1_750_000_000),
        family_started_at: at(1_750_000_000),
        used_at: None,
        successor: None,
    }
}

/// Waits until both racers reached round `round` (a counter in Redis), so
/// that their rotations of one token leave at the same moment.
fn barrier(conn: &mut tokengate_redis::RedisConnection, round: usize) {
    let key = format!("barrier:{round}");
    redis::cmd("INCR").arg(&key).query::<i64>(conn).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while redis::cmd("GET").arg(&key).query::<i64>(conn).unwrap() < 2 {
        assert!(Instant::now() < deadline, "the other racer never came");
        std::hint::spin_loop();
    }
}

/// One racer: rotates the chain's head every round and prints what it got.
#[test]
#[ignore = "run by two_processes_rotating_the_same_refresh_token_race_exactly_one_successor"]
fn racer() {
    let url = std::env::var(ENV_URL).expect("only run as a racer process");
    let me = std::env::var(ENV_ME).unwrap();
    let config = RedisConfig::new(url).prefix(PREFIX);
    let store = RedisRefreshStore::connect(&config).unwrap();
    let mut sync = config.client().unwrap().connection().unwrap();
    let mut head = ROOT.to_owned();
    for round in 0..ROUNDS {
        let current = store.get(&head).unwrap().expect("the head exists");
        let mut next = (*current).clone();
        next.id = format!("n{round}-{me}");
        next.parent = Some(head.clone());
        next.used_at = None;
        next.successor = None;
        barrier(&mut sync, round);
        let request = RotateRequest::new(&head, Expected::Unused, next.clone(), at(1_750_000_000));
        match store.rotate(&request).unwrap() {
            RotateOutcome::Rotated => {
                println!("RACE {round} rotated {}", next.id);
                head = next.id;
            }
            RotateOutcome::Changed(now) => {
                let winner = now
                    .successor
                    .clone()
                    .expect("a used token names its successor");
                println!("RACE {round} changed {winner}");
                head = winner;
            }
            other => panic!("round {round}: unexpected {other:?}"),
        }
    }
}

#[test]
fn two_processes_rotating_the_same_refresh_token_race_exactly_one_successor() {
    assert!(redis_server_available(), "{INSTALL_HINT}");
    let server = RedisServer::start().unwrap();
    let config = RedisConfig::new(server.url()).prefix(PREFIX);
    let store = RedisRefreshStore::connect(&config).unwrap();
    store.insert(root()).unwrap();

    let exe = std::env::current_exe().unwrap();
    let racers: Vec<_> = ["a", "b"]
        .iter()
        .map(|me| {
            Command::new(&exe)
                .args([
                    "racer",
                    "--exact",
                    "--ignored",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ENV_URL, server.url())
                .env(ENV_ME, me)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<String> = racers
        .into_iter()
        .map(|c| {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "a racer failed");
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();

    // Per round: exactly one process rotated, the other saw Changed naming
    // the winner's successor.
    let lines: Vec<Vec<(usize, String, String)>> = outputs
        .iter()
        .map(|o| {
            o.lines()
                // The first line may follow libtest's "test racer ... ".
                .filter_map(|l| l.split_once("RACE ").map(|(_, rest)| rest))
                .map(|l| {
                    let mut parts = l.split(' ');
                    (
                        parts.next().unwrap().parse().unwrap(),
                        parts.next().unwrap().to_owned(),
                        parts.next().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .collect();
    assert_eq!(lines[0].len(), ROUNDS);
    assert_eq!(lines[1].len(), ROUNDS);
    let mut winners = Vec::with_capacity(ROUNDS);
    for (round, (a, b)) in lines[0].iter().zip(&lines[1]).enumerate() {
        assert_eq!((a.0, b.0), (round, round));
        let rotated = [a, b].iter().filter(|l| l.1 == "rotated").count();
        assert_eq!(rotated, 1, "round {round}: {a:?} {b:?}");
        assert_eq!(a.2, b.2, "round {round}: both name the same successor");
        winners.push(a.2.clone());
    }

    // The chain is linear: each head names exactly the winner, whose parent
    // is that head; no loser's token was stored.
    let mut head = ROOT.to_owned();
    for (round, winner) in winners.iter().enumerate() {
        let rec = store.get(&head).unwrap().unwrap();
        assert_eq!(
            rec.successor.as_deref(),
            Some(winner.as_str()),
            "round {round}"
        );
        assert!(rec.used_at.is_some());
        let next = store.get(winner).unwrap().unwrap();
        assert_eq!(next.parent.as_deref(), Some(head.as_str()));
        for me in ["a", "b"] {
            let id = format!("n{round}-{me}");
            if id != *winner {
                assert!(store.get(&id).unwrap().is_none(), "loser {id} stored");
            }
        }
        head = winner.clone();
    }
    let last = store.get(&head).unwrap().unwrap();
    assert!(last.successor.is_none() && last.used_at.is_none());
    // Which process wins a round is up to the scheduler; that every round
    // had one winner and one `Changed` is what matters.
    let distinct: HashSet<&String> = winners.iter().collect();
    assert_eq!(distinct.len(), ROUNDS);
}
