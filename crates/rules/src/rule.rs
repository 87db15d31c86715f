//! Recording and alerting rules: one evaluation at a timestamp, with Prometheus's semantics (label
//! overrides, duplicate and limit checks, the alert state machine with `for` and `keep_firing_for`,
//! the `ALERTS` and `ALERTS_FOR_STATE` series, and when an alert is due to be sent).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use model::{FloatHistogram, Labels};
use parking_lot::Mutex;
use promql_syntax::ast::Expr;
use storage::Queryable;

use crate::expand::Expander;
use crate::file::{RuleKind, RuleSpec};

/// How long a resolved alert is kept (and re-sent as resolved), as in Prometheus.
pub const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// What one evaluation needs besides the rule.
pub struct EvalCtx<'a> {
    pub engine: &'a promql::Engine,
    pub store: &'a Arc<dyn Queryable>,
    /// The evaluation timestamp (ms); queries run at `ts - query_offset_ms`.
    pub ts: i64,
    pub query_offset_ms: i64,
    /// The group's `limit` (≤ 0: none).
    pub limit: i64,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
}

impl EvalCtx<'_> {
    /// The time queries run at and outputs are stamped with.
    pub fn query_ts(&self) -> i64 {
        self.ts - self.query_offset_ms
    }

    /// Runs an instant query; a scalar becomes a one-element vector with no labels, as Prometheus's
    /// rule query function does.
    pub fn query(&self, query: &str, expr: &Expr) -> Result<Vec<promql::Element>, String> {
        let t = self.query_ts();
        let res = self
            .engine
            .instant_expr(self.store.as_ref(), query, expr, t)
            .map_err(|e| e.to_string())?;
        match res.value {
            promql::Value::Vector(v) => Ok(v),
            promql::Value::Scalar { t, v } => Ok(vec![promql::Element {
                labels: Labels::default(),
                t,
                v,
                h: None,
            }]),
            _ => Err("rule result is not a vector or scalar".into()),
        }
    }
}

/// One output sample of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Float(f64),
    Histogram(Arc<FloatHistogram>),
}

/// Health of a rule after its last evaluation, as `/api/v1/rules` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Health {
    #[default]
    Unknown,
    Ok,
    Err,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Unknown => "unknown",
            Health::Ok => "ok",
            Health::Err => "err",
        }
    }
}

/// What every rule reports about its last evaluation.
#[derive(Debug, Clone, Default)]
pub struct Status {
    pub health: Health,
    pub last_error: Option<String>,
    /// Wall-clock time of the last evaluation (ms), if any.
    pub last_evaluation_ms: Option<i64>,
    pub evaluation_seconds: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Inactive,
    Pending,
    Firing,
}

impl AlertState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of an alerting rule. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The output labels: the sample's minus `__name__`, the rule's labels, and `alertname`.
    pub labels: Labels,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub value: f64,
    pub active_at: i64,
    pub fired_at: Option<i64>,
    pub resolved_at: Option<i64>,
    pub last_sent_at: Option<i64>,
    pub valid_until: i64,
    pub keep_firing_since: Option<i64>,
}

impl Alert {
    /// Prometheus's `needsSending`: firing or resolved alerts, again after `resend_delay_ms`, and at
    /// once when resolved since the last send.
    pub fn needs_sending(&self, ts: i64, resend_delay_ms: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        if let Some(r) = self.resolved_at
            && self.last_sent_at.is_none_or(|s| r > s)
        {
            return true;
        }
        match self.last_sent_at {
            None => true,
            Some(s) => s + resend_delay_ms < ts,
        }
    }
}

/// A rule, its parsed query and its state. State sits behind a short-held lock so the API can read it
/// while the group evaluates.
#[derive(Debug)]
pub struct Rule {
    pub spec: RuleSpec,
    /// Group labels merged under the rule's own.
    pub labels: BTreeMap<String, String>,
    pub expr: Expr,
    /// The query as Prometheus prints it (`/api/v1/rules`, generator URLs).
    pub query: String,
    pub status: Mutex<Status>,
    /// Alerting rules: active alerts by label set.
    pub alerts: Mutex<BTreeMap<Labels, Alert>>,
    /// False until `for` state was restored after a start; no `ALERTS` series until then.
    pub restored: AtomicBool,
}

