//! Prometheus rules: rule files (loading and promtool's checks), recording and alerting rule
//! evaluation over any `storage::Queryable`, alert state with `for`/`keep_firing_for`, the `ALERTS`
//! and `ALERTS_FOR_STATE` series, and promtool's rule unit tests. Knows nothing of the tsdb or HTTP:
//! results go to an [`Appendable`], alerts to a [`Notifier`].

mod expand;
pub mod file;
pub mod group;
pub mod manager;
pub mod metrics;
pub mod rule;
pub mod unittest;

pub use file::{GroupSpec, RuleFile, RuleKind, RuleSpec};
pub use group::{Appendable, Env, Group, Notifier, OutAlert};
pub use manager::{Manager, ManagerOptions};
pub use metrics::RuleMetrics;
pub use rule::{Alert, AlertState, Health, Out, Rule};

#[cfg(test)]
mod tests;
