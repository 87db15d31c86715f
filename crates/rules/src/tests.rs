//! Alert state and sending, `for` restoration, limits and staleness, on the in-memory store.

use std::collections::BTreeMap;
use std::sync::Arc;

use model::{Labels, Sample};
use parking_lot::Mutex;
use storage::{MemStorage, Queryable};

use crate::file::parse;
use crate::group::{Appendable, Env, Group, Notifier, OutAlert};
use crate::manager::{ManagerOptions, restore_for_state};
use crate::metrics::RuleMetrics;
use crate::rule::{AlertState, Out};

struct Sink(Arc<MemStorage>, Mutex<Vec<(i64, Labels, f64)>>);

impl Appendable for Sink {
    fn append(&self, t: i64, samples: &[(Labels, Out)]) -> Result<(), String> {
        for (l, v) in samples {
            if let Out::Float(f) = v {
                self.0.insert(l, Sample::new(t, *f));
                self.1.lock().push((t, l.clone(), *f));
            }
        }
        Ok(())
    }
}

#[derive(Default)]
struct Sent(Mutex<Vec<OutAlert>>);

impl Notifier for Sent {
    fn send(&self, alerts: Vec<OutAlert>) {
        self.0.lock().extend(alerts);
    }
}

fn zero() -> i64 {
    0
}

fn setup(rules: &str) -> (Arc<MemStorage>, Arc<Sink>, Arc<Sent>, Env, Group) {
    let store = Arc::new(MemStorage::new());
    let sink = Arc::new(Sink(store.clone(), Mutex::new(Vec::new())));
    let sent = Arc::new(Sent::default());
    let env = Env {
        engine: promql::Engine::default(),
        store: store.clone() as Arc<dyn Queryable>,
        sink: sink.clone(),
        notifier: Some(sent.clone()),
        external_labels: BTreeMap::from([("region".to_string(), "eu".to_string())]),
        external_url: "http://pharos:9190".into(),
        resend_delay_ms: 60_000,
        metrics: Arc::new(RuleMetrics::default()),
        now_ms: zero,
    };
    let groups = parse(rules).unwrap();
    let g = Group::new("f.yml", &groups[0], 15_000, 0, true).unwrap();
    (store, sink, sent, env, g)
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    Labels::from_pairs(pairs).unwrap()
}

#[test]
fn alert_goes_pending_firing_resolved_and_is_sent_as_prometheus_does() {
    let (store, _sink, sent, env, g) = setup(
        "groups:\n- name: g\n  rules:\n  - alert: Down\n    expr: up == 0\n    for: 30s\n    labels: {severity: P1}\n",
    );
    let up = labels(&[("__name__", "up"), ("job", "a")]);
    for (t, v) in [(0, 0.0), (15_000, 0.0), (30_000, 0.0), (45_000, 1.0)] {
        store.insert(&up, Sample::new(t, v));
    }
    g.eval(&env, 0);
    assert_eq!(g.rules[0].state(), AlertState::Pending);
    assert!(sent.0.lock().is_empty(), "pending alerts are not sent");
    g.eval(&env, 15_000);
    assert_eq!(g.rules[0].state(), AlertState::Pending);
    g.eval(&env, 30_000);
    assert_eq!(g.rules[0].state(), AlertState::Firing);
    {
        let s = sent.0.lock();
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].starts_at, 30_000);
        // Valid for four resend delays (the delay is longer than the interval).
        assert_eq!(s[0].ends_at, 30_000 + 4 * 60_000);
        assert_eq!(s[0].labels.get("region"), Some("eu"), "external labels are added");
        assert_eq!(s[0].labels.get("severity"), Some("P1"));
        assert_eq!(
            s[0].generator_url,
            "http://pharos:9190/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
        );
    }
    // Resolved: sent at once with its end time, and kept (inactive) for 15 minutes.
    g.eval(&env, 45_000);
    assert_eq!(g.rules[0].state(), AlertState::Inactive);
    {
        let s = sent.0.lock();
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].ends_at, 45_000);
    }
    assert_eq!(g.rules[0].alerts.lock().len(), 1);
    // Not resent within the resend delay; resent after it while retained.
    g.eval(&env, 60_000);
    assert_eq!(sent.0.lock().len(), 2);
    g.eval(&env, 45_000 + 61_000);
    assert_eq!(sent.0.lock().len(), 3);
    g.eval(&env, 45_000 + 15 * 60_000 + 1);
    assert!(g.rules[0].alerts.lock().is_empty(), "dropped after the retention");
}

#[test]
fn keep_firing_for_holds_a_firing_alert() {
    let (store, _sink, _sent, env, g) =
        setup("groups:\n- name: g\n  rules:\n  - alert: Flap\n    expr: x > 0\n    keep_firing_for: 1m\n");
    let x = labels(&[("__name__", "x")]);
    store.insert(&x, Sample::new(0, 1.0));
    store.insert(&x, Sample::new(15_000, f64::from_bits(model::STALE_NAN_BITS)));
    g.eval(&env, 0);
    assert_eq!(g.rules[0].state(), AlertState::Firing);
    g.eval(&env, 15_000);
    assert_eq!(g.rules[0].state(), AlertState::Firing);
    g.eval(&env, 74_000);
    assert_eq!(g.rules[0].state(), AlertState::Firing);
    g.eval(&env, 75_000);
    assert_eq!(g.rules[0].state(), AlertState::Inactive);
}

