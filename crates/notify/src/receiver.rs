//! `receivers`: the notifier configs Pharos sends through (email, webhook, PagerDuty, Slack and
//! the Pharos-only Twilio), each with Alertmanager's defaults and checks, plus the other
//! Alertmanager notifier types kept as raw YAML so users' files still load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::http::{
    HostPort, HttpConfig, Secret, SecretUrl, TlsConfig, Url, no_secret, yaml11_bool, yaml11_opt_bool,
};

fn t(s: &str) -> String {
    s.to_string()
}

/// One `receivers` entry.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<EmailConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_configs: Vec<SlackConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub opsgenie_configs: Vec<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub wechat_configs: Vec<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub pushover_configs: Vec<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub victorops_configs: Vec<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub sns_configs: Vec<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub telegram_configs: Vec<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub webex_configs: Vec<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub discord_configs: Vec<serde_yaml::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", serialize_with = "ser_raw")]
    pub msteams_configs: Vec<serde_yaml::Value>,
    /// Pharos-only; never printed, so a printed config still loads in Alertmanager.
    #[serde(default, skip_serializing)]
    pub twilio_configs: Vec<TwilioConfig>,
}

impl Receiver {
    /// The Alertmanager notifier types this receiver configures that Pharos cannot send through,
    /// with how many of each, for the caller to log.
    pub fn unsupported(&self) -> Vec<(&'static str, usize)> {
        [
            ("opsgenie_configs", self.opsgenie_configs.len()),
            ("wechat_configs", self.wechat_configs.len()),
            ("pushover_configs", self.pushover_configs.len()),
            ("victorops_configs", self.victorops_configs.len()),
            ("sns_configs", self.sns_configs.len()),
            ("telegram_configs", self.telegram_configs.len()),
            ("webex_configs", self.webex_configs.len()),
            ("discord_configs", self.discord_configs.len()),
            ("msteams_configs", self.msteams_configs.len()),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

/// `email_configs` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    #[serde(deserialize_with = "yaml11_bool")]
    pub send_resolved: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub hello: String,
    #[serde(skip_serializing_if = "HostPort::is_empty")]
    pub smarthost: HostPort,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_username: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub auth_password: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_password_file: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub auth_secret: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_identity: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub html: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "yaml11_opt_bool")]
    pub require_tls: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            send_resolved: false,
            to: String::new(),
            from: String::new(),
            hello: String::new(),
            smarthost: HostPort::default(),
            auth_username: String::new(),
            auth_password: None,
            auth_password_file: String::new(),
            auth_secret: None,
            auth_identity: String::new(),
            headers: BTreeMap::new(),
            html: t(r#"{{ template "email.default.html" . }}"#),
            text: String::new(),
            require_tls: None,
            tls_config: None,
        }
    }
}

/// The Subject header an email gets unless the config sets one.
pub const DEFAULT_EMAIL_SUBJECT: &str = r#"{{ template "email.default.subject" . }}"#;

/// Go's `textproto.CanonicalMIMEHeaderKey`: `x-foo` → `X-Foo`.
fn canonical_header(h: &str) -> String {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if !h.chars().all(token) {
        return h.to_string();
    }
    let mut out = String::with_capacity(h.len());
    let mut upper = true;
    for c in h.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

impl EmailConfig {
    /// The per-config checks of Alertmanager's `EmailConfig.UnmarshalYAML`.
    pub(crate) fn check(&mut self) -> Result<(), String> {
        if self.to.is_empty() {
            return Err("missing to address in email config".to_string());
        }
        let mut normalized = BTreeMap::new();
        for (h, v) in std::mem::take(&mut self.headers) {
            let key = canonical_header(&h);
            if normalized.insert(key.clone(), v).is_some() {
                return Err(format!("duplicate header {key:?} in email config"));
            }
        }
        self.headers = normalized;
        Ok(())
    }

    /// Fills `Subject`, `To` and `From` headers, after `from` has taken the global default.
    pub(crate) fn fill_headers(&mut self) {
        self.headers
            .entry("Subject".to_string())
            .or_insert_with(|| DEFAULT_EMAIL_SUBJECT.to_string());
        self.headers
            .entry("To".to_string())
            .or_insert_with(|| self.to.clone());
        self.headers
            .entry("From".to_string())
            .or_insert_with(|| self.from.clone());
    }
}

/// `webhook_configs` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    #[serde(deserialize_with = "yaml11_bool")]
    pub send_resolved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    /// Alertmanager 0.26 and later.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url_file: String,
    pub max_alerts: u64,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            send_resolved: true,
            http_config: None,
            url: None,
            url_file: String::new(),
            max_alerts: 0,
        }
    }
}

