//! Sending one notification through one configured notifier (webhook, email, PagerDuty, Slack,
//! Twilio) in the wire format Alertmanager uses, with its retry classification. One call is one
//! attempt: grouping, deduplication, `send_resolved` filtering and retrying belong to the caller.

mod client;
mod email;
mod pagerduty;
pub mod retry;
mod slack;
mod twilio;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
pub use crate::error::SendError;
use crate::error::{Error, Result};
use crate::matchers::LabelSet;
use crate::receiver::Receiver;
use crate::tmpl::Templates;
use crate::types::Alert;
pub use client::sha256_hex;
pub use retry::{Backoff, NotifyMetrics};

/// How long one attempt may take unless [`Integration::set_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// What `User-Agent` notification requests carry.
pub const USER_AGENT: &str = concat!("Pharos/", env!("CARGO_PKG_VERSION"));

/// One notification: a group's alerts, sent to one receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub receiver: String,
    /// The aggregation group's key (`{}/{…}:{alertname="x"}`); PagerDuty's dedup key hashes it.
    pub group_key: String,
    pub group_labels: LabelSet,
    /// Sent as given: the caller drops resolved alerts when the integration does not send them.
    pub alerts: Vec<Alert>,
    /// When the notification is made (Unix ms): decides which alerts are resolved.
    pub now: i64,
}

impl Notification {
    /// Alertmanager's template data for this notification.
    pub fn data(&self, external_url: &str) -> template::Value {
        crate::tmpl::data(
            &self.receiver,
            &self.group_labels,
            &self.alerts,
            external_url,
            self.now,
        )
    }
}

/// What every integration's attempt gets besides the notification.
pub(crate) struct Ctx<'a> {
    pub templates: &'a Templates,
    pub external_url: &'a str,
}

impl Ctx<'_> {
    /// A template error is the config's fault: retrying renders it the same way.
    pub fn text(&self, text: &str, data: &template::Value) -> Result<String, SendError> {
        self.templates
            .execute_text(text, data)
            .map_err(|e| SendError::Permanent(format!("template: {e}")))
    }

    pub fn html(&self, text: &str, data: &template::Value) -> Result<String, SendError> {
        self.templates
            .execute_html(text, data)
            .map_err(|e| SendError::Permanent(format!("template: {e}")))
    }
}

enum Kind {
    Webhook(Box<webhook::Webhook>),
    Email(Box<email::Email>),
    Pagerduty(Box<pagerduty::Pagerduty>),
    Slack(Box<slack::Slack>),
    Twilio(Box<twilio::Twilio>),
}

/// One notifier of a receiver, ready to send.
pub struct Integration {
    name: &'static str,
    index: u32,
    send_resolved: bool,
    receiver: String,
    timeout: Duration,
    templates: Arc<Templates>,
    external_url: String,
    kind: Kind,
}

impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("receiver", &self.receiver)
            .field("name", &self.name)
            .field("index", &self.index)
            .field("send_resolved", &self.send_resolved)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Integration {
    /// `webhook`, `email`, `pagerduty`, `slack` or `twilio`, as Alertmanager's `integration`
    /// metric label names them.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The position of this config among the receiver's configs of the same type.
    pub fn index(&self) -> u32 {
        self.index
    }

    pub fn send_resolved(&self) -> bool {
        self.send_resolved
    }

    pub fn receiver(&self) -> &str {
        &self.receiver
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Bounds one attempt (connect, TLS, request and response) as a whole.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    /// One attempt to deliver `n`. Errors say whether another attempt may succeed.
    pub async fn notify(&self, n: &Notification) -> Result<(), SendError> {
        let ctx = Ctx {
            templates: &self.templates,
            external_url: &self.external_url,
        };
        let attempt = async {
            match &self.kind {
                Kind::Webhook(w) => w.notify(&ctx, n).await,
                Kind::Email(e) => e.notify(&ctx, n).await,
                Kind::Pagerduty(p) => p.notify(&ctx, n).await,
                Kind::Slack(s) => s.notify(&ctx, n).await,
                Kind::Twilio(t) => t.notify(&ctx, n).await,
            }
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(r) => r,
            Err(_) => Err(SendError::Retry(format!(
                "{}[{}]: timed out after {:?}",
                self.name, self.index, self.timeout
            ))),
        }
    }
}

/// The integrations of `receiver`, one per configured notifier, in Alertmanager's order
/// (webhook, email, PagerDuty, Slack; then Twilio). `cfg` is the loaded config the receiver
/// comes from, with the globals already filled in; `external_url` is what templates see as
/// `.ExternalURL`.
pub fn build(
    receiver: &Receiver,
    cfg: &Config,
    templates: Arc<Templates>,
    external_url: &str,
) -> Result<Vec<Integration>> {
    let mut out = Vec::new();
    let global_http = &cfg.global.http_config;
    let mut push =
        |name: &'static str, index: usize, send_resolved: bool, kind: std::result::Result<Kind, String>| {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let kind = kind.map_err(|reason| Error::Integration {
                receiver: receiver.name.clone(),
                integration: name,
                index,
                reason,
            })?;
            out.push(Integration {
                name,
                index,
                send_resolved,
                receiver: receiver.name.clone(),
                timeout: DEFAULT_TIMEOUT,
                templates: templates.clone(),
                external_url: external_url.to_string(),
                kind,
            });
            Ok::<(), Error>(())
        };
    for (i, c) in receiver.webhook_configs.iter().enumerate() {
        let http = c.http_config.as_ref().unwrap_or(global_http);
        push(
            "webhook",
            i,
            c.send_resolved,
            webhook::Webhook::new(c, http).map(|w| Kind::Webhook(Box::new(w))),
        )?;
    }
    for (i, c) in receiver.email_configs.iter().enumerate() {
        push(
            "email",
            i,
            c.send_resolved,
            email::Email::new(c).map(|e| Kind::Email(Box::new(e))),
        )?;
    }
    for (i, c) in receiver.pagerduty_configs.iter().enumerate() {
        let http = c.http_config.as_ref().unwrap_or(global_http);
        push(
            "pagerduty",
            i,
            c.send_resolved,
            pagerduty::Pagerduty::new(c, http).map(|p| Kind::Pagerduty(Box::new(p))),
        )?;
    }
    for (i, c) in receiver.slack_configs.iter().enumerate() {
        let http = c.http_config.as_ref().unwrap_or(global_http);
        push(
            "slack",
            i,
            c.send_resolved,
            slack::Slack::new(c, http).map(|s| Kind::Slack(Box::new(s))),
        )?;
    }
    for (i, c) in receiver.twilio_configs.iter().enumerate() {
        let http = c.http_config.as_ref().unwrap_or(global_http);
        push(
            "twilio",
            i,
            c.send_resolved,
            twilio::Twilio::new(c, http).map(|t| Kind::Twilio(Box::new(t))),
        )?;
    }
    Ok(out)
}

/// Alertmanager's `TruncateInRunes`: at most `n` characters, the last one an ellipsis when cut.
pub fn truncate_runes(s: &str, n: usize) -> (String, bool) {
    if s.chars().count() <= n {
        return (s.to_string(), false);
    }
    if n <= 3 {
        return (s.chars().take(n).collect(), true);
    }
    let mut out: String = s.chars().take(n - 1).collect();
    out.push('…');
    (out, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_matches_alertmanager() {
        assert_eq!(truncate_runes("abcdef", 6), ("abcdef".to_string(), false));
        assert_eq!(truncate_runes("abcdef", 5), ("abcd…".to_string(), true));
        assert_eq!(truncate_runes("äöüäöü", 3), ("äöü".to_string(), true));
    }
}