#[test]
fn recording_rule_output_goes_stale_when_its_series_disappear() {
    let (store, sink, _sent, env, g) =
        setup("groups:\n- name: g\n  rules:\n  - record: r\n    expr: x * 2\n    labels: {team: a}\n");
    let x = labels(&[("__name__", "x"), ("i", "1")]);
    store.insert(&x, Sample::new(0, 3.0));
    store.insert(&x, Sample::new(10_000, f64::from_bits(model::STALE_NAN_BITS)));
    g.eval(&env, 0);
    g.eval(&env, 15_000);
    let written = sink.1.lock().clone();
    let want = labels(&[("__name__", "r"), ("i", "1"), ("team", "a")]);
    assert_eq!(written[0], (0, want.clone(), 6.0));
    assert_eq!(written[1].0, 15_000);
    assert_eq!(written[1].1, want);
    assert!(model::is_stale_nan(written[1].2));
}

#[test]
fn limit_fails_the_rule_and_clears_its_alerts() {
    let (store, _sink, _sent, env, g) =
        setup("groups:\n- name: g\n  limit: 1\n  rules:\n  - alert: Many\n    expr: x\n");
    for i in ["1", "2"] {
        store.insert(&labels(&[("__name__", "x"), ("i", i)]), Sample::new(0, 1.0));
    }
    g.eval(&env, 0);
    let st = g.rules[0].status.lock().clone();
    assert_eq!(
        st.last_error.as_deref(),
        Some("exceeded limit of 1 with 2 alerts")
    );
    assert!(g.rules[0].alerts.lock().is_empty());
}

#[test]
fn for_state_is_restored_with_the_time_already_spent_pending() {
    let (store, _sink, _sent, env, _) =
        setup("groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: vector(1)\n    for: 1h\n");
    // Before the restart: pending since t=1000s, last written at t=1600s (10 minutes spent).
    let fs = labels(&[("__name__", "ALERTS_FOR_STATE"), ("alertname", "Slow")]);
    store.insert(&fs, Sample::new(1_600_000, 1000.0));
    // After the restart at t=2000s the first evaluation makes it pending afresh...
    let g = Group::new(
        "f.yml",
        &parse("groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: vector(1)\n    for: 1h\n").unwrap()
            [0],
        15_000,
        0,
        false,
    )
    .unwrap();
    g.eval(&env, 2_000_000);
    assert_eq!(
        g.rules[0].alerts.lock().values().next().unwrap().active_at,
        2_000_000
    );
    // ...and the restore moves its start by the 400 s the server was down.
    restore_for_state(&env, &g, 2_000_000, &ManagerOptions::default());
    assert_eq!(
        g.rules[0].alerts.lock().values().next().unwrap().active_at,
        1_400_000
    );
    drop(store);
}

#[test]
fn restore_keeps_at_least_the_grace_period() {
    let (store, _sink, _sent, env, _) = setup("groups:\n- name: g\n  rules: []\n");
    // 55 of 60 minutes spent: 5 left, less than the 10-minute grace period.
    let fs = labels(&[("__name__", "ALERTS_FOR_STATE"), ("alertname", "Slow")]);
    store.insert(&fs, Sample::new(3_300_000, 0.0));
    let spec =
        parse("groups:\n- name: g\n  rules:\n  - alert: Slow\n    expr: vector(1)\n    for: 1h\n").unwrap();
    let g = Group::new("f.yml", &spec[0], 15_000, 0, false).unwrap();
    g.eval(&env, 3_400_000);
    restore_for_state(&env, &g, 3_400_000, &ManagerOptions::default());
    let a = g.rules[0].alerts.lock().values().next().unwrap().clone();
    // Fires a grace period after the restore: active since now + 10m - 1h.
    assert_eq!(a.active_at, 3_400_000 + 600_000 - 3_600_000);
}

#[test]
fn rule_files_report_every_problem() {
    let errs = parse(
        "groups:\n- name: a\n  rules:\n  - record: 'bad name'\n    expr: up\n  - alert: X\n    expr: 'sum('\n- name: a\n",
    )
    .unwrap_err();
    assert!(
        errs.iter()
            .any(|e| e.contains("rule 1") && e.contains("invalid recording rule name: bad name")),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.contains("rule 2") && e.contains("could not parse expression")),
        "{errs:?}"
    );
    assert!(
        errs.iter().any(|e| e.contains("groupname: \"a\" is repeated")),
        "{errs:?}"
    );
}

#[test]
fn query_offset_shifts_queries_and_outputs() {
    let (store, sink, _sent, env, _) = setup("groups:\n- name: g\n  rules: []\n");
    let spec =
        parse("groups:\n- name: g\n  query_offset: 1m\n  rules:\n  - record: r\n    expr: x\n").unwrap();
    let g = Group::new("f.yml", &spec[0], 15_000, 0, true).unwrap();
    let x = labels(&[("__name__", "x")]);
    store.insert(&x, Sample::new(0, 1.0));
    store.insert(&x, Sample::new(60_000, 2.0));
    store.insert(&x, Sample::new(120_000, 3.0));
    g.eval(&env, 120_000);
    let w = sink.1.lock().clone();
    assert_eq!(w[0].0, 60_000);
    assert_eq!(w[0].2, 2.0);
}

#[test]
fn eval_timestamps_keep_a_stable_phase() {
    let spec = parse("groups:\n- name: g\n  interval: 10s\n  rules: []\n").unwrap();
    let g = Group::new("f.yml", &spec[0], 15_000, 0, true).unwrap();
    let a = g.eval_timestamp(1_000_000);
    assert!(a <= 1_000_000 && a > 990_000);
    assert_eq!(g.eval_timestamp(1_000_000 + 10_000), a + 10_000);
    assert_eq!((g.eval_timestamp(5_555_555) - a).rem_euclid(10_000), 0);
}
