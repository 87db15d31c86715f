//! The routing tree as Alertmanager's `dispatch/route.go` builds and walks it: settings inherited
//! from the parent, depth-first matching where the first matching child wins unless it says
//! `continue`, route keys and ids, and the group key an alert lands under.

use std::collections::BTreeSet;

use crate::config::RouteConfig;
use crate::error::Result;
use crate::matchers::{self, LabelSet, Matcher};

/// Timers a root route gets unless it sets its own.
pub const DEFAULT_GROUP_WAIT_MS: u64 = 30_000;
pub const DEFAULT_GROUP_INTERVAL_MS: u64 = 5 * 60_000;
pub const DEFAULT_REPEAT_INTERVAL_MS: u64 = 4 * 3_600_000;

/// One node of the routing tree, with its settings resolved against its ancestors.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub receiver: String,
    /// Labels to group by; ignored when `group_by_all`.
    pub group_by: BTreeSet<String>,
    /// `group_by: ['...']`: every label of the alert.
    pub group_by_all: bool,
    pub group_wait_ms: u64,
    pub group_interval_ms: u64,
    pub repeat_interval_ms: u64,
    /// Named intervals during which notifications are muted. Not inherited, as in Alertmanager.
    pub mute_time_intervals: Vec<String>,
    /// Named intervals outside which notifications are muted. Not inherited either.
    pub active_time_intervals: Vec<String>,
    /// This node's own matchers, sorted.
    pub matchers: Vec<Matcher>,
    /// Whether siblings after this one are tried after it matched.
    pub continue_matching: bool,
    pub routes: Vec<Route>,
    key: String,
    id: String,
}

impl Route {
    /// Builds the tree from the root `route` of a loaded config.
    pub fn new(root: &RouteConfig) -> Result<Route> {
        Route::build(root, None, None)
    }

    fn build(cfg: &RouteConfig, parent: Option<&Route>, position: Option<usize>) -> Result<Route> {
        let mut r = match parent {
            Some(p) => Route {
                receiver: p.receiver.clone(),
                group_by: p.group_by.clone(),
                group_by_all: p.group_by_all,
                group_wait_ms: p.group_wait_ms,
                group_interval_ms: p.group_interval_ms,
                repeat_interval_ms: p.repeat_interval_ms,
                mute_time_intervals: Vec::new(),
                active_time_intervals: Vec::new(),
                matchers: Vec::new(),
                continue_matching: false,
                routes: Vec::new(),
                key: String::new(),
                id: String::new(),
            },
            None => Route {
                receiver: String::new(),
                group_by: BTreeSet::new(),
                group_by_all: false,
                group_wait_ms: DEFAULT_GROUP_WAIT_MS,
                group_interval_ms: DEFAULT_GROUP_INTERVAL_MS,
                repeat_interval_ms: DEFAULT_REPEAT_INTERVAL_MS,
                mute_time_intervals: Vec::new(),
                active_time_intervals: Vec::new(),
                matchers: Vec::new(),
                continue_matching: false,
                routes: Vec::new(),
                key: String::new(),
                id: String::new(),
            },
        };
        if !cfg.receiver.is_empty() {
            r.receiver = cfg.receiver.clone();
        }
        // Alertmanager keeps named labels and the wildcard apart: a list of labels replaces the
        // parent's grouping, `...` alone turns on grouping by everything, and an empty list
        // changes nothing.
        let labels: BTreeSet<String> = cfg
            .group_by
            .iter()
            .flatten()
            .filter(|l| *l != "...")
            .cloned()
            .collect();
        if !labels.is_empty() {
            r.group_by = labels;
            r.group_by_all = false;
        } else if cfg.group_by.iter().flatten().any(|l| l == "...") {
            r.group_by_all = true;
        }
        if let Some(d) = cfg.group_wait {
            r.group_wait_ms = d.as_millis();
        }
        if let Some(d) = cfg.group_interval {
            r.group_interval_ms = d.as_millis();
        }
        if let Some(d) = cfg.repeat_interval {
            r.repeat_interval_ms = d.as_millis();
        }
        r.matchers = cfg.all_matchers()?;
        r.mute_time_intervals = cfg.mute_time_intervals.clone();
        r.active_time_intervals = cfg.active_time_intervals.clone();
        r.continue_matching = cfg.continue_matching;
        let own = matchers::format_matchers(&r.matchers);
        r.key = match parent {
            Some(p) => format!("{}/{own}", p.key),
            None => own,
        };
        r.id = match position {
            Some(i) => format!("{}/{i}", r.key),
            None => r.key.clone(),
        };
        let mut children = Vec::with_capacity(cfg.routes.len());
        for (i, c) in cfg.routes.iter().enumerate() {
            children.push(Route::build(c, Some(&r), Some(i))?);
        }
        r.routes = children;
        Ok(r)
    }

