//! alertmanager.yml as Alertmanager 0.25–0.27 reads it: strict YAML, the same defaults (global
//! values copied into receivers, notifier defaults, route timers), the same checks and messages
//! close to Alertmanager's. Also prints a loaded config back as `/api/v2/status` shows it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::error::{Error, Result};
use crate::http::{Duration, HostPort, HttpConfig, Secret, SecretUrl, Url, no_secret, yaml11_bool};
use crate::matchers::{self, Matcher};
use crate::receiver::{RawGlobals, Receiver, check_raw};
use crate::timeinterval::TimeInterval;

/// A loaded alertmanager.yml.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub global: GlobalConfig,
    pub route: RouteConfig,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub receivers: Vec<Receiver>,
    pub templates: Vec<String>,
    /// Deprecated spelling of `time_intervals`, still read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<NamedTimeInterval>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub time_intervals: Vec<NamedTimeInterval>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigYaml {
    #[serde(default)]
    global: Option<GlobalConfig>,
    #[serde(default)]
    route: Option<RouteConfig>,
    #[serde(default)]
    inhibit_rules: Option<Vec<InhibitRuleConfig>>,
    #[serde(default)]
    receivers: Option<Vec<Receiver>>,
    #[serde(default)]
    templates: Option<Vec<String>>,
    #[serde(default)]
    mute_time_intervals: Option<Vec<NamedTimeInterval>>,
    #[serde(default)]
    time_intervals: Option<Vec<NamedTimeInterval>>,
}

/// The `global` section, with Alertmanager's defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalConfig {
    pub resolve_timeout: Duration,
    pub http_config: HttpConfig,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_hello: String,
    #[serde(skip_serializing_if = "HostPort::is_empty")]
    pub smtp_smarthost: HostPort,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_auth_username: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub smtp_auth_password: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_auth_password_file: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub smtp_auth_secret: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub smtp_auth_identity: String,
    #[serde(deserialize_with = "yaml11_bool")]
    pub smtp_require_tls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_api_url: Option<SecretUrl>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub slack_api_url_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pagerduty_url: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opsgenie_api_url: Option<Url>,
    #[serde(skip_serializing_if = "no_secret")]
    pub opsgenie_api_key: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub opsgenie_api_key_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wechat_api_url: Option<Url>,
    #[serde(skip_serializing_if = "no_secret")]
    pub wechat_api_secret: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub wechat_api_corp_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub victorops_api_url: Option<Url>,
    #[serde(skip_serializing_if = "no_secret")]
    pub victorops_api_key: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub victorops_api_key_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telegram_api_url: Option<Url>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webex_api_url: Option<Url>,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        GlobalConfig {
            resolve_timeout: Duration::from_secs(300),
            http_config: HttpConfig::default(),
            smtp_from: String::new(),
            smtp_hello: "localhost".to_string(),
            smtp_smarthost: HostPort::default(),
            smtp_auth_username: String::new(),
            smtp_auth_password: None,
            smtp_auth_password_file: String::new(),
            smtp_auth_secret: None,
            smtp_auth_identity: String::new(),
            smtp_require_tls: true,
            slack_api_url: None,
            slack_api_url_file: String::new(),
            pagerduty_url: Some(Url::trusted("https://events.pagerduty.com/v2/enqueue")),
            opsgenie_api_url: Some(Url::trusted("https://api.opsgenie.com/")),
            opsgenie_api_key: None,
            opsgenie_api_key_file: String::new(),
            wechat_api_url: Some(Url::trusted("https://qyapi.weixin.qq.com/cgi-bin/")),
            wechat_api_secret: None,
            wechat_api_corp_id: String::new(),
            victorops_api_url: Some(Url::trusted(
                "https://alert.victorops.com/integrations/generic/20131114/alert/",
            )),
            victorops_api_key: None,
            victorops_api_key_file: String::new(),
            telegram_api_url: Some(Url::trusted("https://api.telegram.org")),
            webex_api_url: Some(Url::trusted("https://webexapis.com/v1/messages")),
        }
    }
}

