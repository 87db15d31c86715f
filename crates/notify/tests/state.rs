//! The alert manager's state survives a crash: each store is written, dropped without any close
//! step (as after `kill -9`), and opened again from disk. Also torn journals, the silence
//! update/expire rules through the public API, GC, and version-1 files written by hand as
//! `docs/format/alertmanager-state.md` describes them.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use std::collections::BTreeSet;
use std::fs::{self, OpenOptions};
use std::io::Write;

use notify::nflog::{self, EntryKey, Nflog};
use notify::outbox::{Outbox, Pending};
use notify::silence::{self, Silence, SilenceState, Silences};
use notify::store::Alerts;
use notify::{Alert, Error, LabelSet, MatchOp, Matcher, parse_matchers};

const NOW: i64 = 1_700_000_000_000;
const H: i64 = 3_600_000;

fn ls(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn alert(name: &str, starts: i64, ends: i64) -> Alert {
    Alert {
        labels: ls(&[("alertname", name), ("job", "api")]),
        annotations: ls(&[("summary", "it broke")]),
        starts_at: starts,
        ends_at: ends,
        generator_url: "http://prom/graph".into(),
        updated_at: starts,
        timeout: false,
    }
}

fn silence(matchers: &str, start: i64, end: i64) -> Silence {
    Silence {
        id: String::new(),
        matchers: parse_matchers(matchers).unwrap(),
        starts_at: start,
        ends_at: end,
        updated_at: 0,
        created_by: "ops".into(),
        comment: "deploy".into(),
    }
}

fn fps(v: &[u64]) -> BTreeSet<u64> {
    v.iter().copied().collect()
}

fn key(group: &str) -> EntryKey {
    EntryKey {
        group_key: group.into(),
        receiver: "team-a".into(),
        integration: "webhook".into(),
        index: 0,
    }
}

#[test]
fn alerts_survive_a_crash_and_a_torn_journal_line() {
    let dir = tempfile::tempdir().unwrap();
    let store = Alerts::open(dir.path()).unwrap();
    store
        .put(vec![alert("A", NOW, NOW + H), alert("B", NOW, NOW + H)], NOW)
        .unwrap();
    store
        .put(vec![alert("A", NOW + 1000, NOW + 2 * H)], NOW + 1000)
        .unwrap();
    let before = store.list();
    drop(store);

    let store = Alerts::open(dir.path()).unwrap();
    assert_eq!(store.list(), before);
    assert_eq!(store.torn_records(), 0);
    // The merge happened before the write: the earliest start survives the restart.
    let a = store.get(alert("A", 0, 0).fingerprint()).unwrap();
    assert_eq!((a.starts_at, a.ends_at), (NOW, NOW + 2 * H));
    drop(store);

    // A crash in the middle of an append leaves half a line.
    let journal = dir.path().join("alerts.journal");
    let len = fs::metadata(&journal).unwrap().len();
    let mut f = OpenOptions::new().append(true).open(&journal).unwrap();
    f.write_all(br#"{"op":"put","alert":{"labels":{"alertname":"C"#)
        .unwrap();
    drop(f);
    let store = Alerts::open(dir.path()).unwrap();
    assert_eq!(store.torn_records(), 1);
    assert_eq!(store.list(), before);
    assert_eq!(fs::metadata(&journal).unwrap().len(), len, "torn tail cut off");
    // Appends after the cut are readable.
    store.put(vec![alert("C", NOW, NOW + H)], NOW).unwrap();
    drop(store);
    let store = Alerts::open(dir.path()).unwrap();
    assert_eq!(store.torn_records(), 0);
    assert_eq!(store.len(), 3);
}

#[test]
fn alerts_compaction_and_gc_survive_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Alerts::open(dir.path()).unwrap();
    store
        .put(vec![alert("A", NOW, NOW + 10), alert("B", NOW, NOW + H)], NOW)
        .unwrap();
    store.compact().unwrap();
    assert_eq!(store.journal_bytes(), 0);
    let removed = store.gc(NOW + 20, 0).unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].labels["alertname"], "A");
    drop(store);
    let store = Alerts::open(dir.path()).unwrap();
    let names: Vec<String> = store
        .list()
        .into_iter()
        .map(|a| a.labels["alertname"].clone())
        .collect();
    assert_eq!(names, vec!["B".to_string()]);
}

#[test]
fn unreadable_alert_files_name_themselves() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("alerts.json"), b"{not json").unwrap();
    let e = Alerts::open(dir.path()).err().unwrap().to_string();
    assert!(e.contains("alerts.json") && e.contains("corrupt"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("alerts.journal"),
        b"{\"op\":\"del\",\"fp\":\"0000000000000001\"}\n{\"op\":\"bogus\"}\n{\"op\":\"del\",\"fp\":\"0000000000000002\"}\n",
    )
    .unwrap();
    let e = Alerts::open(dir.path()).err().unwrap().to_string();
    assert!(e.contains("alerts.journal") && e.contains("line 2"), "{e}");
}

