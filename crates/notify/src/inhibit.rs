//! Inhibition as Alertmanager's `inhibit/inhibit.go` decides it: a firing source alert mutes
//! target alerts whose `equal` labels agree with it, and an alert matching both sides of a rule
//! is never muted by another alert that also matches both sides. Pure: the caller supplies the
//! firing alerts.

use std::collections::BTreeSet;

use crate::config::InhibitRuleConfig;
use crate::error::Result;
use crate::matchers::{self, LabelSet, Matcher};

/// One inhibition rule, with legacy and new matchers merged.
#[derive(Debug, Clone, PartialEq)]
pub struct InhibitRule {
    pub source_matchers: Vec<Matcher>,
    pub target_matchers: Vec<Matcher>,
    pub equal: BTreeSet<String>,
}

impl InhibitRule {
    pub fn new(cfg: &InhibitRuleConfig) -> Result<InhibitRule> {
        Ok(InhibitRule {
            source_matchers: cfg.all_source_matchers()?,
            target_matchers: cfg.all_target_matchers()?,
            equal: cfg.equal.iter().cloned().collect(),
        })
    }

    pub fn matches_source(&self, labels: &LabelSet) -> bool {
        matchers::matches_all(&self.source_matchers, labels)
    }

    pub fn matches_target(&self, labels: &LabelSet) -> bool {
        matchers::matches_all(&self.target_matchers, labels)
    }

    /// The firing alerts that inhibit `target` under this rule. `firing` is every firing alert;
    /// resolved ones must be left out by the caller. A missing `equal` label counts as empty on
    /// both sides.
    pub fn inhibitors<'a, I>(&self, target: &LabelSet, firing: I) -> Vec<&'a LabelSet>
    where
        I: IntoIterator<Item = &'a LabelSet>,
    {
        if !self.matches_target(target) {
            return Vec::new();
        }
        // An alert on both sides must not be muted by its peers that are on both sides too
        // (nor by itself).
        let exclude_two_sided = self.matches_source(target);
        let get = |l: &'a LabelSet, n: &str| l.get(n).map_or("", String::as_str);
        firing
            .into_iter()
            .filter(|s| self.matches_source(s))
            .filter(|s| {
                self.equal
                    .iter()
                    .all(|n| get(s, n) == target.get(n).map_or("", String::as_str))
            })
            .filter(|s| !(exclude_two_sided && self.matches_target(s)))
            .collect()
    }

    /// Whether any firing alert inhibits `target` under this rule.
    pub fn inhibits<'a, I>(&self, target: &LabelSet, firing: I) -> bool
    where
        I: IntoIterator<Item = &'a LabelSet>,
    {
        !self.inhibitors(target, firing).is_empty()
    }
}

/// Builds the rules of a loaded config.
pub fn rules(cfgs: &[InhibitRuleConfig]) -> Result<Vec<InhibitRule>> {
    cfgs.iter().map(InhibitRule::new).collect()
}

/// Whether any rule mutes `target` given the firing alerts (Alertmanager's `Inhibitor.Mutes`).
pub fn is_inhibited<'a, I>(rules: &[InhibitRule], target: &LabelSet, firing: I) -> bool
where
    I: IntoIterator<Item = &'a LabelSet> + Clone,
{
    rules.iter().any(|r| r.inhibits(target, firing.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn labels(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn load_rules(yaml: &str) -> Vec<InhibitRule> {
        let cfg = Config::load(&format!(
            "route: {{receiver: r}}\nreceivers: [{{name: r}}]\ninhibit_rules:\n{yaml}"
        ))
        .unwrap();
        rules(&cfg.inhibit_rules).unwrap()
    }

    #[test]
    fn critical_mutes_warning_on_same_cluster() {
        let r = load_rules(
            "- source_matchers: [severity=critical]\n  target_matchers: [severity=warning]\n  equal: [cluster]",
        );
        let crit = labels(&[("alertname", "Down"), ("severity", "critical"), ("cluster", "a")]);
        let warn_a = labels(&[("alertname", "Slow"), ("severity", "warning"), ("cluster", "a")]);
        let warn_b = labels(&[("alertname", "Slow"), ("severity", "warning"), ("cluster", "b")]);
        let firing = [crit.clone()];
        assert!(is_inhibited(&r, &warn_a, &firing));
        assert!(!is_inhibited(&r, &warn_b, &firing), "equal label differs");
        assert!(!is_inhibited(&r, &crit, &firing), "source side only");
        assert!(!is_inhibited(&r, &warn_a, &[]), "no source firing");
        assert_eq!(r[0].inhibitors(&warn_a, &firing), vec![&crit]);
    }

    #[test]
    fn missing_equal_labels_count_as_empty() {
        let r = load_rules(
            "- source_match: {severity: critical}\n  target_match: {severity: warning}\n  equal: [cluster]",
        );
        let crit = labels(&[("severity", "critical")]);
        let warn = labels(&[("severity", "warning")]);
        assert!(is_inhibited(&r, &warn, std::slice::from_ref(&crit)));
        let warn_c = labels(&[("severity", "warning"), ("cluster", "x")]);
        assert!(!is_inhibited(&r, &warn_c, &[crit]));
    }

    #[test]
    fn alert_on_both_sides_does_not_inhibit_itself() {
        // Any alert with `team` set inhibits others of the same team; an alert matching both
        // sides must survive (else every alert would mute itself and its peers).
        let r = load_rules(
            "- source_matchers: ['team=~\".+\"']\n  target_matchers: ['team=~\".+\"']\n  equal: [team]",
        );
        let a = labels(&[("alertname", "A"), ("team", "db")]);
        let b = labels(&[("alertname", "B"), ("team", "db")]);
        assert!(!is_inhibited(&r, &a, std::slice::from_ref(&a)));
        assert!(
            !is_inhibited(&r, &a, &[a.clone(), b.clone()]),
            "peer on both sides does not mute"
        );
        // A source that matches only the source side still mutes a two-sided target.
        let r = load_rules("- source_matchers: ['team=~\".+\"']\n  target_matchers: ['alertname=A']");
        let src = labels(&[("alertname", "Z"), ("team", "db")]);
        assert!(is_inhibited(&r, &a, &[src]));
        assert!(!is_inhibited(&r, &a, std::slice::from_ref(&a)));
    }

    #[test]
    fn legacy_and_new_matchers_combine() {
        let r = load_rules(
            "- source_match_re: {service: 'api|web'}\n  source_matchers: [severity=critical]\n  target_match: {severity: info}",
        );
        let src = labels(&[("service", "web"), ("severity", "critical")]);
        let not_src = labels(&[("service", "db"), ("severity", "critical")]);
        let tgt = labels(&[("severity", "info")]);
        assert!(is_inhibited(&r, &tgt, &[src]));
        assert!(!is_inhibited(&r, &tgt, &[not_src]));
        assert_eq!(r[0].source_matchers.len(), 2);
    }

    #[test]
    fn empty_rule_matches_everything_but_not_itself() {
        let r = load_rules("- {}");
        let a = labels(&[("alertname", "A")]);
        let b = labels(&[("alertname", "B")]);
        // Every alert is on both sides, so nothing is ever muted.
        assert!(!is_inhibited(&r, &a, &[a.clone(), b]));
    }
}