/// A `route` node as written (the root or any child). See [`crate::route::Route`] for the tree
/// with inherited settings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteConfig {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub receiver: String,
    /// As written; `...` means every label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_by: Option<Vec<String>>,
    /// Deprecated equality matchers.
    #[serde(rename = "match", skip_serializing_if = "BTreeMap::is_empty")]
    pub match_eq: BTreeMap<String, String>,
    /// Deprecated regex matchers; `None` values are refused on load.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub match_re: BTreeMap<String, Option<String>>,
    #[serde(
        deserialize_with = "de_matchers",
        serialize_with = "ser_matchers",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub matchers: Vec<Matcher>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mute_time_intervals: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub active_time_intervals: Vec<String>,
    #[serde(rename = "continue", deserialize_with = "yaml11_bool")]
    pub continue_matching: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<Duration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<Duration>,
}

impl RouteConfig {
    /// Every matcher of this node: `match`, `match_re` and `matchers`, sorted as Alertmanager
    /// sorts them.
    pub fn all_matchers(&self) -> Result<Vec<Matcher>> {
        let mut out = legacy(&self.match_eq, &self.match_re)?;
        out.extend(self.matchers.iter().cloned());
        matchers::sort_matchers(&mut out);
        Ok(out)
    }

    fn check(&self) -> Result<()> {
        check_legacy(&self.match_eq, &self.match_re)?;
        let mut seen = BTreeSet::new();
        let mut all = false;
        for l in self.group_by.iter().flatten() {
            if l == "..." {
                all = true;
                continue;
            }
            if !matchers::is_valid_label_name(l) {
                return Err(Error::Invalid(format!(
                    "invalid label name {l:?} in group_by list"
                )));
            }
            if !seen.insert(l.as_str()) {
                return Err(Error::Invalid(format!("duplicated label {l:?} in group_by")));
            }
        }
        if all && !seen.is_empty() {
            return Err(Error::Invalid(
                "cannot have wildcard group_by (`...`) and other labels at the same time".to_string(),
            ));
        }
        if self.group_interval == Some(Duration(0)) {
            return Err(Error::Invalid("group_interval cannot be zero".to_string()));
        }
        if self.repeat_interval == Some(Duration(0)) {
            return Err(Error::Invalid("repeat_interval cannot be zero".to_string()));
        }
        self.routes.iter().try_for_each(RouteConfig::check)
    }
}

fn legacy(eq: &BTreeMap<String, String>, re: &BTreeMap<String, Option<String>>) -> Result<Vec<Matcher>> {
    let re: BTreeMap<String, String> = re
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
        .collect();
    matchers::from_legacy(eq, &re)
}

fn check_legacy(eq: &BTreeMap<String, String>, re: &BTreeMap<String, Option<String>>) -> Result<()> {
    for k in eq.keys() {
        if !matchers::is_valid_label_name(k) {
            return Err(Error::Invalid(format!("invalid label name {k:?}")));
        }
    }
    for (k, v) in re {
        if !matchers::is_valid_label_name(k) {
            return Err(Error::Invalid(format!("invalid label name {k:?}")));
        }
        match v {
            None => return Err(Error::Invalid(format!("invalid regexp value for {k:?}"))),
            Some(v) => {
                matchers::compile_anchored(v)?;
            }
        }
    }
    Ok(())
}

fn de_matchers<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Matcher>, D::Error> {
    let lines: Vec<String> = Vec::deserialize(d)?;
    let mut out = Vec::new();
    for line in lines {
        out.extend(matchers::parse_matchers(&line).map_err(de::Error::custom)?);
    }
    matchers::sort_matchers(&mut out);
    Ok(out)
}

fn ser_matchers<S: Serializer>(ms: &[Matcher], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(ms.iter().map(ToString::to_string))
}