    /// The routes an alert with `labels` is dispatched to: a depth-first, left-to-right search
    /// where a matching child stops the search among its siblings unless it has `continue`, and
    /// a node none of whose children match is itself the match.
    pub fn match_alert(&self, labels: &LabelSet) -> Vec<&Route> {
        if !matchers::matches_all(&self.matchers, labels) {
            return Vec::new();
        }
        let mut all = Vec::new();
        for child in &self.routes {
            let found = child.match_alert(labels);
            let matched = !found.is_empty();
            all.extend(found);
            if matched && !child.continue_matching {
                break;
            }
        }
        if all.is_empty() {
            all.push(self);
        }
        all
    }

    /// Alertmanager's route key: the matchers of every node from the root, `/`-separated, like
    /// `{}/{severity="P0"}`. Not unique: siblings with equal matchers share it.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The key plus the node's position among its siblings (`{}/{severity="P0"}/0`); the root's
    /// id is its key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Visits this node and its descendants, depth first.
    pub fn walk<'a>(&'a self, visit: &mut impl FnMut(&'a Route)) {
        visit(self);
        for c in &self.routes {
            c.walk(visit);
        }
    }

    /// The labels of an alert that pick its group on this route.
    pub fn group_labels(&self, labels: &LabelSet) -> LabelSet {
        labels
            .iter()
            .filter(|(k, _)| self.group_by_all || self.group_by.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The group key an alert lands under on this route: `{}/{severity="P0"}:{alertname="X"}`.
    pub fn group_key(&self, labels: &LabelSet) -> String {
        group_key(self, labels)
    }
}

/// `route.key() + ":" + group labels` printed as Prometheus prints a label set
/// (`{a="1", b="2"}`), the key Alertmanager stores notification state under.
pub fn group_key(route: &Route, labels: &LabelSet) -> String {
    format!(
        "{}:{}",
        route.key(),
        format_label_set(&route.group_labels(labels))
    )
}

/// A label set as prometheus/common's `LabelSet.String()`: sorted, `, `-separated, values quoted.
pub fn format_label_set(labels: &LabelSet) -> String {
    let parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", matchers::go_quote(v)))
        .collect();
    format!("{{{}}}", parts.join(", "))
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

    /// The tree of Alertmanager's dispatch/route_test.go `TestRouteMatch`, rewritten.
    const TREE: &str = "
receivers: [{name: notify-A}, {name: notify-B}, {name: notify-BC}, {name: notify-productionA}, {name: notify-productionB}, {name: notify-testing}, {name: notify-def}]
route:
  group_by: ['alertname']
  group_wait: 10m
  group_interval: 1m
  receiver: 'notify-def'
  routes:
  - matchers: ['owner=\"team-A\"']
    receiver: 'notify-A'
    routes:
    - matchers: ['env=\"testing\"']
      receiver: 'notify-testing'
      group_by: ['...']
    - matchers: ['env=\"production\"']
      receiver: 'notify-productionA'
      group_wait: 1m
      continue: true
    - matchers: ['env=~\"produ.*\"', 'job=~\".*\"']
      receiver: 'notify-productionB'
      group_wait: 30s
      group_interval: 5m
      repeat_interval: 1h
      group_by: ['job']
  - match_re:
      owner: 'team-(B|C)'
    group_by: ['foo', 'bar']
    group_wait: 2m
    receiver: 'notify-BC'
  - match:
      group_by: 'role'
    group_by: ['role']
    routes:
    - matchers: ['env=\"testing\"']
      receiver: 'notify-testing'
      routes:
      - matchers: [wait=long]
        group_wait: 2m
";

    fn tree() -> Route {
        let cfg = Config::load(TREE).unwrap();
        Route::new(&cfg.route).unwrap()
    }

    fn receivers(r: &Route, l: &[(&str, &str)]) -> Vec<String> {
        r.match_alert(&labels(l))
            .into_iter()
            .map(|m| m.receiver.clone())
            .collect()
    }

    #[test]
    fn matching_like_dispatch_route_test() {
        let t = tree();
        assert_eq!(receivers(&t, &[("owner", "team-A")]), ["notify-A"]);
        assert_eq!(
            receivers(&t, &[("owner", "team-A"), ("env", "unset")]),
            ["notify-A"]
        );
        assert_eq!(receivers(&t, &[("owner", "team-C")]), ["notify-BC"]);
        assert_eq!(
            receivers(&t, &[("owner", "team-A"), ("env", "testing")]),
            ["notify-testing"]
        );
        assert_eq!(
            receivers(&t, &[("owner", "team-A"), ("env", "production")]),
            ["notify-productionA", "notify-productionB"]
        );
        assert_eq!(receivers(&t, &[("group_by", "role")]), ["notify-def"]);
        assert_eq!(
            receivers(&t, &[("group_by", "role"), ("env", "testing")]),
            ["notify-testing"]
        );
        assert_eq!(
            receivers(&t, &[("group_by", "role"), ("env", "testing"), ("wait", "long")]),
            ["notify-testing"]
        );
        assert_eq!(receivers(&t, &[("owner", "nobody")]), ["notify-def"]);
    }

    #[test]
    fn inherited_settings() {
        let t = tree();
        let prod = t.match_alert(&labels(&[("owner", "team-A"), ("env", "production")]));
        let (a, b) = (prod[0], prod[1]);
        assert_eq!(a.group_wait_ms, 60_000);
        assert_eq!(a.group_interval_ms, 60_000, "inherited from the root");
        assert_eq!(a.repeat_interval_ms, DEFAULT_REPEAT_INTERVAL_MS);
        assert_eq!(a.group_by, BTreeSet::from(["alertname".to_string()]));
        assert_eq!(b.group_by, BTreeSet::from(["job".to_string()]));
        assert_eq!(
            (b.group_wait_ms, b.group_interval_ms, b.repeat_interval_ms),
            (30_000, 300_000, 3_600_000)
        );
        let testing = t.match_alert(&labels(&[("owner", "team-A"), ("env", "testing")]))[0];
        assert!(testing.group_by_all);
        assert_eq!(testing.group_wait_ms, 600_000);
        let long = &t.routes[2].routes[0].routes[0];
        assert_eq!(
            long.receiver, "notify-testing",
            "receiver inherited two levels down"
        );
        assert_eq!(long.group_by, BTreeSet::from(["role".to_string()]));
        assert_eq!(long.group_wait_ms, 120_000);
        let root = Route::new(
            &Config::load("route: {receiver: r}\nreceivers: [{name: r}]")
                .unwrap()
                .route,
        )
        .unwrap();
        assert_eq!(
            (
                root.group_wait_ms,
                root.group_interval_ms,
                root.repeat_interval_ms
            ),
            (30_000, 300_000, 14_400_000)
        );
    }

    #[test]
    fn group_by_all_is_reset_by_a_label_list() {
        let cfg = Config::load(
            "route: {receiver: r, group_by: ['...'], routes: [{group_by: [a], routes: [{group_by: []}]}, {receiver: r}]}\nreceivers: [{name: r}]",
        )
        .unwrap();
        let t = Route::new(&cfg.route).unwrap();
        assert!(t.group_by_all);
        assert!(!t.routes[0].group_by_all);
        assert_eq!(
            t.routes[0].routes[0].group_by,
            BTreeSet::from(["a".to_string()]),
            "empty list inherits"
        );
        assert!(t.routes[1].group_by_all);
    }

    #[test]
    fn keys_ids_and_group_keys() {
        let t = tree();
        assert_eq!(t.key(), "{}");
        assert_eq!(t.id(), "{}");
        let a = &t.routes[0];
        assert_eq!(a.key(), r#"{}/{owner="team-A"}"#);
        assert_eq!(a.id(), r#"{}/{owner="team-A"}/0"#);
        let prod_b = &a.routes[2];
        assert_eq!(prod_b.key(), r#"{}/{owner="team-A"}/{env=~"produ.*",job=~".*"}"#);
        assert_eq!(prod_b.id(), r#"{}/{owner="team-A"}/{env=~"produ.*",job=~".*"}/2"#);
        assert_eq!(t.routes[1].key(), r#"{}/{owner=~"team-(B|C)"}"#);
        let l = labels(&[("alertname", "X"), ("owner", "team-A"), ("job", "j\"1")]);
        assert_eq!(a.group_key(&l), r#"{}/{owner="team-A"}:{alertname="X"}"#);
        assert_eq!(
            prod_b.group_key(&l),
            r#"{}/{owner="team-A"}/{env=~"produ.*",job=~".*"}:{job="j\"1"}"#
        );
        let testing = &a.routes[0];
        assert_eq!(
            group_key(testing, &l),
            r#"{}/{owner="team-A"}/{env="testing"}:{alertname="X", job="j\"1", owner="team-A"}"#
        );
        let mut ids = Vec::new();
        t.walk(&mut |r| ids.push(r.id().to_string()));
        assert_eq!(ids.len(), 9);
        assert_eq!(format_label_set(&LabelSet::new()), "{}");
    }

    #[test]
    fn brief_example_group_key() {
        let cfg = Config::load(
            "route: {receiver: r, group_by: [alertname], routes: [{matchers: ['severity=\"P0\"']}]}\nreceivers: [{name: r}]",
        )
        .unwrap();
        let t = Route::new(&cfg.route).unwrap();
        let l = labels(&[("alertname", "X"), ("severity", "P0")]);
        let m = t.match_alert(&l);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].group_key(&l), r#"{}/{severity="P0"}:{alertname="X"}"#);
    }
}