#[test]
fn silences_survive_a_crash_with_their_rules() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("silences.json");
    // Retention 1h: each silence is stored with `expires_at` = its end + 1h.
    let s = Silences::open(&path, H).unwrap();
    let id = s
        .set(silence(r#"{job="api", env=~"prod|stage"}"#, NOW, NOW + H), NOW)
        .unwrap();
    // Extend in place.
    let mut upd = s.get(&id).unwrap();
    upd.ends_at = NOW + 2 * H;
    assert_eq!(s.set(upd, NOW + 1000).unwrap(), id);
    // Change the matchers: a new silence, the old one expired.
    let mut upd = s.get(&id).unwrap();
    upd.matchers = parse_matchers(r#"{job="api"}"#).unwrap();
    let id2 = s.set(upd, NOW + 2000).unwrap();
    assert_ne!(id, id2);
    drop(s);

    let s = Silences::open(&path, H).unwrap();
    assert_eq!(s.get(&id).unwrap().state(NOW + 2000), SilenceState::Expired);
    assert_eq!(s.get(&id).unwrap().ends_at, NOW + 2000);
    assert_eq!(s.get(&id2).unwrap().state(NOW + 2000), SilenceState::Active);
    let labels = ls(&[("job", "api"), ("env", "dev")]);
    assert_eq!(s.mutes(&labels, NOW + 3000), vec![id2.clone()]);

    // Expire, then expiring again and unknown ids fail as in Alertmanager.
    s.expire(&id2, NOW + 4000).unwrap();
    assert!(matches!(
        s.expire(&id2, NOW + 5000),
        Err(Error::SilenceExpired(_))
    ));
    assert!(matches!(s.expire("nope", NOW), Err(Error::SilenceNotFound(_))));
    assert!(s.mutes(&labels, NOW + 4000).is_empty());
    drop(s);

    let s = Silences::open(&path, H).unwrap();
    assert!(s.mutes(&labels, NOW + 4000).is_empty());
    let filter = [Matcher::new("job", MatchOp::Equal, "api").unwrap()];
    assert_eq!(s.query(&filter, NOW + 5000).len(), 2);
    // GC after retention (1h after each end).
    assert_eq!(s.gc(NOW + H + 1999).unwrap(), 0);
    assert_eq!(s.gc(NOW + H + 2000).unwrap(), 1);
    assert_eq!(s.gc(NOW + H + 4000).unwrap(), 1);
    drop(s);
    assert!(Silences::open(&path, H).unwrap().is_empty());
}

#[test]
fn nflog_survives_a_crash_and_drives_dedup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nflog.json");
    let log = Nflog::open(&path, nflog::DEFAULT_RETENTION_MS).unwrap();
    log.log(&key("{}:{alertname=\"A\"}"), fps(&[1, 2]), fps(&[]), NOW)
        .unwrap();
    log.log(&key("g2"), fps(&[3]), fps(&[4]), NOW).unwrap();
    drop(log);

    let log = Nflog::open(&path, nflog::DEFAULT_RETENTION_MS).unwrap();
    let e = log.query(&key("{}:{alertname=\"A\"}")).unwrap();
    assert_eq!(e.firing, fps(&[1, 2]));
    assert_eq!(e.timestamp, NOW);
    // Same alerts within the repeat interval: no notification after the restart either.
    assert!(!nflog::needs_update(
        Some(&e),
        &fps(&[1, 2]),
        &fps(&[]),
        true,
        4 * H,
        NOW + H
    ));
    assert!(nflog::needs_update(
        Some(&e),
        &fps(&[1, 2, 5]),
        &fps(&[]),
        true,
        4 * H,
        NOW + H
    ));
    drop(log);

    // Torn last line.
    let journal = dir.path().join("nflog.json.journal");
    let mut f = OpenOptions::new().append(true).open(&journal).unwrap();
    f.write_all(br#"{"op":"set","group_key":"g3","#).unwrap();
    drop(f);
    let log = Nflog::open(&path, H).unwrap();
    assert_eq!(log.torn_records(), 1);
    assert_eq!(log.len(), 2);
    log.compact().unwrap();
    log.log(&key("g2"), fps(&[3]), fps(&[]), NOW + H / 2).unwrap();
    // The retention given at this open applies to entries written from now on: g2 now expires
    // 1h after its write, the other entry still 120h after its own.
    assert_eq!(log.gc(NOW + H / 2 + H - 1).unwrap(), 0);
    assert_eq!(log.gc(NOW + H / 2 + H).unwrap(), 1);
    drop(log);
    let log = Nflog::open(&path, H).unwrap();
    assert_eq!(log.len(), 1);
    assert!(log.query(&key("g2")).is_none());
    assert_eq!(log.gc(NOW + nflog::DEFAULT_RETENTION_MS).unwrap(), 1);
    drop(log);
    assert!(Nflog::open(&path, H).unwrap().is_empty());
}

fn pending(group: &str) -> Pending {
    Pending {
        id: 0,
        receiver: "team-a".into(),
        integration: "email".into(),
        index: 1,
        group_key: group.into(),
        group_labels: ls(&[("alertname", "A")]),
        alerts: vec![alert("A", NOW, 0)],
        firing: fps(&[alert("A", 0, 0).fingerprint()]),
        resolved: fps(&[]),
        created_at: NOW,
        attempts: 0,
    }
}

#[test]
fn outbox_survives_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let out = Outbox::open(dir.path()).unwrap();
    let a = out.add(pending("g1")).unwrap();
    let b = out.add(pending("g2")).unwrap();
    let c = out.add(pending("g3")).unwrap();
    out.record_attempt(b).unwrap();
    out.remove(a).unwrap();
    drop(out);

    let out = Outbox::open(dir.path()).unwrap();
    let list = out.list();
    assert_eq!(list.iter().map(|p| p.id).collect::<Vec<_>>(), vec![b, c]);
    assert_eq!(list[0].attempts, 1);
    assert_eq!(list[0].alerts, pending("g2").alerts);
    assert_eq!(list[1].firing, pending("g3").firing);
    let d = out.add(pending("g4")).unwrap();
    assert!(d > c);
}

/// Files as `docs/format/alertmanager-state.md` describes version 1, written by hand: they must
/// keep opening in every later release.
#[test]
fn version_1_files_open() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    fs::write(
        d.join("silences.json"),
        r#"{"version":1,"silences":[{"id":"8c5e2f8a-7d0e-4b8e-9d3c-1f2a3b4c5d6e",
        "matchers":[{"name":"job","value":"api","op":"="},{"name":"env","value":"prod|stage","op":"=~"}],
        "starts_at":1700000000000,"ends_at":1700003600000,"updated_at":1700000000000,
        "created_by":"ops","comment":"deploy","expires_at":1700435600000}]}"#,
    )
    .unwrap();
    let s = Silences::open(&d.join("silences.json"), silence::DEFAULT_RETENTION_MS).unwrap();
    let labels = ls(&[("job", "api"), ("env", "stage")]);
    assert_eq!(
        s.mutes(&labels, NOW + 1),
        vec!["8c5e2f8a-7d0e-4b8e-9d3c-1f2a3b4c5d6e".to_string()]
    );

    fs::write(
        d.join("nflog.json"),
        r#"{"version":1,"entries":[{"group_key":"g","receiver":"r","integration":"webhook","index":0,
        "firing":["00000000000000ff"],"resolved":[],"timestamp":1700000000000,"expires_at":1700432000000}]}"#,
    )
    .unwrap();
    fs::write(
        d.join("nflog.json.journal"),
        concat!(
            r#"{"op":"set","group_key":"g2","receiver":"r","integration":"email","index":1,"firing":[],"resolved":["0000000000000001"],"timestamp":1700000001000,"expires_at":1700432001000}"#,
            "\n",
            r#"{"op":"del","group_key":"g","receiver":"r","integration":"webhook","index":0}"#,
            "\n"
        ),
    )
    .unwrap();
    let log = Nflog::open(&d.join("nflog.json"), nflog::DEFAULT_RETENTION_MS).unwrap();
    assert_eq!(log.len(), 1);
    let mut k = key("g2");
    k.receiver = "r".into();
    k.integration = "email".into();
    k.index = 1;
    assert_eq!(log.query(&k).unwrap().resolved, fps(&[1]));

    let alerts_dir = d.join("alerts");
    fs::create_dir(&alerts_dir).unwrap();
    fs::write(
        alerts_dir.join("alerts.json"),
        r#"{"version":1,"alerts":[{"labels":{"alertname":"A"},"annotations":{},"starts_at":1700000000000,
        "ends_at":1700000300000,"generator_url":"","updated_at":1700000000000,"timeout":true}]}"#,
    )
    .unwrap();
    fs::write(
        alerts_dir.join("alerts.journal"),
        concat!(
            r#"{"op":"put","alert":{"labels":{"alertname":"B"},"annotations":{},"starts_at":1700000000000,"ends_at":0,"generator_url":"","updated_at":1700000000000,"timeout":false}}"#,
            "\n"
        ),
    )
    .unwrap();
    let store = Alerts::open(&alerts_dir).unwrap();
    assert_eq!(store.len(), 2);

    let out_dir = d.join("outbox");
    fs::create_dir(&out_dir).unwrap();
    fs::write(out_dir.join("next_id"), "1025\n").unwrap();
    fs::write(
        out_dir.join("00000000000000000007.json"),
        r#"{"version":1,"pending":{"id":7,"receiver":"r","integration":"webhook","index":0,
        "group_key":"g","group_labels":{"alertname":"A"},"alerts":[],"firing":["00000000000000ff"],
        "resolved":[],"created_at":1700000000000,"attempts":3}}"#,
    )
    .unwrap();
    let out = Outbox::open(&out_dir).unwrap();
    assert_eq!(out.get(7).unwrap().attempts, 3);
    assert_eq!(out.add(pending("g")).unwrap(), 1025);

    // A newer format version is refused, naming the file.
    fs::write(d.join("silences.json"), r#"{"version":2,"silences":[]}"#).unwrap();
    let e = Silences::open(&d.join("silences.json"), 1)
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("silences.json") && e.contains("version 2"), "{e}");
}