/// An `inhibit_rules` entry as written.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct InhibitRuleConfig {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub source_match_re: BTreeMap<String, Option<String>>,
    #[serde(
        deserialize_with = "de_matchers",
        serialize_with = "ser_matchers",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub source_matchers: Vec<Matcher>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub target_match_re: BTreeMap<String, Option<String>>,
    #[serde(
        deserialize_with = "de_matchers",
        serialize_with = "ser_matchers",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub target_matchers: Vec<Matcher>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub equal: Vec<String>,
}

impl InhibitRuleConfig {
    /// Source matchers from all three spellings, in Alertmanager's order (legacy first).
    pub fn all_source_matchers(&self) -> Result<Vec<Matcher>> {
        let mut out = legacy(&self.source_match, &self.source_match_re)?;
        out.extend(self.source_matchers.iter().cloned());
        Ok(out)
    }

    /// Target matchers from all three spellings.
    pub fn all_target_matchers(&self) -> Result<Vec<Matcher>> {
        let mut out = legacy(&self.target_match, &self.target_match_re)?;
        out.extend(self.target_matchers.iter().cloned());
        Ok(out)
    }

    fn check(&self) -> Result<()> {
        check_legacy(&self.source_match, &self.source_match_re)?;
        check_legacy(&self.target_match, &self.target_match_re)?;
        for l in &self.equal {
            if !matchers::is_valid_label_name(l) {
                return Err(Error::Invalid(format!("{l:?} is not a valid label name")));
            }
        }
        Ok(())
    }
}

/// A named list of time intervals (`time_intervals` or `mute_time_intervals` entry).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NamedTimeInterval {
    pub name: String,
    pub time_intervals: Vec<TimeInterval>,
}

