//! The rule engine's own metrics, registered under `pharos_rule_*` (Prometheus's
//! `prometheus_rule_*` under our prefix), labelled by `rule_group` = `<file>;<group>`.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labelled<M> = Family<Vec<(String, String)>, M>;

#[derive(Default)]
pub struct RuleMetrics {
    pub evaluations: Labelled<Counter>,
    pub failures: Labelled<Counter>,
    pub iterations: Labelled<Counter>,
    pub missed: Labelled<Counter>,
    pub last_duration: Labelled<Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub last_evaluation: Labelled<Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub interval: Labelled<Gauge<f64, std::sync::atomic::AtomicU64>>,
    pub rules: Labelled<Gauge>,
    pub notifications_sent: Counter,
}

impl RuleMetrics {
    pub fn register(&self, r: &mut Registry) {
        r.register(
            "rule_evaluations",
            "Rule evaluations, by group",
            self.evaluations.clone(),
        );
        r.register(
            "rule_evaluation_failures",
            "Rule evaluations that failed (query error, limit, or storing the output), by group",
            self.failures.clone(),
        );
        r.register(
            "rule_group_iterations",
            "Scheduled group evaluations that ran",
            self.iterations.clone(),
        );
        r.register(
            "rule_group_iterations_missed",
            "Scheduled group evaluations skipped because the previous one ran past their slot",
            self.missed.clone(),
        );
        r.register(
            "rule_group_last_duration_seconds",
            "How long the group's last evaluation took",
            self.last_duration.clone(),
        );
        r.register(
            "rule_group_last_evaluation_timestamp_seconds",
            "Timestamp of the group's last evaluation",
            self.last_evaluation.clone(),
        );
        r.register(
            "rule_group_interval_seconds",
            "The group's evaluation interval",
            self.interval.clone(),
        );
        r.register("rule_group_rules", "Rules in the group", self.rules.clone());
        r.register(
            "rule_alerts_sent",
            "Alerts handed to the alert manager (firing and resolved)",
            self.notifications_sent.clone(),
        );
    }
}
