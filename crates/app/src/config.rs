//! The YAML configuration file. Every field is optional; flags override the file, the file overrides
//! defaults. Unknown fields are errors, so a typo does not silently fall back to a default.

use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Prometheus's `global` section: scrape interval and timeout defaults, limits.
    #[serde(default)]
    pub global: scrape::GlobalConfig,
    /// Prometheus's `scrape_configs`, unchanged.
    #[serde(default)]
    pub scrape_configs: Vec<scrape::ScrapeConfigYaml>,
    /// The built-in host collector: node_exporter's metrics of this machine, scraped in process.
    #[serde(default)]
    pub host_metrics: HostMetricsConfig,
    /// The Pushgateway-compatible endpoint and the in-process job that exposes what was pushed.
    #[serde(default)]
    pub push: PushConfig,
    /// Several collectors with the same scrape jobs split the targets among themselves.
    pub sharding: Option<ShardingConfig>,
    /// The modules of the blackbox-style `/probe` endpoint.
    #[serde(default)]
    pub probe: ProbeConfig,
    /// Prometheus rule files (globs, relative to the config file's directory).
    #[serde(default)]
    pub rule_files: Vec<String>,
    /// The built-in alert manager.
    #[serde(default)]
    pub alertmanager: AlertmanagerSection,
    /// The rules Pharos ships (host and self alerts, `rules/` in the repository); on unless `false`.
    pub builtin_rules: Option<bool>,
    /// The job scraping Pharos's own metrics in process.
    #[serde(default)]
    pub self_metrics: PushConfig,
    /// The web UI's dashboards.
    #[serde(default)]
    pub dashboards: DashboardsConfig,
}

/// `dashboards:`: where the web UI finds dashboards besides the built-in ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardsConfig {
    /// A folder of dashboard JSON files (relative to the config file's directory), re-read on every
    /// load of the dashboard list; a file with the uid of a built-in dashboard replaces it.
    pub dir: Option<String>,
    /// The dashboards Pharos ships (`dashboards/` in the repository); on unless `false`.
    pub builtin: Option<bool>,
}

/// `alertmanager:`: the built-in Alertmanager-compatible alert manager.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertmanagerSection {
    /// Off: alerts are evaluated and listed but not routed or delivered, `/api/v2` answers 503.
    pub enabled: Option<bool>,
    /// An alertmanager.yml (relative to this file's directory). Without one, every alert goes to
    /// one receiver with no integrations: grouped and shown, never sent.
    pub config_file: Option<String>,
}

/// The alert manager's config when the file names none: severity routing to two receivers with no
/// integrations yet (`page` for P0/P1, `chat` for P2/P3), so alerts are grouped and listed at once and
/// a config file only has to add where they go (examples/alertmanager.yml).
pub const DEFAULT_ALERTMANAGER_CONFIG: &str = r#"route:
  receiver: chat
  group_by: [alertname, instance]
  routes:
    - matchers: ['severity=~"P0|P1"']
      receiver: page
receivers:
  - name: page
  - name: chat
"#;

/// The dashboards built into the binary: file name and JSON text.
pub const BUILTIN_DASHBOARDS: [(&str, &str); 4] = [
    ("overview.json", include_str!("../../../dashboards/overview.json")),
    ("region.json", include_str!("../../../dashboards/region.json")),
    ("host.json", include_str!("../../../dashboards/host.json")),
    ("pharos.json", include_str!("../../../dashboards/pharos.json")),
];

/// The rule files built into the binary: name and text.
pub const BUILTIN_RULES: [(&str, &str); 2] = [
    ("builtin/host.yml", include_str!("../../../rules/host.yml")),
    ("builtin/pharos.yml", include_str!("../../../rules/pharos.yml")),
];

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeConfig {
    /// A blackbox_exporter configuration file (its `modules:`); blackbox's example modules unless
    /// set. Relative to the working directory.
    pub config_file: Option<String>,
}