impl Config {
    /// Parses and checks an alertmanager.yml as Alertmanager's `config.Load` does.
    pub fn load(yaml: &str) -> Result<Config> {
        let raw: Option<ConfigYaml> = if yaml.trim().is_empty() {
            None
        } else {
            serde_yaml::from_str(yaml).map_err(|e| Error::Yaml(e.to_string()))?
        };
        let Some(raw) = raw else {
            return Err(Error::Invalid("no route provided in config".to_string()));
        };
        let mut cfg = Config {
            global: raw.global.unwrap_or_default(),
            route: raw
                .route
                .ok_or_else(|| Error::Invalid("no route provided in config".to_string()))?,
            inhibit_rules: raw.inhibit_rules.unwrap_or_default(),
            receivers: raw.receivers.unwrap_or_default(),
            templates: raw.templates.unwrap_or_default(),
            mute_time_intervals: raw.mute_time_intervals.unwrap_or_default(),
            time_intervals: raw.time_intervals.unwrap_or_default(),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&mut self) -> Result<()> {
        let invalid = |m: &str| Err(Error::Invalid(m.to_string()));
        // Per-node checks Alertmanager runs while decoding.
        self.route.check()?;
        for r in &self.inhibit_rules {
            r.check()?;
        }
        for (i, t) in self.mute_time_intervals.iter().enumerate() {
            if t.name.is_empty() {
                return Err(Error::Invalid(format!(
                    "mute_time_intervals[{i}]: missing name in mute time interval"
                )));
            }
        }
        for (i, t) in self.time_intervals.iter().enumerate() {
            if t.name.is_empty() {
                return Err(Error::Invalid(format!(
                    "time_intervals[{i}]: missing name in time interval"
                )));
            }
        }
        let g = &mut self.global;
        g.http_config
            .validate()
            .map_err(|e| Error::Invalid(format!("global.http_config: {e}")))?;
        if g.slack_api_url.is_some() && !g.slack_api_url_file.is_empty() {
            return invalid("at most one of slack_api_url & slack_api_url_file must be configured");
        }
        if !no_secret(&g.opsgenie_api_key) && !g.opsgenie_api_key_file.is_empty() {
            return invalid("at most one of opsgenie_api_key & opsgenie_api_key_file must be configured");
        }
        if !no_secret(&g.victorops_api_key) && !g.victorops_api_key_file.is_empty() {
            return invalid("at most one of victorops_api_key & victorops_api_key_file must be configured");
        }
        if !no_secret(&g.smtp_auth_password) && !g.smtp_auth_password_file.is_empty() {
            return invalid("at most one of smtp_auth_password & smtp_auth_password_file must be configured");
        }
        let g = &self.global;
        let raw_globals = RawGlobals {
            opsgenie_key: !no_secret(&g.opsgenie_api_key) || !g.opsgenie_api_key_file.is_empty(),
            victorops_key: !no_secret(&g.victorops_api_key) || !g.victorops_api_key_file.is_empty(),
            wechat_secret: !no_secret(&g.wechat_api_secret),
            wechat_corp_id: !g.wechat_api_corp_id.is_empty(),
        };
        let mut names = BTreeSet::new();
        for (i, rcv) in self.receivers.iter_mut().enumerate() {
            if rcv.name.is_empty() {
                return Err(Error::Invalid(format!(
                    "receivers[{i}]: missing name in receiver"
                )));
            }
            if !names.insert(rcv.name.clone()) {
                return Err(Error::Invalid(format!(
                    "notification config name {:?} is not unique",
                    rcv.name
                )));
            }
            fill_receiver(rcv, g, &raw_globals)
                .map_err(|e| Error::Invalid(format!("receiver {:?}: {e}", rcv.name)))?;
        }
        let root = &self.route;
        if root.receiver.is_empty() {
            return invalid("root route must specify a default receiver");
        }
        if !root.match_eq.is_empty() || !root.match_re.is_empty() || !root.matchers.is_empty() {
            return invalid("root route must not have any matchers");
        }
        if !root.mute_time_intervals.is_empty() {
            return invalid("root route must not have any mute time intervals");
        }
        if !root.active_time_intervals.is_empty() {
            return invalid("root route must not have any active time intervals");
        }
        check_receivers(root, &names)?;
        let mut ti_names = BTreeSet::new();
        for t in &self.mute_time_intervals {
            if !ti_names.insert(t.name.as_str()) {
                return Err(Error::Invalid(format!(
                    "mute time interval {:?} is not unique",
                    t.name
                )));
            }
        }
        for t in &self.time_intervals {
            if !ti_names.insert(t.name.as_str()) {
                return Err(Error::Invalid(format!(
                    "time interval {:?} is not unique",
                    t.name
                )));
            }
        }
        check_time_intervals(root, &ti_names)?;
        if root.continue_matching {
            return invalid("cannot have continue in root route");
        }
        Ok(())
    }

    /// Makes relative `templates` globs and `*_file` paths relative to `base_dir` (the config
    /// file's directory), as Alertmanager's `LoadFile` does.
    pub fn resolve_paths(&mut self, base_dir: &Path) {
        let join = |p: &mut String| {
            if !p.is_empty() && !Path::new(p.as_str()).is_absolute() {
                *p = base_dir.join(p.as_str()).to_string_lossy().into_owned();
            }
        };
        for t in &mut self.templates {
            join(t);
        }
        let http = |h: &mut HttpConfig| {
            let join = |p: &mut String| {
                if !p.is_empty() && !Path::new(p.as_str()).is_absolute() {
                    *p = base_dir.join(p.as_str()).to_string_lossy().into_owned();
                }
            };
            join(&mut h.bearer_token_file);
            if let Some(b) = &mut h.basic_auth {
                join(&mut b.password_file);
                join(&mut b.username_file);
            }
            if let Some(a) = &mut h.authorization {
                join(&mut a.credentials_file);
            }
            if let Some(o) = &mut h.oauth2 {
                join(&mut o.client_secret_file);
            }
            for f in [
                &mut h.tls_config.ca_file,
                &mut h.tls_config.cert_file,
                &mut h.tls_config.key_file,
            ] {
                join(f);
            }
        };
        http(&mut self.global.http_config);
        for r in &mut self.receivers {
            for c in &mut r.webhook_configs {
                if let Some(h) = &mut c.http_config {
                    http(h);
                }
            }
            for c in &mut r.slack_configs {
                if let Some(h) = &mut c.http_config {
                    http(h);
                }
            }
            for c in &mut r.pagerduty_configs {
                if let Some(h) = &mut c.http_config {
                    http(h);
                }
            }
            for c in &mut r.twilio_configs {
                if let Some(h) = &mut c.http_config {
                    http(h);
                }
            }
        }
    }

    /// The loaded config as YAML, as Alertmanager's `/api/v2/status` shows it in
    /// `config.original`: defaults filled in, secrets as `<secret>`, Pharos-only fields left out,
    /// so Alertmanager and amtool load it again.
    pub fn to_status_yaml(&self) -> String {
        serde_yaml::to_string(self).unwrap_or_else(|e| format!("# cannot print config: {e}\n"))
    }

    /// The receiver named `name`.
    pub fn receiver(&self, name: &str) -> Option<&Receiver> {
        self.receivers.iter().find(|r| r.name == name)
    }

    /// The intervals of a named time interval, looked up in `time_intervals` and
    /// `mute_time_intervals` alike.
    pub fn time_interval(&self, name: &str) -> Option<&[TimeInterval]> {
        self.time_intervals
            .iter()
            .chain(&self.mute_time_intervals)
            .find(|t| t.name == name)
            .map(|t| t.time_intervals.as_slice())
    }

    /// Receivers' notifier types Pharos does not send through: (receiver, field, count), for the
    /// caller to log once on load.
    pub fn unsupported_notifiers(&self) -> Vec<(String, &'static str, usize)> {
        self.receivers
            .iter()
            .flat_map(|r| {
                r.unsupported()
                    .into_iter()
                    .map(|(kind, n)| (r.name.clone(), kind, n))
            })
            .collect()
    }
}

/// Alertmanager copies global settings into each notifier config that leaves them out.
fn fill_receiver(rcv: &mut Receiver, g: &GlobalConfig, raw: &RawGlobals) -> Result<(), String> {
    let http = |h: &mut Option<HttpConfig>, field: &str, i: usize| -> Result<(), String> {
        match h {
            Some(h) => h.validate().map_err(|e| format!("{field}[{i}].http_config: {e}")),
            None => {
                *h = Some(g.http_config.clone());
                Ok(())
            }
        }
    };
    for (i, wh) in rcv.webhook_configs.iter_mut().enumerate() {
        wh.check().map_err(|e| format!("webhook_configs[{i}]: {e}"))?;
        http(&mut wh.http_config, "webhook_configs", i)?;
    }
    for (i, ec) in rcv.email_configs.iter_mut().enumerate() {
        ec.check().map_err(|e| format!("email_configs[{i}]: {e}"))?;
        if let Some(tls) = &ec.tls_config {
            tls.validate()
                .map_err(|e| format!("email_configs[{i}].tls_config: {e}"))?;
        }
        if ec.smarthost.is_empty() {
            if g.smtp_smarthost.is_empty() {
                return Err("no global SMTP smarthost set".to_string());
            }
            ec.smarthost = g.smtp_smarthost.clone();
        }
        if ec.from.is_empty() {
            if g.smtp_from.is_empty() {
                return Err("no global SMTP from set".to_string());
            }
            ec.from = g.smtp_from.clone();
        }
        if ec.hello.is_empty() {
            ec.hello = g.smtp_hello.clone();
        }
        if ec.auth_username.is_empty() {
            ec.auth_username = g.smtp_auth_username.clone();
        }
        if no_secret(&ec.auth_password) && ec.auth_password_file.is_empty() {
            ec.auth_password = g.smtp_auth_password.clone();
            ec.auth_password_file = g.smtp_auth_password_file.clone();
        }
        if no_secret(&ec.auth_secret) {
            ec.auth_secret = g.smtp_auth_secret.clone();
        }
        if ec.auth_identity.is_empty() {
            ec.auth_identity = g.smtp_auth_identity.clone();
        }
        if ec.require_tls.is_none() {
            ec.require_tls = Some(g.smtp_require_tls);
        }
        ec.fill_headers();
    }
    for (i, sc) in rcv.slack_configs.iter_mut().enumerate() {
        sc.check().map_err(|e| format!("slack_configs[{i}]: {e}"))?;
        http(&mut sc.http_config, "slack_configs", i)?;
        if sc.api_url.is_none() && sc.api_url_file.is_empty() {
            if g.slack_api_url.is_none() && g.slack_api_url_file.is_empty() {
                return Err("no global Slack API URL set either inline or in a file".to_string());
            }
            sc.api_url = g.slack_api_url.clone();
            sc.api_url_file = g.slack_api_url_file.clone();
        }
    }
    for (i, pd) in rcv.pagerduty_configs.iter_mut().enumerate() {
        pd.check().map_err(|e| format!("pagerduty_configs[{i}]: {e}"))?;
        http(&mut pd.http_config, "pagerduty_configs", i)?;
        if pd.url.is_none() {
            match &g.pagerduty_url {
                Some(u) => pd.url = Some(u.clone()),
                None => return Err("no global PagerDuty URL set".to_string()),
            }
        }
    }
    for (i, tw) in rcv.twilio_configs.iter_mut().enumerate() {
        tw.check().map_err(|e| format!("twilio_configs[{i}]: {e}"))?;
        http(&mut tw.http_config, "twilio_configs", i)?;
    }
    let raw_lists: [(&str, &Vec<serde_yaml::Value>); 9] = [
        ("opsgenie_configs", &rcv.opsgenie_configs),
        ("wechat_configs", &rcv.wechat_configs),
        ("pushover_configs", &rcv.pushover_configs),
        ("victorops_configs", &rcv.victorops_configs),
        ("sns_configs", &rcv.sns_configs),
        ("telegram_configs", &rcv.telegram_configs),
        ("webex_configs", &rcv.webex_configs),
        ("discord_configs", &rcv.discord_configs),
        ("msteams_configs", &rcv.msteams_configs),
    ];
    for (kind, list) in raw_lists {
        for (i, v) in list.iter().enumerate() {
            check_raw(kind, v, raw).map_err(|e| format!("{kind}[{i}]: {e}"))?;
        }
    }
    Ok(())
}

fn check_receivers(r: &RouteConfig, names: &BTreeSet<String>) -> Result<()> {
    for c in &r.routes {
        check_receivers(c, names)?;
    }
    if !r.receiver.is_empty() && !names.contains(&r.receiver) {
        return Err(Error::Invalid(format!(
            "undefined receiver {:?} used in route",
            r.receiver
        )));
    }
    Ok(())
}

fn check_time_intervals(r: &RouteConfig, names: &BTreeSet<&str>) -> Result<()> {
    for c in &r.routes {
        check_time_intervals(c, names)?;
    }
    for t in r.active_time_intervals.iter().chain(&r.mute_time_intervals) {
        if !names.contains(t.as_str()) {
            return Err(Error::Invalid(format!(
                "undefined time interval {t:?} used in route"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "route: {receiver: r}\nreceivers: [{name: r}]\n";

    fn load(yaml: &str) -> Config {
        Config::load(yaml).unwrap_or_else(|e| panic!("{yaml}\n{e}"))
    }

    fn err(yaml: &str) -> String {
        match Config::load(yaml) {
            Ok(_) => panic!("loaded: {yaml}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults() {
        let c = load(BASE);
        assert_eq!(c.global.resolve_timeout, Duration::from_secs(300));
        assert_eq!(c.global.smtp_hello, "localhost");
        assert!(c.global.smtp_require_tls);
        assert_eq!(
            c.global.pagerduty_url.as_ref().unwrap().as_str(),
            "https://events.pagerduty.com/v2/enqueue"
        );
        assert!(c.global.http_config.follow_redirects);
        let c = load(&format!("global:\n{BASE}"));
        assert_eq!(c.global, GlobalConfig::default());
    }

    #[test]
    fn globals_copied_into_receivers() {
        let c = load(
            "global:
  smtp_smarthost: 'mail:25'
  smtp_from: am@example.org
  smtp_auth_password: pw
  slack_api_url: https://hooks.slack.com/x
  http_config: {basic_auth: {username: u, password: p}}
route: {receiver: r}
receivers:
- name: r
  email_configs: [{to: ops@example.org}]
  slack_configs: [{channel: '#ops'}]
  webhook_configs: [{url: 'http://hook/'}]
  pagerduty_configs: [{routing_key: k}]
",
        );
        let r = &c.receivers[0];
        let e = &r.email_configs[0];
        assert_eq!(e.smarthost.to_string(), "mail:25");
        assert_eq!(e.from, "am@example.org");
        assert_eq!(e.hello, "localhost");
        assert_eq!(e.auth_password.as_ref().unwrap().expose(), "pw");
        assert_eq!(e.require_tls, Some(true));
        assert_eq!(e.headers["To"], "ops@example.org");
        let s = &r.slack_configs[0];
        assert_eq!(s.api_url.as_ref().unwrap().expose(), "https://hooks.slack.com/x");
        assert_eq!(
            s.http_config
                .as_ref()
                .unwrap()
                .basic_auth
                .as_ref()
                .unwrap()
                .username,
            "u"
        );
        assert!(r.webhook_configs[0].http_config.is_some());
        assert_eq!(
            r.pagerduty_configs[0].url.as_ref().unwrap().as_str(),
            "https://events.pagerduty.com/v2/enqueue"
        );
    }

    #[test]
    fn validation_messages() {
        for (yaml, msg) in [
            ("", "no route provided in config"),
            ("receivers: [{name: r}]", "no route provided in config"),
            (
                "route: {receiver: r, continue: true}\nreceivers: [{name: r}]",
                "cannot have continue in root route",
            ),
            (
                "route: {receiver: x}\nreceivers: [{name: r}]",
                "undefined receiver \"x\" used in route",
            ),
            (
                "route: {receiver: r}\nreceivers: [{name: r}, {name: r}]",
                "notification config name \"r\" is not unique",
            ),
            (
                "route: {receiver: r}\nreceivers: [{name: r}, {}]",
                "missing name in receiver",
            ),
            (
                "route: {group_by: [a]}\nreceivers: [{name: r}]",
                "root route must specify a default receiver",
            ),
            (
                "route: {receiver: r, matchers: [a=b]}\nreceivers: [{name: r}]",
                "root route must not have any matchers",
            ),
            (
                "route: {receiver: r, group_by: ['...', a]}\nreceivers: [{name: r}]",
                "cannot have wildcard group_by",
            ),
            (
                "route: {receiver: r, group_by: [a, a]}\nreceivers: [{name: r}]",
                "duplicated label \"a\" in group_by",
            ),
            (
                "route: {receiver: r, group_interval: 0s}\nreceivers: [{name: r}]",
                "group_interval cannot be zero",
            ),
            (
                "route: {receiver: r, routes: [{mute_time_intervals: [x]}]}\nreceivers: [{name: r}]",
                "undefined time interval \"x\" used in route",
            ),
            (
                "route: {receiver: r, routes: [{matchers: [foo]}]}\nreceivers: [{name: r}]",
                "bad matcher format: foo",
            ),
            (
                "route: {receiver: r, routes: [{match_re: {a: }}]}\nreceivers: [{name: r}]",
                "invalid regexp value for \"a\"",
            ),
            (
                "route: {receiver: r, foo: 1}\nreceivers: [{name: r}]",
                "unknown field `foo`",
            ),
            (
                "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a}]}]",
                "no global SMTP smarthost set",
            ),
            (
                "route: {receiver: r}\nreceivers: [{name: r, slack_configs: [{}]}]",
                "no global Slack API URL set",
            ),
            (
                "route: {receiver: r}\nreceivers: [{name: r, opsgenie_configs: [{}]}]",
                "no global OpsGenie API Key set",
            ),
            (
                "route: {receiver: r}\nreceivers: [{name: r, foo_configs: [{}]}]",
                "unknown field `foo_configs`",
            ),
            (
                &format!("{BASE}time_intervals: [{{name: t}}, {{name: t}}]"),
                "time interval \"t\" is not unique",
            ),
            (
                &format!("{BASE}inhibit_rules: [{{equal: ['a-b']}}]"),
                "\"a-b\" is not a valid label name",
            ),
        ] {
            let e = err(yaml);
            assert!(e.contains(msg), "{yaml}\ngot: {e}\nwant: {msg}");
        }
    }

    #[test]
    fn status_yaml_hides_secrets_and_pharos_fields() {
        let c = load(
            "global: {smtp_smarthost: 'h:25', smtp_from: a@b, smtp_auth_password: hunter2, slack_api_url: 'https://hooks/x'}
route: {receiver: r, group_by: ['...'], group_wait: 90s}
receivers:
- name: r
  email_configs: [{to: x@y}]
  twilio_configs: [{account_sid: AC1, auth_token: tok, from: '+1', to: '+2'}]
  slack_configs: [{channel: '#a'}]
",
        );
        assert_eq!(c.receivers[0].twilio_configs.len(), 1);
        let y = c.to_status_yaml();
        assert!(!y.contains("hunter2"), "{y}");
        assert!(!y.contains("hooks/x"), "{y}");
        assert!(!y.contains("twilio"), "{y}");
        assert!(y.contains("smtp_auth_password: <secret>"), "{y}");
        assert!(y.contains("group_wait: 1m30s"), "{y}");
        assert!(y.contains("resolve_timeout: 5m"), "{y}");
        assert!(y.contains("templates: []"), "{y}");
        // What we print loads again, and prints the same.
        let again = Config::load(&y).unwrap();
        assert_eq!(again.to_status_yaml(), y);
    }

    #[test]
    fn unsupported_notifiers_are_reported() {
        let c = load(
            "global: {opsgenie_api_key: k}
route: {receiver: r}
receivers: [{name: r, opsgenie_configs: [{}, {}], telegram_configs: [{bot_token: x, chat_id: 1}]}]
",
        );
        assert_eq!(
            c.unsupported_notifiers(),
            vec![
                ("r".to_string(), "opsgenie_configs", 2),
                ("r".to_string(), "telegram_configs", 1)
            ]
        );
    }

    #[test]
    fn paths_resolved_against_config_dir() {
        let mut c = load(&format!(
            "{BASE}templates: ['tmpl/*.tmpl', '/abs/x.tmpl']\nglobal: {{http_config: {{bearer_token_file: tok}}}}"
        ));
        c.resolve_paths(Path::new("/etc/pharos"));
        assert_eq!(c.templates, vec!["/etc/pharos/tmpl/*.tmpl", "/abs/x.tmpl"]);
        let a = c.global.http_config.authorization.as_ref().unwrap();
        assert_eq!(a.credentials_file, "/etc/pharos/tok");
    }

    #[test]
    fn time_interval_lookup() {
        let c = load(&format!(
            "{BASE}time_intervals: [{{name: a, time_intervals: [{{weekdays: [monday]}}]}}]\nmute_time_intervals: [{{name: b}}]"
        ));
        assert_eq!(c.time_interval("a").unwrap().len(), 1);
        assert_eq!(c.time_interval("b").unwrap().len(), 0);
        assert!(c.time_interval("c").is_none());
    }
}
