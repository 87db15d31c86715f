//! A rule group: its rules evaluated in order at one timestamp, each rule's output stored before the
//! next runs (so later rules see earlier records), staleness markers for series a rule stopped
//! producing, and alerts handed to the notifier when due.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use model::Labels;
use parking_lot::Mutex;
use storage::Queryable;

use crate::file::GroupSpec;
use crate::metrics::RuleMetrics;
use crate::rule::{Alert, EvalCtx, Health, Out, Rule};

/// Where rule output goes.
pub trait Appendable: Send + Sync {
    /// Stores one rule's output, every sample at `t` (ms). Stale markers come as
    /// `Out::Float(model::STALE_NAN)`.
    fn append(&self, t: i64, samples: &[(Labels, Out)]) -> Result<(), String>;
}

/// An alert as sent to an alert manager (Prometheus's notifier alert): external labels added, times
/// in Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct OutAlert {
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub starts_at: i64,
    pub ends_at: i64,
    pub generator_url: String,
}

/// Where alerts go.
pub trait Notifier: Send + Sync {
    fn send(&self, alerts: Vec<OutAlert>);
}

/// What every group of a manager shares.
pub struct Env {
    pub engine: promql::Engine,
    pub store: Arc<dyn Queryable>,
    pub sink: Arc<dyn Appendable>,
    pub notifier: Option<Arc<dyn Notifier>>,
    pub external_labels: BTreeMap<String, String>,
    pub external_url: String,
    /// Minimum time between two sends of the same alert (Prometheus's `--rules.alert.resend-delay`).
    pub resend_delay_ms: i64,
    pub metrics: Arc<RuleMetrics>,
    /// Wall clock in Unix ms, for the "last evaluation" shown by the API.
    pub now_ms: fn() -> i64,
}

/// When a group last ran.
#[derive(Debug, Clone, Default)]
pub struct GroupStatus {
    pub last_evaluation_ms: Option<i64>,
    pub evaluation_seconds: f64,
    /// The timestamp of the last evaluation (aligned schedule time), ms.
    pub last_eval_ts: Option<i64>,
}

pub struct Group {
    pub name: String,
    pub file: String,
    pub interval_ms: i64,
    pub query_offset_ms: i64,
    pub limit: i64,
    pub rules: Vec<Arc<Rule>>,
    /// Per rule: the series it wrote at its last successful evaluation.
    prev_series: Mutex<Vec<HashSet<Labels>>>,
    /// Output of rules a reload removed, marked stale at the next evaluation.
    stale_series: Mutex<Vec<Labels>>,
    pub status: Mutex<GroupStatus>,
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Group")
            .field("name", &self.name)
            .field("file", &self.file)
            .field("rules", &self.rules.len())
            .finish()
    }
}