impl WebhookConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        match (&self.url, self.url_file.is_empty()) {
            (None, true) => Err("one of url or url_file must be configured".to_string()),
            (Some(_), false) => Err("at most one of url & url_file must be configured".to_string()),
            _ => Ok(()),
        }
    }
}

/// `pagerduty_configs` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutyConfig {
    #[serde(deserialize_with = "yaml11_bool")]
    pub send_resolved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpConfig>,
    #[serde(skip_serializing_if = "no_secret")]
    pub service_key: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub service_key_file: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub routing_key: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub routing_key_file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<Url>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub client_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PagerdutyImage>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PagerdutyLink>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
}

impl Default for PagerdutyConfig {
    fn default() -> Self {
        PagerdutyConfig {
            send_resolved: true,
            http_config: None,
            service_key: None,
            service_key_file: String::new(),
            routing_key: None,
            routing_key_file: String::new(),
            url: None,
            client: t(r#"{{ template "pagerduty.default.client" . }}"#),
            client_url: t(r#"{{ template "pagerduty.default.clientURL" . }}"#),
            description: t(r#"{{ template "pagerduty.default.description" .}}"#),
            details: BTreeMap::new(),
            images: Vec::new(),
            links: Vec::new(),
            source: String::new(),
            severity: String::new(),
            class: String::new(),
            component: String::new(),
            group: String::new(),
        }
    }
}

/// `details` every PagerDuty event carries unless the config overrides the key.
pub const DEFAULT_PAGERDUTY_DETAILS: [(&str, &str); 4] = [
    (
        "firing",
        r#"{{ template "pagerduty.default.instances" .Alerts.Firing }}"#,
    ),
    (
        "resolved",
        r#"{{ template "pagerduty.default.instances" .Alerts.Resolved }}"#,
    ),
    ("num_firing", "{{ .Alerts.Firing | len }}"),
    ("num_resolved", "{{ .Alerts.Resolved | len }}"),
];

impl PagerdutyConfig {
    pub(crate) fn check(&mut self) -> Result<(), String> {
        let routing = !no_secret(&self.routing_key);
        let service = !no_secret(&self.service_key);
        if !routing && !service && self.routing_key_file.is_empty() && self.service_key_file.is_empty() {
            return Err("missing service or routing key in PagerDuty config".to_string());
        }
        if routing && !self.routing_key_file.is_empty() {
            return Err("at most one of routing_key & routing_key_file must be configured".to_string());
        }
        if service && !self.service_key_file.is_empty() {
            return Err("at most one of service_key & service_key_file must be configured".to_string());
        }
        if self.source.is_empty() {
            self.source = self.client.clone();
        }
        for (k, v) in DEFAULT_PAGERDUTY_DETAILS {
            self.details.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        Ok(())
    }
}

/// A PagerDuty image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutyImage {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub src: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub alt: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub href: String,
}

/// A PagerDuty link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutyLink {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub href: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// `slack_configs` entry.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    #[serde(deserialize_with = "yaml11_bool")]
    pub send_resolved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_url: Option<SecretUrl>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub api_url_file: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub color: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pretext: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<SlackField>,
    #[serde(deserialize_with = "yaml11_bool")]
    pub short_fields: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fallback: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub callback_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub icon_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    #[serde(deserialize_with = "yaml11_bool")]
    pub link_names: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mrkdwn_in: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<SlackAction>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        let tpl = |name: &str| format!(r#"{{{{ template "slack.default.{name}" . }}}}"#);
        SlackConfig {
            send_resolved: false,
            http_config: None,
            api_url: None,
            api_url_file: String::new(),
            channel: String::new(),
            username: tpl("username"),
            color: t(r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#),
            title: tpl("title"),
            title_link: tpl("titlelink"),
            pretext: tpl("pretext"),
            text: tpl("text"),
            fields: Vec::new(),
            short_fields: false,
            footer: tpl("footer"),
            fallback: tpl("fallback"),
            callback_id: tpl("callbackid"),
            icon_emoji: tpl("iconemoji"),
            icon_url: tpl("iconurl"),
            image_url: String::new(),
            thumb_url: String::new(),
            link_names: false,
            mrkdwn_in: Vec::new(),
            actions: Vec::new(),
        }
    }
}

impl SlackConfig {
    pub(crate) fn check(&mut self) -> Result<(), String> {
        if self.api_url.is_some() && !self.api_url_file.is_empty() {
            return Err("at most one of api_url & api_url_file must be configured".to_string());
        }
        for f in &self.fields {
            if f.title.is_empty() {
                return Err("missing title in Slack field configuration".to_string());
            }
            if f.value.is_empty() {
                return Err("missing value in Slack field configuration".to_string());
            }
        }
        for a in &mut self.actions {
            if a.kind.is_empty() {
                return Err("missing type in Slack action configuration".to_string());
            }
            if a.text.is_empty() {
                return Err("missing text in Slack action configuration".to_string());
            }
            if !a.url.is_empty() {
                a.name.clear();
                a.value.clear();
                a.confirm = None;
            } else if a.name.is_empty() {
                return Err("missing name or url in Slack action configuration".to_string());
            }
            if let Some(c) = &a.confirm
                && c.text.is_empty()
            {
                return Err("missing text in Slack confirmation configuration".to_string());
            }
        }
        Ok(())
    }
}

/// A Slack attachment field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackField {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none", deserialize_with = "yaml11_opt_bool")]
    pub short: Option<bool>,
}

/// A Slack button.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackAction {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub style: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm: Option<SlackConfirmation>,
}

/// A Slack button's confirmation dialog.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfirmation {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub ok_text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dismiss_text: String,
}

