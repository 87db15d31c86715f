//! Model-based test: random writes, checkpoints, block cuts and crashes against the tsdb and against
//! `storage::MemStorage`; after every reopen, every acknowledged sample must read back identically.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Arc;

use model::{Labels, Sample};
use proptest::prelude::*;
use storage::{MatchOp, Matcher, MemStorage, Queryable};
use tsdb::{Db, FsyncPolicy, HeadOptions, Options, TsdbMetrics};

#[derive(Debug, Clone)]
enum Op {
    /// (series index, time step, value) triples written in one request.
    Write(Vec<(u8, u16, i32)>),
    Checkpoint,
    Maintain,
    /// Stop without a checkpoint, optionally leaving a torn record at the end of the WAL.
    Crash {
        torn: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec((0u8..6, 0u16..400, any::<i32>()), 1..30).prop_map(Op::Write),
        1 => Just(Op::Checkpoint),
        1 => Just(Op::Maintain),
        2 => any::<bool>().prop_map(|torn| Op::Crash { torn }),
    ]
}

fn labels(i: u8) -> Labels {
    Labels::from_pairs(&[
        ("__name__", "m"),
        ("job", if i.is_multiple_of(2) { "a" } else { "b" }),
        ("i", &i.to_string()),
    ])
    .unwrap()
}

fn options() -> Options {
    Options {
        fsync: FsyncPolicy::Always,
        // Small ranges so that block cuts and compactions happen within a short run.
        head: HeadOptions {
            ooo_window_ms: 50_000,
            chunk_range_ms: 20_000,
            chunk_samples: 16,
            max_series: 1000,
        },
        segment_size: 4096,
        checkpoint_interval: std::time::Duration::from_secs(3600),
        retention_ms: 0,
    }
}

fn check(db: &Db, reference: &MemStorage) {
    let all = [Matcher::new(MatchOp::Regex, "__name__", ".+").unwrap()];
    let want = reference.select(i64::MIN, i64::MAX, &all).unwrap();
    let got = db.select(i64::MIN, i64::MAX, &all).unwrap();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.labels, w.labels);
        for (a, b) in g.samples.iter().zip(&w.samples) {
            assert_eq!(a, b, "series {}", g.labels);
        }
        assert_eq!(g.samples.len(), w.samples.len(), "series {}", g.labels);
    }
    let job = [Matcher::eq("job", "b")];
    assert_eq!(
        db.select(0, 30_000, &job).unwrap(),
        reference.select(0, 30_000, &job).unwrap()
    );
    assert_eq!(
        db.label_values("i", i64::MIN, i64::MAX, &[]).unwrap(),
        reference.label_values("i", i64::MIN, i64::MAX, &[]).unwrap()
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn tsdb_matches_reference(ops in prop::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let reference = MemStorage::new();
        let mut db = Db::open(dir.path(), options(), Arc::new(TsdbMetrics::default())).unwrap();
        for op in ops {
            match op {
                Op::Write(items) => {
                    let batch: Vec<(Labels, Vec<Sample>)> = items
                        .iter()
                        .map(|(i, t, v)| (labels(*i), vec![Sample::new(*t as i64 * 250, *v as f64)]))
                        .collect();
                    let mut out = db.append(&batch, false).unwrap();
                    out.wait_durable().unwrap();
                    // What the engine stored must be exactly what was not refused.
                    let refused: Vec<(usize, i64)> = out.rejected.iter().map(|r| (r.series, r.t)).collect();
                    for (idx, (l, samples)) in batch.iter().enumerate() {
                        for s in samples {
                            if refused.contains(&(idx, s.t)) {
                                continue;
                            }
                            let existing = reference.select(s.t, s.t, &[Matcher::eq("i", l.get("i").unwrap())]).unwrap();
                            if existing.is_empty() {
                                reference.insert(l, *s);
                            }
                        }
                    }
                }
                Op::Checkpoint => db.checkpoint().unwrap(),
                Op::Maintain => db.maintain().unwrap(),
                Op::Crash { torn } => {
                    drop(db);
                    if torn {
                        let wal = dir.path().join("wal");
                        let last = tsdb::wal::list_segments(&wal).unwrap().into_iter().last().unwrap();
                        let mut f = OpenOptions::new().append(true).open(tsdb::wal::segment_path(&wal, last)).unwrap();
                        f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 2, 9, 9]).unwrap();
                    }
                    db = Db::open(dir.path(), options(), Arc::new(TsdbMetrics::default())).unwrap();
                }
            }
            check(&db, &reference);
        }
        db.close().unwrap();
        drop(db);
        let db = Db::open(dir.path(), options(), Arc::new(TsdbMetrics::default())).unwrap();
        check(&db, &reference);
    }
}