impl Group {
    /// Builds a group from its spec; `restored` says whether alerting rules may write `ALERTS` at once
    /// (false at start, until `for` state was restored).
    pub fn new(
        file: &str,
        spec: &GroupSpec,
        default_interval_ms: i64,
        default_query_offset_ms: i64,
        restored: bool,
    ) -> Result<Self, String> {
        let rules = spec
            .rules
            .iter()
            .map(|r| Rule::new(r.clone(), &spec.labels, restored).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        let n = rules.len();
        Ok(Self {
            name: spec.name.clone(),
            file: file.to_string(),
            interval_ms: spec.interval_ms.unwrap_or(default_interval_ms).max(1),
            query_offset_ms: spec.query_offset_ms.unwrap_or(default_query_offset_ms),
            limit: spec.limit,
            rules,
            prev_series: Mutex::new(vec![HashSet::new(); n]),
            stale_series: Mutex::new(Vec::new()),
            status: Mutex::new(GroupStatus::default()),
        })
    }

    /// The key groups are known by: file and name.
    pub fn key(&self) -> (String, String) {
        (self.file.clone(), self.name.clone())
    }

    /// Same file, name, interval, offset, limit and rules: a reload keeps this group running as is.
    pub fn same_as(&self, other: &Group) -> bool {
        self.name == other.name
            && self.file == other.file
            && self.interval_ms == other.interval_ms
            && self.query_offset_ms == other.query_offset_ms
            && self.limit == other.limit
            && self.rules.len() == other.rules.len()
            && self.rules.iter().zip(&other.rules).all(|(a, b)| a.same_as(b))
    }

    /// Takes over what an older version of this group knew, as Prometheus's `CopyState`: rules are
    /// matched by name and labels (in order, so duplicates pair up), and each match keeps its alerts
    /// and its last output; the output of old rules left unmatched is marked stale at the next
    /// evaluation, unless a rule writes the same series again.
    pub fn copy_state(&self, old: &Group) {
        let old_prev = old.prev_series.lock().clone();
        let mut prev = self.prev_series.lock();
        let mut used = vec![false; old.rules.len()];
        let key = |r: &Rule| (r.name().to_string(), r.labels.clone());
        for (i, r) in self.rules.iter().enumerate() {
            let k = key(r);
            let Some(j) = (0..old.rules.len()).find(|&j| !used[j] && key(&old.rules[j]) == k) else {
                continue;
            };
            used[j] = true;
            let o = &old.rules[j];
            if r.is_alerting() && o.is_alerting() {
                *r.alerts.lock() = o.alerts.lock().clone();
                r.restored.store(
                    o.restored.load(std::sync::atomic::Ordering::Acquire),
                    std::sync::atomic::Ordering::Release,
                );
            }
            if let Some(s) = old_prev.get(j) {
                prev[i] = s.clone();
            }
        }
        let mut stale = self.stale_series.lock();
        stale.extend(old.stale_series.lock().iter().cloned());
        for (j, u) in used.iter().enumerate() {
            if !u && let Some(s) = old_prev.get(j) {
                stale.extend(s.iter().cloned());
            }
        }
        *self.status.lock() = old.status.lock().clone();
    }

    /// The evaluation timestamp of the slot at or before `now` (ms): groups run at a fixed phase
    /// within their interval, derived from their key so groups spread out, as Prometheus does.
    pub fn eval_timestamp(&self, now: i64) -> i64 {
        let offset = (self.hash() % self.interval_ms as u64) as i64;
        let adjusted = now - offset;
        let base = adjusted - adjusted.rem_euclid(self.interval_ms);
        base + offset
    }

    fn hash(&self) -> u64 {
        // FNV-1a over file and name: stable across restarts and builds.
        let mut h: u64 = 0xcbf29ce484222325;
        for b in self.file.bytes().chain([0xff]).chain(self.name.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x100000001b3);
        }
        h
    }