impl ProbeConfig {
    /// The modules to probe with; the error names the file and the module.
    pub fn modules(&self) -> std::result::Result<probe::Modules, String> {
        match &self.config_file {
            None => Ok(probe::Modules::builtin()),
            Some(f) => {
                let text = std::fs::read_to_string(f).map_err(|e| format!("probe.config_file {f}: {e}"))?;
                probe::Modules::parse(&text).map_err(|e| format!("probe.config_file {f}: {e}"))
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardingConfig {
    /// This collector's name in the group; the host name unless set. Unique per member.
    pub member: Option<String>,
    /// A static member list (this member may be listed or not).
    #[serde(default)]
    pub members: Vec<String>,
    /// Or members found in etcd, each registered under a lease.
    pub etcd: Option<EtcdConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdConfig {
    pub endpoints: Vec<String>,
    /// `/pharos/collectors/` unless set.
    pub prefix: Option<String>,
    /// How soon a crashed member drops out; `10s` unless set.
    pub lease_ttl: Option<String>,
    /// How often the member list is read; `1s` unless set.
    pub refresh_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushConfig {
    /// On unless `false`.
    pub enabled: Option<bool>,
    /// The job that scrapes the pushed groups (with `honor_labels: true`); `pushgateway` unless
    /// set. A scrape job of the same name replaces it.
    pub job_name: Option<String>,
    /// `15s` unless set.
    pub scrape_interval: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostMetricsConfig {
    /// On unless `false`.
    pub enabled: Option<bool>,
    /// The `job` label; `node` unless set. A scrape job of the same name turns the collector off.
    pub job_name: Option<String>,
    /// `15s` unless set.
    pub scrape_interval: Option<String>,
    /// Extra labels on every host series.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// Where /proc, /sys and the root file system are (for a collector in a container).
    pub proc_path: Option<String>,
    pub sys_path: Option<String>,
    pub root_path: Option<String>,
}

/// The machine's host name, the `instance` of host metrics.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageConfig {
    /// How long raw samples are kept, e.g. `7d`.
    pub retention: Option<String>,
    /// How far behind the newest sample late samples are still accepted, e.g. `1h`; `0s` disables.
    pub out_of_order_window: Option<String>,
    /// `always` (acknowledge after fsync) or a duration such as `100ms` (fsync at that interval).
    pub wal_fsync: Option<String>,
    /// Span of one block, e.g. `2h`.
    pub block_range: Option<String>,
    /// How often the head is checkpointed, e.g. `10m`.
    pub checkpoint_interval: Option<String>,
    pub max_series: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    pub max_body_bytes: Option<usize>,
    pub max_decoded_bytes: Option<usize>,
    pub max_label_name_length: Option<usize>,
    pub max_label_value_length: Option<usize>,
    pub max_labels_per_series: Option<usize>,
    pub max_export_samples: Option<usize>,
    /// Most samples one query may hold in memory; past it the query fails with 422.
    pub max_query_samples: Option<usize>,
    /// Longest a query may run, e.g. `2m`; a request's `timeout` parameter can only lower it.
    pub query_timeout: Option<String>,
}

impl Config {
    pub fn load(path: &std::path::Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.display().to_string(),
            msg: e.to_string(),
        })?;
        Self::parse(&text).map_err(|msg| Error::Config {
            path: path.display().to_string(),
            msg,
        })
    }

    pub fn parse(text: &str) -> std::result::Result<Config, String> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let cfg: Config = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        cfg.scrape_jobs()?;
        cfg.sharding()?;
        cfg.probe.modules()?;
        Ok(cfg)
    }

    /// The scrape jobs with every default applied, the host collector's last; the error names the
    /// job and field.
    pub fn scrape_jobs(&self) -> std::result::Result<Vec<scrape::Job>, String> {
        let mut configs = self.scrape_configs.clone();
        if let Some(name) = self.host_job_name() {
            let h = &self.host_metrics;
            configs.push(scrape::ScrapeConfigYaml {
                job_name: name,
                scrape_interval: Some(h.scrape_interval.clone().unwrap_or_else(|| "15s".into())),
                static_configs: vec![scrape::config::StaticConfig {
                    targets: vec![hostname()],
                    labels: h.labels.clone(),
                }],
                ..Default::default()
            });
        }
        if let Some(name) = self.self_job_name() {
            configs.push(scrape::ScrapeConfigYaml {
                job_name: name,
                scrape_interval: Some(
                    self.self_metrics
                        .scrape_interval
                        .clone()
                        .unwrap_or_else(|| "15s".into()),
                ),
                static_configs: vec![scrape::config::StaticConfig {
                    targets: vec![hostname()],
                    labels: Default::default(),
                }],
                ..Default::default()
            });
        }
        if let Some(name) = self.push_job_name() {
            configs.push(scrape::ScrapeConfigYaml {
                job_name: name,
                scrape_interval: Some(self.push.scrape_interval.clone().unwrap_or_else(|| "15s".into())),
                honor_labels: Some(true),
                static_configs: vec![scrape::config::StaticConfig {
                    targets: vec![hostname()],
                    labels: Default::default(),
                }],
                ..Default::default()
            });
        }
        scrape::resolve(&self.global, &configs).map_err(|e| e.to_string())
    }

    /// This member's name and where the member list comes from, if targets are shared.
    pub fn sharding(&self) -> std::result::Result<Option<(String, collect::members::Source)>, String> {
        let Some(sh) = &self.sharding else { return Ok(None) };
        let me = sh.member.clone().unwrap_or_else(hostname);
        if me.is_empty() {
            return Err("sharding.member must not be empty".into());
        }
        let source = match (&sh.etcd, sh.members.is_empty()) {
            (Some(_), false) => return Err("sharding: give either members or etcd, not both".into()),
            (None, true) => return Err("sharding: give a members list or an etcd section".into()),
            (None, false) => collect::members::Source::Static(sh.members.clone()),
            (Some(e), true) => {
                if e.endpoints.is_empty() {
                    return Err("sharding.etcd.endpoints must list at least one URL".into());
                }
                let dur = |field: &str, v: &Option<String>, default: u64| match v {
                    None => Ok(Duration::from_secs(default)),
                    Some(v) => parse_duration(v)
                        .map_err(|e| format!("sharding.etcd.{field}: {e}"))
                        .and_then(|d| {
                            if d < Duration::from_secs(1) {
                                Err(format!("sharding.etcd.{field}: must be at least 1s"))
                            } else {
                                Ok(d)
                            }
                        }),
                };
                collect::members::Source::Etcd(collect::members::Etcd {
                    endpoints: e.endpoints.clone(),
                    prefix: e.prefix.clone().unwrap_or_else(|| "/pharos/collectors/".into()),
                    lease_ttl: dur("lease_ttl", &e.lease_ttl, 10)?,
                    refresh: dur("refresh_interval", &e.refresh_interval, 1)?,
                })
            }
        };
        Ok(Some((me, source)))
    }

    /// The rule manager's settings from `global`: evaluation interval (1m) and rule query offset (0).
    pub fn rule_options(&self) -> std::result::Result<rules::ManagerOptions, String> {
        let mut o = rules::ManagerOptions::default();
        if let Some(v) = &self.global.evaluation_interval {
            let d = parse_duration(v).map_err(|e| format!("global.evaluation_interval: {e}"))?;
            if d.is_zero() {
                return Err("global.evaluation_interval: must be positive".into());
            }
            o.default_interval_ms = d.as_millis() as i64;
        }
        if let Some(v) = &self.global.rule_query_offset {
            o.default_query_offset_ms = parse_duration(v)
                .map_err(|e| format!("global.rule_query_offset: {e}"))?
                .as_millis() as i64;
        }
        Ok(o)
    }

    /// The alert manager's configuration, or `None` when it is turned off. Relative paths (the
    /// file itself, its templates) are taken from `base`.
    pub fn alertmanager_config(
        &self,
        base: &std::path::Path,
    ) -> std::result::Result<Option<notify::Config>, String> {
        if self.alertmanager.enabled == Some(false) {
            return Ok(None);
        }
        let (text, dir) = match &self.alertmanager.config_file {
            Some(f) => {
                let path = base.join(f);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("alertmanager.config_file {}: {e}", path.display()))?;
                let dir = path
                    .parent()
                    .map(|p| p.to_path_buf())
                    .unwrap_or_else(|| base.to_path_buf());
                (text, dir)
            }
            None => (DEFAULT_ALERTMANAGER_CONFIG.to_string(), base.to_path_buf()),
        };
        let mut cfg = notify::Config::load(&text).map_err(|e| match &self.alertmanager.config_file {
            Some(f) => format!("alertmanager.config_file {f}: {e}"),
            None => e.to_string(),
        })?;
        cfg.resolve_paths(&dir);
        Ok(Some(cfg))
    }

    /// The built-in dashboards, unless `dashboards.builtin: false`.
    pub fn builtin_dashboards(&self) -> &'static [(&'static str, &'static str)] {
        if self.dashboards.builtin == Some(false) {
            &[]
        } else {
            &BUILTIN_DASHBOARDS
        }
    }

    /// The folder of provisioned dashboards, resolved against `base` (the config file's directory).
    pub fn dashboards_dir(&self, base: &std::path::Path) -> Option<std::path::PathBuf> {
        self.dashboards.dir.as_ref().map(|d| base.join(d))
    }

    /// The built-in rule files, unless `builtin_rules: false`.
    pub fn builtin_rule_files(&self) -> std::result::Result<Vec<rules::RuleFile>, String> {
        if self.builtin_rules == Some(false) {
            return Ok(Vec::new());
        }
        BUILTIN_RULES
            .iter()
            .map(|(name, text)| {
                rules::file::parse(text)
                    .map(|groups| rules::RuleFile {
                        path: name.to_string(),
                        groups,
                    })
                    .map_err(|e| format!("{name}: {}", e.join("; ")))
            })
            .collect()
    }

    /// The job scraping Pharos's own `/metrics` in process, unless turned off or taken by a scrape
    /// job of the same name.
    pub fn self_job_name(&self) -> Option<String> {
        if self.self_metrics.enabled == Some(false) {
            return None;
        }
        let name = self
            .self_metrics
            .job_name
            .clone()
            .unwrap_or_else(|| "pharos".into());
        let taken = self.scrape_configs.iter().any(|c| c.job_name == name)
            || self.host_job_name().as_deref() == Some(name.as_str())
            || self.push_job_name().as_deref() == Some(name.as_str());
        (!taken).then_some(name)
    }

    /// The built-in rule files followed by those `rule_files` names.
    pub fn all_rule_files(
        &self,
        base: &std::path::Path,
    ) -> std::result::Result<Vec<rules::RuleFile>, String> {
        let mut out = self.builtin_rule_files()?;
        out.extend(self.load_rule_files(base)?);
        Ok(out)
    }

    /// Loads and checks every file `rule_files` names; relative globs are taken from `base`. The
    /// error lists every problem, each naming its file.
    pub fn load_rule_files(
        &self,
        base: &std::path::Path,
    ) -> std::result::Result<Vec<rules::RuleFile>, String> {
        let paths = rules::file::glob(&self.rule_files, base)?;
        let mut out = Vec::new();
        let mut errs = Vec::new();
        for p in paths {
            match rules::file::load(&p) {
                Ok(f) => out.push(f),
                Err(e) => errs.extend(e),
            }
        }
        if errs.is_empty() {
            Ok(out)
        } else {
            Err(errs.join("; "))
        }
    }

    /// Whether the push endpoint answers.
    pub fn push_enabled(&self) -> bool {
        self.push.enabled != Some(false)
    }

    /// The job exposing pushed groups, unless pushing is off or a scrape job already has its name.
    pub fn push_job_name(&self) -> Option<String> {
        if !self.push_enabled() {
            return None;
        }
        let name = self.push.job_name.clone().unwrap_or_else(|| "pushgateway".into());
        let host = self.host_job_name();
        if self.scrape_configs.iter().any(|c| c.job_name == name) || host.as_deref() == Some(name.as_str()) {
            return None;
        }
        Some(name)
    }

    /// Where the host collector reads from.
    pub fn host_options(&self) -> hostmetrics::Options {
        let h = &self.host_metrics;
        let mut o = hostmetrics::Options::default();
        if let Some(p) = &h.proc_path {
            o.proc_path = p.into();
        }
        if let Some(p) = &h.sys_path {
            o.sys_path = p.into();
        }
        if let Some(p) = &h.root_path {
            o.root_path = p.into();
        }
        o
    }

    /// The host collector's job, unless it is off or a scrape job already has its name.
    pub fn host_job_name(&self) -> Option<String> {
        let h = &self.host_metrics;
        if h.enabled == Some(false) {
            return None;
        }
        let name = h.job_name.clone().unwrap_or_else(|| "node".into());
        if self.scrape_configs.iter().any(|c| c.job_name == name) {
            return None;
        }
        Some(name)
    }
}

/// Parses Prometheus-style durations: `1h30m`, `7d`, `250ms`, `1y`. Units: ms, s, m, h, d, w, y.
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let bad =
        || format!("invalid duration {s:?}: expected a number and a unit (ms, s, m, h, d, w, y), e.g. 1h30m");
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let b = s.as_bytes();
    let (mut i, mut total) = (0usize, 0u128);
    if b.is_empty() {
        return Err(bad());
    }
    while i < b.len() {
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let n: u128 = s[start..i].parse().map_err(|_| bad())?;
        let ustart = i;
        while i < b.len() && b[i].is_ascii_alphabetic() {
            i += 1;
        }
        let ms: u128 = match &s[ustart..i] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 604_800_000,
            "y" => 31_536_000_000,
            _ => return Err(bad()),
        };
        total = total
            .checked_add(n.checked_mul(ms).ok_or_else(bad)?)
            .ok_or_else(bad)?;
    }
    u64::try_from(total).map(Duration::from_millis).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_dashboards_are_valid_and_distinct() {
        let mut uids = std::collections::BTreeSet::new();
        for (name, text) in BUILTIN_DASHBOARDS {
            let v: serde_json::Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            api::dashboards::validate(&v).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                uids.insert(v["uid"].as_str().unwrap_or_default().to_string()),
                "{name}"
            );
        }
        assert_eq!(uids.len(), 4);
        let off = Config::parse("dashboards: {builtin: false, dir: boards}\n").unwrap();
        assert!(off.builtin_dashboards().is_empty());
        assert_eq!(
            off.dashboards_dir(std::path::Path::new("/etc/pharos")),
            Some(std::path::PathBuf::from("/etc/pharos/boards"))
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("7d").unwrap(), Duration::from_secs(7 * 86400));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert!(
            parse_duration("5 minutes")
                .unwrap_err()
                .contains("invalid duration \"5 minutes\"")
        );
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn unknown_fields_are_errors() {
        let e = Config::parse("storage:\n  retension: 7d\n").unwrap_err();
        assert!(e.contains("unknown field `retension`"), "{e}");
        let c = Config::parse("storage:\n  retention: 30d\n  wal_fsync: 100ms\n").unwrap();
        assert_eq!(c.storage.retention.as_deref(), Some("30d"));
        let e = Config::parse("limits:\n  max_query_sample: 10\n").unwrap_err();
        assert!(e.contains("unknown field `max_query_sample`"), "{e}");
        let c = Config::parse("limits:\n  max_query_samples: 10\n  query_timeout: 5s\n").unwrap();
        assert_eq!(c.limits.max_query_samples, Some(10));
        assert_eq!(c.limits.query_timeout.as_deref(), Some("5s"));
    }
}
