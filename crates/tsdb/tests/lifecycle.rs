//! Block cuts, compaction, retention and checkpoint fallback over a database's life.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use std::sync::Arc;

use model::{Labels, Sample};
use storage::{Matcher, Queryable};
use tsdb::{Db, HeadOptions, Options, TsdbMetrics};

const RANGE: i64 = 60_000;

fn opts() -> Options {
    Options {
        head: HeadOptions {
            chunk_range_ms: RANGE,
            ooo_window_ms: 30_000,
            chunk_samples: 32,
            max_series: 100,
        },
        retention_ms: 20 * RANGE,
        ..Options::default()
    }
}

fn write(db: &Db, name: &str, from: i64, to: i64) {
    let l = Labels::from_pairs(&[("__name__", name)]).unwrap();
    let samples: Vec<Sample> = (from..to)
        .step_by(1000)
        .map(|t| Sample::new(t, t as f64))
        .collect();
    let mut out = db.append(&[(l, samples)], false).unwrap();
    assert!(out.rejected.is_empty());
    out.wait_durable().unwrap();
}

fn count(db: &Db, name: &str) -> usize {
    db.select(i64::MIN, i64::MAX, &[Matcher::eq("__name__", name)])
        .unwrap()
        .iter()
        .map(|s| s.samples.len())
        .sum()
}

#[test]
fn idle_series_are_persisted_once_and_leave_the_head() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(), Arc::new(TsdbMetrics::default())).unwrap();
    write(&db, "idle", 0, RANGE);
    write(&db, "busy", 0, 4 * RANGE);
    db.maintain().unwrap();
    let after_first: Vec<String> = db.blocks().iter().map(|b| b.meta.id.clone()).collect();
    assert!(!after_first.is_empty());
    db.maintain().unwrap();
    db.maintain().unwrap();
    // No new block for data that was already persisted, and the idle series left the head.
    let ids: Vec<String> = db.blocks().iter().map(|b| b.meta.id.clone()).collect();
    assert_eq!(ids, after_first, "maintenance rewrote blocks without new data");
    assert_eq!(db.head().num_series(), 1);
    assert_eq!(count(&db, "idle"), 60);
    assert_eq!(count(&db, "busy"), 240);
}

#[test]
fn blocks_compact_and_retention_ignores_future_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = (now - 10 * RANGE) / RANGE * RANGE;
    let db = Db::open(dir.path(), opts(), Arc::new(TsdbMetrics::default())).unwrap();
    write(&db, "m", start, start + 9 * RANGE);
    for _ in 0..6 {
        db.maintain().unwrap();
    }
    let blocks = db.blocks();
    assert!(
        blocks.iter().any(|b| b.meta.compaction.level > 1),
        "no compaction happened"
    );
    assert_eq!(count(&db, "m"), 9 * 60);
    // A sample stamped a year ahead must not expire everything else.
    write(&db, "future", now + 365 * 86_400_000, now + 365 * 86_400_000 + 1);
    db.maintain().unwrap();
    assert_eq!(count(&db, "m"), 9 * 60);
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts(), Arc::new(TsdbMetrics::default())).unwrap();
    assert_eq!(count(&db, "m"), 9 * 60);
}

