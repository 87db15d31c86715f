//! Alerts as the alert manager keeps them: Alertmanager's `types.Alert` with its fingerprint, its
//! resolved test and its merge rule. Times are Unix milliseconds.

use serde::{Deserialize, Serialize};

use crate::matchers::LabelSet;

/// Alertmanager's label-set fingerprint: FNV-1a 64 over the sorted names and values, each followed
/// by a 0xff separator. Shown as 16 hex digits (`{:016x}`), as amtool and the API show it.
pub fn fingerprint(labels: &LabelSet) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut feed = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    };
    for (k, v) in labels {
        k.bytes().for_each(&mut feed);
        feed(0xff);
        v.bytes().for_each(&mut feed);
        feed(0xff);
    }
    h
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub labels: LabelSet,
    #[serde(default)]
    pub annotations: LabelSet,
    pub starts_at: i64,
    pub ends_at: i64,
    #[serde(default)]
    pub generator_url: String,
    /// When this copy was received.
    pub updated_at: i64,
    /// The sender gave no end: `ends_at` is the receive time plus `resolve_timeout`.
    #[serde(default)]
    pub timeout: bool,
}

impl Alert {
    pub fn fingerprint(&self) -> u64 {
        fingerprint(&self.labels)
    }

    /// Resolved at `now`: its end is set and not in the future.
    pub fn resolved_at(&self, now: i64) -> bool {
        self.ends_at != 0 && self.ends_at <= now
    }

    /// `"firing"` or `"resolved"` at `now`.
    pub fn status(&self, now: i64) -> &'static str {
        if self.resolved_at(now) {
            "resolved"
        } else {
            "firing"
        }
    }

    /// Alertmanager's `Alert.Merge`: the younger copy wins, keeping the earliest start; an end time
    /// from the older copy survives when it is later and was given explicitly (both resolved, or the
    /// younger one still firing).
    pub fn merge(&self, other: &Alert, now: i64) -> Alert {
        if other.updated_at < self.updated_at {
            return other.merge(self, now);
        }
        let mut res = other.clone();
        if self.starts_at < other.starts_at {
            res.starts_at = self.starts_at;
        }
        if other.resolved_at(now) {
            if self.resolved_at(now) && self.ends_at > other.ends_at {
                res.ends_at = self.ends_at;
            }
        } else if self.ends_at > other.ends_at && !self.timeout {
            res.ends_at = self.ends_at;
        }
        res
    }

    /// Whether a newly received copy overlaps this one's active range, so the two are merged
    /// rather than the new one replacing it (Alertmanager's `mem.Alerts.Put`).
    pub fn overlaps(&self, new: &Alert) -> bool {
        (new.ends_at > self.starts_at && new.ends_at < self.ends_at)
            || (new.starts_at > self.starts_at && new.starts_at < self.ends_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ls(pairs: &[(&str, &str)]) -> LabelSet {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn alert(starts: i64, ends: i64, updated: i64, timeout: bool) -> Alert {
        Alert {
            labels: ls(&[("alertname", "X")]),
            annotations: LabelSet::new(),
            starts_at: starts,
            ends_at: ends,
            generator_url: String::new(),
            updated_at: updated,
            timeout,
        }
    }

    #[test]
    fn fingerprint_is_alertmanagers() {
        // The empty set hashes to the FNV-64a offset basis, as in prometheus/common.
        assert_eq!(fingerprint(&LabelSet::new()), 0xcbf29ce484222325);
        let a = fingerprint(&ls(&[("alertname", "X"), ("job", "a")]));
        let b = fingerprint(&ls(&[("alertname", "X"), ("job", "b")]));
        assert_ne!(a, b);
        // Names and values are separated, so moving bytes between them changes the hash.
        assert_ne!(fingerprint(&ls(&[("ab", "c")])), fingerprint(&ls(&[("a", "bc")])));
    }

    #[test]
    fn merge_keeps_earliest_start_and_explicit_ends() {
        let old = alert(100, 1_000, 10, false);
        let new = alert(200, 500, 20, true);
        let m = old.merge(&new, 300);
        assert_eq!(m.starts_at, 100);
        // The older copy's explicit, later end wins over a timeout end.
        assert_eq!(m.ends_at, 1_000);
        // Merging is symmetric in argument order.
        assert_eq!(new.merge(&old, 300), m);
        // A younger copy that resolves wins.
        let resolved = alert(200, 250, 30, false);
        assert_eq!(old.merge(&resolved, 300).ends_at, 250);
    }
}