    /// Evaluates every rule at `ts` (ms): stores outputs and staleness markers, sends due alerts.
    pub fn eval(&self, env: &Env, ts: i64) {
        let started = Instant::now();
        let labels = [("rule_group".to_string(), format!("{};{}", self.file, self.name))];
        let ctx = EvalCtx {
            engine: &env.engine,
            store: &env.store,
            ts,
            query_offset_ms: self.query_offset_ms,
            limit: self.limit,
            external_labels: &env.external_labels,
            external_url: &env.external_url,
        };
        for (i, rule) in self.rules.iter().enumerate() {
            let rule_started = Instant::now();
            env.metrics.evaluations.get_or_create(&labels.to_vec()).inc();
            let result = rule.eval(&ctx);
            {
                let mut st = rule.status.lock();
                st.last_evaluation_ms = Some((env.now_ms)());
                st.evaluation_seconds = rule_started.elapsed().as_secs_f64();
                match &result {
                    Ok(_) => {
                        st.health = Health::Ok;
                        st.last_error = None;
                    }
                    Err(e) => {
                        st.health = Health::Err;
                        st.last_error = Some(e.clone());
                    }
                }
            }
            if rule.is_alerting()
                && let Some(n) = &env.notifier
            {
                let alerts = rule.alerts_to_send(ts, env.resend_delay_ms, self.interval_ms);
                if !alerts.is_empty() {
                    env.metrics.notifications_sent.inc_by(alerts.len() as u64);
                    n.send(alerts.iter().map(|a| self.out_alert(env, rule, a)).collect());
                }
            }
            let output = match result {
                Ok(o) => o,
                Err(e) => {
                    env.metrics.failures.get_or_create(&labels.to_vec()).inc();
                    tracing::warn!(group = %self.name, file = %self.file, rule = %rule.name(), error = %e, "rule evaluation failed");
                    continue;
                }
            };
            let qts = ctx.query_ts();
            let current: HashSet<Labels> = output.iter().map(|(l, _)| l.clone()).collect();
            let mut samples = output;
            {
                let mut prev = self.prev_series.lock();
                if let Some(p) = prev.get_mut(i) {
                    for gone in p.difference(&current) {
                        samples.push((gone.clone(), Out::Float(f64::from_bits(model::STALE_NAN_BITS))));
                    }
                    *p = current;
                }
            }
            if samples.is_empty() {
                continue;
            }
            if let Err(e) = env.sink.append(qts, &samples) {
                env.metrics.failures.get_or_create(&labels.to_vec()).inc();
                tracing::warn!(group = %self.name, rule = %rule.name(), error = %e, "storing rule output failed");
                let mut st = rule.status.lock();
                st.health = Health::Err;
                st.last_error = Some(e);
            }
        }
        let removed = std::mem::take(&mut *self.stale_series.lock());
        if !removed.is_empty() {
            let prev = self.prev_series.lock();
            let stale = f64::from_bits(model::STALE_NAN_BITS);
            let samples: Vec<(Labels, Out)> = removed
                .into_iter()
                .filter(|l| !prev.iter().any(|p| p.contains(l)))
                .map(|l| (l, Out::Float(stale)))
                .collect();
            drop(prev);
            if !samples.is_empty()
                && let Err(e) = env.sink.append(ctx.query_ts(), &samples)
            {
                tracing::warn!(group = %self.name, error = %e, "writing staleness markers failed");
            }
        }
        let took = started.elapsed().as_secs_f64();
        let mut st = self.status.lock();
        st.last_evaluation_ms = Some((env.now_ms)());
        st.evaluation_seconds = took;
        st.last_eval_ts = Some(ts);
        env.metrics.iterations.get_or_create(&labels.to_vec()).inc();
        env.metrics
            .last_duration
            .get_or_create(&labels.to_vec())
            .set(took);
        env.metrics
            .last_evaluation
            .get_or_create(&labels.to_vec())
            .set(ts as f64 / 1000.0);
    }

    /// Staleness markers for everything the group's rules wrote last (when it is removed by a reload).
    pub fn mark_stale(&self, env: &Env, ts: i64) {
        let prev = std::mem::take(&mut *self.prev_series.lock());
        let removed = std::mem::take(&mut *self.stale_series.lock());
        let stale = f64::from_bits(model::STALE_NAN_BITS);
        let samples: Vec<(Labels, Out)> = prev
            .into_iter()
            .flatten()
            .chain(removed)
            .map(|l| (l, Out::Float(stale)))
            .collect();
        if !samples.is_empty()
            && let Err(e) = env.sink.append(ts - self.query_offset_ms, &samples)
        {
            tracing::warn!(group = %self.name, error = %e, "writing staleness markers failed");
        }
    }

    fn out_alert(&self, env: &Env, rule: &Rule, a: &Alert) -> OutAlert {
        let mut pairs: BTreeMap<String, String> = a
            .labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in &env.external_labels {
            pairs.entry(k.clone()).or_insert_with(|| v.clone());
        }
        OutAlert {
            labels: Labels::from_sorted_unchecked(pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect()),
            annotations: a.annotations.clone(),
            starts_at: a.fired_at.unwrap_or(a.active_at),
            ends_at: a.resolved_at.unwrap_or(a.valid_until),
            generator_url: generator_url(&env.external_url, &rule.query),
        }
    }
}

/// Prometheus's link to a rule's query in the table view: `<external URL>/graph?g0.expr=…&g0.tab=1`.
pub fn generator_url(external_url: &str, query: &str) -> String {
    format!(
        "{}/graph?g0.expr={}&g0.tab=1",
        external_url.trim_end_matches('/'),
        template::query_escape(query)
    )
}
