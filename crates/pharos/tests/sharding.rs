//! Target sharding across collectors: members with the same scrape config split the targets so
//! that each is scraped by exactly one of them, from a static member list or through Debian's real
//! etcd (leases: a `kill -9`ed member drops out by itself, a stopped one leaves at once), and a
//! member leaving or joining moves only the targets it had or takes.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Proc, Server, client, free_port, get_json, peers_required, wait_http};

const TARGETS: usize = 60;

/// A scrape job over `TARGETS` closed local ports (scraping them fails fast, which is all the
/// split needs), plus the sharding section.
fn config(dir: &Path, member: &str, sharding: &str) -> std::path::PathBuf {
    let targets: Vec<String> = (0..TARGETS).map(|i| format!("'127.0.0.1:{}'", 1 + i)).collect();
    let text = format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 500ms\npush:\n  enabled: false\n\
         scrape_configs:\n  - job_name: fleet\n    static_configs:\n      - targets: [{}]\n\
         sharding:\n  member: {member}\n{sharding}",
        targets.join(", ")
    );
    let path = dir.join(format!("{member}.yml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn start(dir: &Path, member: &str, sharding: &str) -> Server {
    let cfg = config(dir, member, sharding);
    Server::start(&dir.join(member), &["--config", cfg.to_str().unwrap()])
}

/// The targets a member scrapes, by address.
fn active(s: &Server) -> BTreeSet<String> {
    let (code, v) = get_json(&client(), &s.url("/api/v1/targets"), &[("state", "active")]);
    assert_eq!(code, 200);
    v["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["labels"]["instance"].as_str().unwrap().to_string())
        .collect()
}

/// Polls until the members' targets are disjoint and cover every target, and returns who has
/// which. Fails naming the overlap or the gap.
fn split(members: &[(&str, &Server)]) -> BTreeMap<String, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut owner = BTreeMap::new();
        let mut overlap = Vec::new();
        for (name, s) in members {
            for t in active(s) {
                if let Some(other) = owner.insert(t.clone(), name.to_string()) {
                    overlap.push(format!("{t} ({other} and {name})"));
                }
            }
        }
        if overlap.is_empty() && owner.len() == TARGETS {
            return owner;
        }
        assert!(
            Instant::now() < deadline,
            "no clean split: {} of {TARGETS} targets covered, overlaps {overlap:?}",
            owner.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn count(split: &BTreeMap<String, String>, member: &str) -> usize {
    split.values().filter(|m| *m == member).count()
}

#[test]
fn a_static_member_list_splits_the_targets() {
    let dir = tempfile::tempdir().unwrap();
    let section = "  members: [a, b, c]\n";
    let a = start(dir.path(), "a", section);
    let b = start(dir.path(), "b", section);
    let c = start(dir.path(), "c", section);
    let owners = split(&[("a", &a), ("b", &b), ("c", &c)]);
    for m in ["a", "b", "c"] {
        let n = count(&owners, m);
        assert!(
            (10..=30).contains(&n),
            "member {m} scrapes {n} of {TARGETS}: {owners:?}"
        );
    }
}

#[test]
fn etcd_members_share_targets_and_take_over_from_a_crashed_one() {
    if !Path::new("/usr/bin/etcd").exists() {
        assert!(
            !peers_required(),
            "PHAROS_REQUIRE_PEERS=1 but Debian's etcd-server is not installed"
        );
        eprintln!(
            "NOTICE: etcd not installed; skipping the etcd sharding test (the test command installs it)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (client_port, peer_port) = (free_port(), free_port());
    let etcd_url = format!("http://127.0.0.1:{client_port}");
    let _etcd = Proc(
        Command::new("/usr/bin/etcd")
            .args([
                "--name",
                "test",
                "--data-dir",
                dir.path().join("etcd").to_str().unwrap(),
                "--listen-client-urls",
                &etcd_url,
                "--advertise-client-urls",
                &etcd_url,
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{peer_port}"),
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer_port}"),
                "--initial-cluster",
                &format!("test=http://127.0.0.1:{peer_port}"),
            ])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("etcd.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    wait_http(&format!("{etcd_url}/health"));
    let section =
        format!("  etcd:\n    endpoints: ['{etcd_url}']\n    lease_ttl: 3s\n    refresh_interval: 1s\n");
    let a = start(dir.path(), "a", &section);
    let b = start(dir.path(), "b", &section);
    let c = start(dir.path(), "c", &section);
    let three = split(&[("a", &a), ("b", &b), ("c", &c)]);
    for m in ["a", "b", "c"] {
        assert!(count(&three, m) > 0, "member {m} got no targets: {three:?}");
    }

    // A crash: c's lease expires and a and b take its targets; theirs stay where they were.
    c.kill9();
    let two = split(&[("a", &a), ("b", &b)]);
    for (t, m) in &three {
        if m != "c" {
            assert_eq!(&two[t], m, "{t} moved from {m} though only c left");
        }
    }
    assert!(a.log_text().contains("collector group changed"));

    // A join: d takes about a third, and only takes.
    let d = start(dir.path(), "d", &section);
    let joined = split(&[("a", &a), ("b", &b), ("d", &d)]);
    let moved: Vec<&String> = two.keys().filter(|t| joined[*t] != two[*t]).collect();
    for t in &moved {
        assert_eq!(
            joined[*t], "d",
            "{t} moved from {} to {} when d joined",
            two[*t], joined[*t]
        );
    }
    assert!(
        (5..=40).contains(&moved.len()),
        "d took {} of {TARGETS} targets",
        moved.len()
    );

    // A clean stop revokes d's lease: the split goes back to exactly what it was with a and b.
    assert!(d.terminate().success());
    let back = split(&[("a", &a), ("b", &b)]);
    assert_eq!(back, two, "after d left");
}
