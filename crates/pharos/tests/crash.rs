//! `kill -9` at arbitrary moments under concurrent writes: every sample that got a 2xx answer must be
//! there after restart, with its value, and nothing that was never sent.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;

const WRITERS: usize = 4;
const SERIES_PER_WRITER: usize = 25;

fn value(w: usize, s: usize, t: i64) -> f64 {
    (t / 1000) as f64 * 1.5 + (w * 100 + s) as f64
}

/// Runs writers against the server until it dies; returns, per writer, the timestamps acknowledged.
fn write_until_killed(s: Server, start_t: i64, kill_after: Duration) -> Vec<Vec<i64>> {
    let stop = Arc::new(AtomicBool::new(false));
    let acked = Arc::new(Mutex::new(vec![Vec::new(); WRITERS]));
    let url = s.url("/api/v1/write");
    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (stop, acked, url) = (stop.clone(), acked.clone(), url.clone());
            std::thread::spawn(move || {
                let c = client();
                let mut t = start_t;
                while !stop.load(Ordering::Relaxed) {
                    t += 1000;
                    let ws = w.to_string();
                    let names: Vec<String> = (0..SERIES_PER_WRITER).map(|s| s.to_string()).collect();
                    let series: Vec<TestSeries<'_>> = (0..SERIES_PER_WRITER)
                        .map(|s| {
                            (
                                vec![
                                    ("__name__", "crash"),
                                    ("w", ws.as_str()),
                                    ("s", names[s].as_str()),
                                ],
                                vec![(t, value(w, s, t))],
                            )
                        })
                        .collect();
                    match post_rw1(&c, &url, rw1(&series)) {
                        Ok(r) if r.status() == 204 => acked.lock().unwrap()[w].push(t),
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        Err(_) => break,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(kill_after);
    s.kill9();
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.join().unwrap();
    }
    Arc::try_unwrap(acked).unwrap().into_inner().unwrap()
}

fn verify(s: &Server, acked: &[Vec<i64>]) -> usize {
    let c = client();
    let got = export(&c, s, "crash");
    let mut by_key: BTreeMap<(usize, usize), BTreeMap<i64, f64>> = BTreeMap::new();
    for e in got {
        let w: usize = e.metric["w"].as_str().unwrap().parse().unwrap();
        let sr: usize = e.metric["s"].as_str().unwrap().parse().unwrap();
        let m = by_key.entry((w, sr)).or_default();
        for (t, v) in e.timestamps.iter().zip(&e.values) {
            m.insert(*t, v.as_f64().unwrap());
        }
    }
    let mut checked = 0;
    for (w, ts) in acked.iter().enumerate() {
        for sr in 0..SERIES_PER_WRITER {
            let stored = by_key.get(&(w, sr));
            for t in ts {
                let v = stored.and_then(|m| m.get(t));
                assert_eq!(
                    v,
                    Some(&value(w, sr, *t)),
                    "acknowledged sample lost: w={w} s={sr} t={t}"
                );
                checked += 1;
            }
        }
    }
    // Nothing that was never sent: every stored value matches what its timestamp implies.
    for ((w, sr), m) in &by_key {
        for (t, v) in m {
            assert_eq!(*v, value(*w, *sr, *t), "stored value differs from what was sent");
        }
    }
    checked
}

fn crash_rounds(extra: &[&str], torn_tail: bool) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pharos.yml");
    // Checkpoint every second so that kills also land during and after checkpoints.
    std::fs::write(&cfg, "storage:\n  checkpoint_interval: 1s\n").unwrap();
    let data = dir.path().join("d");
    let mut args = vec!["--config", cfg.to_str().unwrap()];
    args.extend_from_slice(extra);
    let mut all: Vec<Vec<i64>> = vec![Vec::new(); WRITERS];
    let mut start_t = 1_700_000_000_000i64;
    for (round, ms) in [700u64, 1900, 350, 1300].into_iter().enumerate() {
        let s = Server::start(&data, &args);
        if round > 0 {
            verify(&s, &all);
        }
        let acked = write_until_killed(s, start_t, Duration::from_millis(ms));
        for (w, ts) in acked.into_iter().enumerate() {
            all[w].extend(ts);
        }
        start_t = all.iter().flatten().max().copied().unwrap_or(start_t) + 1000;
        if torn_tail {
            let wal = data.join("wal");
            let mut segs: Vec<_> = std::fs::read_dir(&wal)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            segs.retain(|p| {
                p.file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            });
            segs.sort();
            let last = segs.last().unwrap();
            let mut f = std::fs::OpenOptions::new().append(true).open(last).unwrap();
            // A record header promising more bytes than follow, as a write cut short by the kill would.
            f.write_all(&[0x40, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 2, 1, 2, 3])
                .unwrap();
        }
    }
    let s = Server::start(&data, &args);
    let checked = verify(&s, &all);
    assert!(
        checked > 1000,
        "too few acknowledged samples to mean anything: {checked}"
    );
    if torn_tail {
        let log = s.log_text();
        assert!(
            log.contains("corrupt write-ahead log record; truncating the segment here"),
            "no torn-tail log line"
        );
        let metrics = client().get(s.url("/metrics")).send().unwrap().text().unwrap();
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("pharos_tsdb_wal_corrupt_records_total ") && !l.ends_with(" 0"))
        );
    }
    println!("verified {checked} acknowledged samples across 4 kill -9 rounds");
}

#[test]
fn kill9_loses_no_acknowledged_sample_fsync_always() {
    crash_rounds(&[], false);
}

#[test]
fn kill9_with_torn_wal_tail() {
    crash_rounds(&[], true);
}

#[test]
fn kill9_loses_no_acknowledged_sample_fsync_interval() {
    // The relaxed policy acknowledges after write(2): a process crash loses nothing (the page cache
    // survives it); only a power loss can lose up to the interval.
    crash_rounds(&["--wal-fsync", "200ms"], false);
}