#[test]
fn unreadable_checkpoint_falls_back_without_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), opts(), Arc::new(TsdbMetrics::default())).unwrap();
    write(&db, "m", 0, 40_000);
    db.checkpoint().unwrap();
    let wal = dir.path().join("wal");
    let first: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().contains("checkpoint."))
        .collect();
    let keep = std::fs::read(&first[0]).unwrap();
    write(&db, "m", 40_000, 50_000);
    db.close().unwrap();
    drop(db);
    // Put the older checkpoint back beside the newest, and break the newest's tail.
    std::fs::write(&first[0], &keep).unwrap();
    let mut newest: Vec<_> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_str().unwrap().contains("checkpoint."))
        .collect();
    newest.sort();
    let last = newest.last().unwrap();
    let bytes = std::fs::read(last).unwrap();
    std::fs::write(last, &bytes[..bytes.len() - 3]).unwrap();
    let db = Db::open(dir.path(), opts(), Arc::new(TsdbMetrics::default())).unwrap();
    let got = db
        .select(i64::MIN, i64::MAX, &[Matcher::eq("__name__", "m")])
        .unwrap();
    // The older checkpoint has the first 40 samples; the segments after the newest were replayed but
    // those after the older one were deleted, so what remains is exactly the older checkpoint: no doubles.
    let ts: Vec<i64> = got[0].samples.iter().map(|s| s.t).collect();
    let mut dedup = ts.clone();
    dedup.dedup();
    assert_eq!(ts, dedup, "duplicate samples after checkpoint fallback");
    assert!(ts.len() >= 40);
}

/// A late sample whose timestamp was already persisted into a block is a duplicate like any other:
/// the same value is accepted, a different one refused, and the first stored value is what reads back.
#[test]
fn late_samples_are_checked_against_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let o = Options {
        head: HeadOptions {
            chunk_range_ms: 20_000,
            ooo_window_ms: 50_000,
            chunk_samples: 16,
            max_series: 100,
        },
        ..Options::default()
    };
    let db = Db::open(dir.path(), o.clone(), Arc::new(TsdbMetrics::default())).unwrap();
    let a = Labels::from_pairs(&[("__name__", "a")]).unwrap();
    let b = Labels::from_pairs(&[("__name__", "b")]).unwrap();
    let put = |l: &Labels, t: i64, v: f64| {
        let mut out = db.append(&[(l.clone(), vec![Sample::new(t, v)])], false).unwrap();
        out.wait_durable().unwrap();
        out
    };
    // "a" has a sample inside its open chunk, "b" only one sample, then time moves to 80 s: the
    // head keeps from 40 s on and both old samples go to a block.
    put(&a, 34_000, 1.0);
    put(&a, 35_000, 1.0);
    put(&b, 35_000, 1.0);
    put(&a, 80_000, 1.0);
    db.maintain().unwrap();
    assert!(!db.blocks().is_empty(), "a block was cut");
    // 35 s is still inside the out-of-order window (80 s - 50 s).
    for l in [&a, &b] {
        let same = put(l, 35_000, 1.0);
        assert!(
            same.rejected.is_empty(),
            "{l}: an identical late sample is accepted"
        );
        assert_eq!(same.written, 0, "{l}: and not stored twice");
        let other = put(l, 35_000, 2.0);
        assert_eq!(
            other.rejected.len(),
            1,
            "{l}: a different value for a persisted timestamp is refused"
        );
        assert_eq!(other.rejected[0].reason, tsdb::Rejection::Duplicate);
        let fresh = put(l, 33_000, 3.0);
        assert!(fresh.rejected.is_empty(), "{l}: a new late timestamp is stored");
        assert_eq!(fresh.written, 1);
    }
    // Whatever is persisted or compacted next, the first value stays.
    for i in 1..4 {
        put(&a, 80_000 + i * 20_000, 1.0);
        db.maintain().unwrap();
        for l in [&a, &b] {
            let name = Matcher::eq("__name__", l.get("__name__").unwrap());
            for (t, v) in [(35_000, 1.0), (33_000, 3.0)] {
                let s = db.select(t, t, std::slice::from_ref(&name)).unwrap();
                assert_eq!(s[0].samples, vec![Sample::new(t, v)], "{l}");
            }
        }
    }
    db.flush().unwrap();
    // The late samples' block overlapped the first one; compaction merged them, each sample once.
    let old: Vec<_> = db
        .blocks()
        .into_iter()
        .filter(|b| b.meta.min_time <= 35_000 && b.meta.max_time > 35_000)
        .collect();
    assert_eq!(old.len(), 1);
    assert_eq!(old[0].meta.stats.samples, 5);
}