/// How a Twilio notification reaches the phone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TwilioMode {
    #[default]
    Sms,
    Call,
}

/// `twilio_configs` entry (Pharos only): a text message or a voice call through Twilio's API.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwilioConfig {
    #[serde(deserialize_with = "yaml11_bool")]
    pub send_resolved: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpConfig>,
    pub account_sid: String,
    #[serde(skip_serializing_if = "no_secret")]
    pub auth_token: Option<Secret>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub auth_token_file: String,
    pub from: String,
    pub to: String,
    pub mode: TwilioMode,
    pub message: String,
    pub api_url: Url,
}

/// Where Twilio's REST API lives.
pub const DEFAULT_TWILIO_API_URL: &str = "https://api.twilio.com";

impl Default for TwilioConfig {
    fn default() -> Self {
        TwilioConfig {
            send_resolved: true,
            http_config: None,
            account_sid: String::new(),
            auth_token: None,
            auth_token_file: String::new(),
            from: String::new(),
            to: String::new(),
            mode: TwilioMode::Sms,
            message: t(r#"{{ template "twilio.default.message" . }}"#),
            api_url: Url::trusted(DEFAULT_TWILIO_API_URL),
        }
    }
}

impl TwilioConfig {
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.account_sid.is_empty() {
            return Err("missing account_sid in twilio config".to_string());
        }
        let token = !no_secret(&self.auth_token);
        match (token, self.auth_token_file.is_empty()) {
            (false, true) => {
                return Err("one of auth_token or auth_token_file must be configured".to_string());
            }
            (true, false) => {
                return Err("at most one of auth_token & auth_token_file must be configured".to_string());
            }
            _ => {}
        }
        if self.from.is_empty() {
            return Err("missing from in twilio config".to_string());
        }
        if self.to.is_empty() {
            return Err("missing to in twilio config".to_string());
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Notifier types Pharos does not send through: only the checks that decide whether Alertmanager
// loads the file at all.

/// Keys whose values Alertmanager types as secrets in the notifiers kept raw.
const RAW_SECRET_KEYS: [&str; 12] = [
    "api_key",
    "api_secret",
    "token",
    "user_key",
    "bot_token",
    "webhook_url",
    "password",
    "credentials",
    "client_secret",
    "secret_key",
    "key",
    "bearer_token",
];

/// A raw notifier config with its secrets replaced by `<secret>`.
pub(crate) fn redact(v: &serde_yaml::Value) -> serde_yaml::Value {
    use serde_yaml::Value;
    match v {
        Value::Mapping(m) => Value::Mapping(
            m.iter()
                .map(|(k, v)| {
                    let secret = k.as_str().is_some_and(|k| RAW_SECRET_KEYS.contains(&k));
                    let v = if secret && !v.is_null() {
                        Value::String(crate::http::SECRET_TOKEN.to_string())
                    } else {
                        redact(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Sequence(s) => Value::Sequence(s.iter().map(redact).collect()),
        Value::Tagged(t) => redact(&t.value),
        other => other.clone(),
    }
}

fn ser_raw<S: serde::Serializer>(list: &[serde_yaml::Value], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(list.iter().map(redact))
}

fn field<'a>(v: &'a serde_yaml::Value, k: &str) -> Option<&'a serde_yaml::Value> {
    v.as_mapping().and_then(|m| m.get(k))
}

/// Whether a raw field is present and not empty (Go's zero value).
fn set(v: &serde_yaml::Value, k: &str) -> bool {
    match field(v, k) {
        None | Some(serde_yaml::Value::Null) => false,
        Some(serde_yaml::Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

fn str_field<'a>(v: &'a serde_yaml::Value, k: &str) -> Option<&'a str> {
    field(v, k).and_then(serde_yaml::Value::as_str)
}

/// The subset of globals the unsupported notifiers fall back on.
pub(crate) struct RawGlobals {
    pub opsgenie_key: bool,
    pub victorops_key: bool,
    pub wechat_secret: bool,
    pub wechat_corp_id: bool,
}

pub(crate) fn check_raw(kind: &str, v: &serde_yaml::Value, g: &RawGlobals) -> Result<(), String> {
    if !v.is_mapping() && !v.is_null() {
        return Err(format!("{kind}: expected a mapping"));
    }
    let both = |a: &str, b: &str| set(v, a) && set(v, b);
    match kind {
        "opsgenie_configs" => {
            if both("api_key", "api_key_file") {
                return Err("at most one of api_key & api_key_file must be configured".to_string());
            }
            if !set(v, "api_key") && !set(v, "api_key_file") && !g.opsgenie_key {
                return Err("no global OpsGenie API Key set either inline or in a file".to_string());
            }
        }
        "wechat_configs" => {
            if !set(v, "api_secret") && !g.wechat_secret {
                return Err("no global Wechat ApiSecret set".to_string());
            }
            if !set(v, "corp_id") && !g.wechat_corp_id {
                return Err("no global Wechat CorpID set".to_string());
            }
        }
        "pushover_configs" => {
            if !set(v, "user_key") && !set(v, "user_key_file") {
                return Err("missing user key in Pushover config".to_string());
            }
            if !set(v, "token") && !set(v, "token_file") {
                return Err("missing token in Pushover config".to_string());
            }
        }
        "victorops_configs" => {
            if !set(v, "routing_key") {
                return Err("missing Routing key in VictorOps config".to_string());
            }
            if both("api_key", "api_key_file") {
                return Err("at most one of api_key & api_key_file must be configured".to_string());
            }
            if !set(v, "api_key") && !set(v, "api_key_file") && !g.victorops_key {
                return Err("no global VictorOps API Key set".to_string());
            }
        }
        "sns_configs" if !set(v, "target_arn") && !set(v, "topic_arn") && !set(v, "phone_number") => {
            return Err(
                "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config".to_string(),
            );
        }
        "telegram_configs" => {
            if !set(v, "bot_token") && !set(v, "bot_token_file") {
                return Err("missing bot_token or bot_token_file on telegram_config".to_string());
            }
            if !set(v, "chat_id") {
                return Err("missing chat_id on telegram_config".to_string());
            }
            if let Some(m) = str_field(v, "parse_mode")
                && !["", "Markdown", "MarkdownV2", "HTML"].contains(&m)
            {
                return Err(
                    "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string"
                        .to_string(),
                );
            }
        }
        "webex_configs" => {
            if !set(v, "room_id") {
                return Err("missing room_id on webex_config".to_string());
            }
            let auth = field(v, "http_config").is_some_and(|h| set(h, "authorization"));
            if !auth {
                return Err("missing webex_configs.http_config.authorization".to_string());
            }
        }
        "discord_configs" if !set(v, "webhook_url") && !set(v, "webhook_url_file") => {
            return Err("no discord webhook URL provided".to_string());
        }
        "msteams_configs" if !set(v, "webhook_url") && !set(v, "webhook_url_file") => {
            return Err("one of webhook_url or webhook_url_file must be configured".to_string());
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_alertmanager() {
        let e: EmailConfig = serde_yaml::from_str("to: a@b").unwrap();
        assert!(!e.send_resolved);
        assert_eq!(e.html, r#"{{ template "email.default.html" . }}"#);
        let w: WebhookConfig = serde_yaml::from_str("url: http://x/").unwrap();
        assert!(w.send_resolved);
        let p: PagerdutyConfig = serde_yaml::from_str("routing_key: k").unwrap();
        assert!(p.send_resolved);
        let s: SlackConfig = serde_yaml::from_str("channel: '#a'").unwrap();
        assert!(!s.send_resolved);
        assert_eq!(s.title, r#"{{ template "slack.default.title" . }}"#);
        assert_eq!(s.title_link, r#"{{ template "slack.default.titlelink" . }}"#);
        let tw: TwilioConfig =
            serde_yaml::from_str("{account_sid: a, auth_token: t, from: '+1', to: '+2'}").unwrap();
        assert!(tw.send_resolved);
        assert_eq!(tw.mode, TwilioMode::Sms);
        assert_eq!(tw.api_url.as_str(), "https://api.twilio.com");
        assert_eq!(tw.message, r#"{{ template "twilio.default.message" . }}"#);
        tw.check().unwrap();
    }

    #[test]
    fn email_headers_are_canonical_and_unique() {
        assert_eq!(canonical_header("x-foo-BAR"), "X-Foo-Bar");
        assert_eq!(canonical_header("subject"), "Subject");
        assert_eq!(canonical_header("with space"), "with space");
        let mut e: EmailConfig = serde_yaml::from_str("{to: a, headers: {subject: x, Subject: y}}").unwrap();
        assert_eq!(
            e.check().unwrap_err(),
            "duplicate header \"Subject\" in email config"
        );
        let mut e: EmailConfig = serde_yaml::from_str("{to: a, from: b, headers: {subject: hi}}").unwrap();
        e.check().unwrap();
        e.fill_headers();
        assert_eq!(e.headers["Subject"], "hi");
        assert_eq!(e.headers["To"], "a");
        assert_eq!(e.headers["From"], "b");
    }

    #[test]
    fn pagerduty_details_and_source() {
        let mut p: PagerdutyConfig =
            serde_yaml::from_str("{service_key: k, details: {firing: mine}}").unwrap();
        p.check().unwrap();
        assert_eq!(p.details["firing"], "mine");
        assert_eq!(p.details["num_firing"], "{{ .Alerts.Firing | len }}");
        assert_eq!(p.source, p.client);
        let mut p: PagerdutyConfig = serde_yaml::from_str("{}").unwrap();
        assert!(p.check().is_err());
    }

    #[test]
    fn slack_actions() {
        let mut s: SlackConfig =
            serde_yaml::from_str("{actions: [{type: button, text: t, url: u, name: n, confirm: {text: x}}]}")
                .unwrap();
        s.check().unwrap();
        assert!(s.actions[0].name.is_empty() && s.actions[0].confirm.is_none());
        let mut s: SlackConfig = serde_yaml::from_str("{actions: [{type: button, text: t}]}").unwrap();
        assert_eq!(
            s.check().unwrap_err(),
            "missing name or url in Slack action configuration"
        );
    }

    #[test]
    fn raw_configs_print_without_secrets() {
        let v: serde_yaml::Value = serde_yaml::from_str(
            "{api_key: k, message: m, http_config: {authorization: {credentials: c}}, sigv4: {secret_key: s}}",
        )
        .unwrap();
        let y = serde_yaml::to_string(&redact(&v)).unwrap();
        assert!(
            !y.contains(": k") && !y.contains(": c") && !y.contains(": s"),
            "{y}"
        );
        assert!(y.contains("message: m"), "{y}");
    }

    #[test]
    fn twilio_checks() {
        for (yaml, msg) in [
            ("{auth_token: t, from: a, to: b}", "missing account_sid"),
            (
                "{account_sid: s, from: a, to: b}",
                "one of auth_token or auth_token_file",
            ),
            (
                "{account_sid: s, auth_token: t, auth_token_file: f, from: a, to: b}",
                "at most one of auth_token",
            ),
            ("{account_sid: s, auth_token: t, to: b}", "missing from"),
            ("{account_sid: s, auth_token: t, from: a}", "missing to"),
        ] {
            let c: TwilioConfig = serde_yaml::from_str(yaml).unwrap();
            assert!(c.check().unwrap_err().contains(msg), "{yaml}");
        }
        assert!(serde_yaml::from_str::<TwilioConfig>("{mode: fax}").is_err());
        let c: TwilioConfig = serde_yaml::from_str("{mode: call}").unwrap();
        assert_eq!(c.mode, TwilioMode::Call);
    }
}