impl Rule {
    /// Builds a rule from its (already checked) spec and its group's labels.
    pub fn new(
        spec: RuleSpec,
        group_labels: &BTreeMap<String, String>,
        restored: bool,
    ) -> Result<Self, String> {
        let expr = promql_syntax::parse(&spec.expr).map_err(|e| e.to_string())?;
        let query = expr.to_string();
        let mut labels = group_labels.clone();
        labels.extend(spec.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(Self {
            spec,
            labels,
            expr,
            query,
            status: Mutex::new(Status::default()),
            alerts: Mutex::new(BTreeMap::new()),
            restored: AtomicBool::new(restored),
        })
    }

    pub fn name(&self) -> &str {
        self.spec.name()
    }

    pub fn is_alerting(&self) -> bool {
        matches!(self.spec.kind, RuleKind::Alert(_))
    }

    /// Same definition (name, query, durations, labels, annotations): state carries over a reload.
    pub fn same_as(&self, other: &Rule) -> bool {
        self.spec == other.spec && self.labels == other.labels
    }

    /// Evaluates the rule at `ctx.ts`: its output series (recording: the records; alerting: `ALERTS`
    /// and `ALERTS_FOR_STATE`), stamped at the query time.
    pub fn eval(&self, ctx: &EvalCtx<'_>) -> Result<Vec<(Labels, Out)>, String> {
        match &self.spec.kind {
            RuleKind::Record(name) => self.eval_recording(ctx, name),
            RuleKind::Alert(name) => self.eval_alerting(ctx, name),
        }
    }

    fn eval_recording(&self, ctx: &EvalCtx<'_>, name: &str) -> Result<Vec<(Labels, Out)>, String> {
        let vector = ctx.query(&self.spec.expr, &self.expr)?;
        let mut out = Vec::with_capacity(vector.len());
        for e in vector {
            let mut pairs: BTreeMap<String, String> = e.labels.into_vec().into_iter().collect();
            pairs.insert(model::METRIC_NAME.to_string(), name.to_string());
            for (k, v) in &self.labels {
                if v.is_empty() {
                    pairs.remove(k);
                } else {
                    pairs.insert(k.clone(), v.clone());
                }
            }
            let labels = Labels::from_sorted_unchecked(pairs.into_iter().collect());
            let value = match e.h {
                Some(h) => Out::Histogram(h),
                None => Out::Float(e.v),
            };
            out.push((labels, value));
        }
        let mut seen = std::collections::HashSet::with_capacity(out.len());
        if !out.iter().all(|(l, _)| seen.insert(l)) {
            return Err("vector contains metrics with the same labelset after applying rule labels".into());
        }
        if ctx.limit > 0 && out.len() as i64 > ctx.limit {
            return Err(format!(
                "exceeded limit of {} with {} series",
                ctx.limit,
                out.len()
            ));
        }
        Ok(out)
    }

    fn eval_alerting(&self, ctx: &EvalCtx<'_>, name: &str) -> Result<Vec<(Labels, Out)>, String> {
        let vector = ctx.query(&self.spec.expr, &self.expr)?;
        let ts = ctx.ts;
        let expander = Expander::new(name, ctx);
        let mut fresh: BTreeMap<Labels, Alert> = BTreeMap::new();
        for e in vector {
            let sample_labels: BTreeMap<String, String> = e
                .labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let value = if e.h.is_some() { 0.0 } else { e.v };
            let mut pairs = sample_labels.clone();
            pairs.remove(model::METRIC_NAME);
            for (k, tmpl) in &self.labels {
                let v = expander.expand(tmpl, &sample_labels, value);
                if v.is_empty() {
                    pairs.remove(k);
                } else {
                    pairs.insert(k.clone(), v);
                }
            }
            pairs.insert("alertname".to_string(), name.to_string());
            let annotations: BTreeMap<String, String> = self
                .spec
                .annotations
                .iter()
                .map(|(k, tmpl)| (k.clone(), expander.expand(tmpl, &sample_labels, value)))
                .collect();
            let labels = Labels::from_sorted_unchecked(pairs.into_iter().collect());
            if fresh.contains_key(&labels) {
                return Err(
                    "vector contains metrics with the same labelset after applying alert labels".into(),
                );
            }
            fresh.insert(
                labels.clone(),
                Alert {
                    labels,
                    annotations,
                    state: AlertState::Pending,
                    value,
                    active_at: ts,
                    fired_at: None,
                    resolved_at: None,
                    last_sent_at: None,
                    valid_until: 0,
                    keep_firing_since: None,
                },
            );
        }

        let mut active = self.alerts.lock();
        for (labels, a) in &fresh {
            match active.get_mut(labels) {
                Some(old) if old.state != AlertState::Inactive => {
                    old.value = a.value;
                    old.annotations = a.annotations.clone();
                }
                _ => {
                    active.insert(labels.clone(), a.clone());
                }
            }
        }

        let restored = self.restored.load(Ordering::Acquire);
        let mut out = Vec::new();
        let mut active_pending = 0i64;
        let mut gone = Vec::new();
        for (labels, a) in active.iter_mut() {
            if !fresh.contains_key(labels) {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && self.spec.keep_firing_for_ms > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    if ts - since < self.spec.keep_firing_for_ms {
                        keep_firing = true;
                    }
                }
                if a.state == AlertState::Pending
                    || a.resolved_at.is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
                {
                    gone.push(labels.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            } else {
                a.keep_firing_since = None;
            }
            active_pending += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= self.spec.for_ms {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            if restored {
                out.push((alerts_series(&a.labels, a.state), Out::Float(1.0)));
                out.push((
                    for_state_series(&a.labels),
                    Out::Float((a.active_at.div_euclid(1000)) as f64),
                ));
            }
        }
        for l in gone {
            active.remove(&l);
        }
        if ctx.limit > 0 && active_pending > ctx.limit {
            active.clear();
            return Err(format!(
                "exceeded limit of {} with {} alerts",
                ctx.limit, active_pending
            ));
        }
        Ok(out)
    }

    /// The highest state among the rule's alerts.
    pub fn state(&self) -> AlertState {
        self.alerts
            .lock()
            .values()
            .map(|a| a.state)
            .max()
            .unwrap_or(AlertState::Inactive)
    }

    /// Alerts due to be sent at `ts`; marks them sent and sets how long they stay valid (four times
    /// the larger of resend delay and group interval, as Prometheus allows for missed sends).
    pub fn alerts_to_send(&self, ts: i64, resend_delay_ms: i64, interval_ms: i64) -> Vec<Alert> {
        let mut out = Vec::new();
        for a in self.alerts.lock().values_mut() {
            if a.needs_sending(ts, resend_delay_ms) {
                a.last_sent_at = Some(ts);
                a.valid_until = ts + 4 * resend_delay_ms.max(interval_ms);
                out.push(a.clone());
            }
        }
        out
    }
}

/// `ALERTS{alertname=…, alertstate=…, <alert labels>}`.
pub fn alerts_series(labels: &Labels, state: AlertState) -> Labels {
    let mut pairs: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.retain(|(k, _)| k != model::METRIC_NAME && k != "alertstate");
    pairs.push((model::METRIC_NAME.to_string(), "ALERTS".to_string()));
    pairs.push(("alertstate".to_string(), state.as_str().to_string()));
    Labels::from_vec(pairs).unwrap_or_default()
}

/// `ALERTS_FOR_STATE{<alert labels>}`, whose value is the alert's active-since time in seconds.
pub fn for_state_series(labels: &Labels) -> Labels {
    let mut pairs: Vec<(String, String)> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.retain(|(k, _)| k != model::METRIC_NAME);
    pairs.push((model::METRIC_NAME.to_string(), "ALERTS_FOR_STATE".to_string()));
    Labels::from_vec(pairs).unwrap_or_default()
}
