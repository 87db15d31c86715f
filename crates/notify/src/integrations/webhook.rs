//! The webhook notifier: Alertmanager's version 4 JSON message POSTed to the configured URL.

use std::collections::BTreeMap;

use serde::Serialize;

use super::client::{Http, body_details, go_json, read_secret_file};
use super::{Ctx, Notification, SendError};
use crate::http::HttpConfig;
use crate::receiver::WebhookConfig;
use crate::tmpl::{common_annotations, common_labels, go_time, group_status, quote_meta, visible_end};
use crate::types::Alert;

pub(crate) struct Webhook {
    url: Option<String>,
    url_file: String,
    max_alerts: u64,
    http: Http,
}

/// Alertmanager's `webhook.Message`: the template data's fields, then version, group key and
/// the number of alerts left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Message<'a> {
    pub receiver: String,
    pub status: &'static str,
    pub alerts: Vec<AlertJson<'a>>,
    pub group_labels: &'a BTreeMap<String, String>,
    pub common_labels: BTreeMap<String, String>,
    pub common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    pub external_url: &'a str,
    pub version: &'static str,
    pub group_key: &'a str,
    pub truncated_alerts: u64,
}

/// Alertmanager's `template.Alert` as JSON.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AlertJson<'a> {
    pub status: &'static str,
    pub labels: &'a BTreeMap<String, String>,
    pub annotations: &'a BTreeMap<String, String>,
    pub starts_at: String,
    pub ends_at: String,
    #[serde(rename = "generatorURL")]
    pub generator_url: &'a str,
    pub fingerprint: String,
}

/// The message for `alerts` (already cut to `max_alerts`).
pub(crate) fn message<'a>(
    n: &'a Notification,
    alerts: &'a [Alert],
    external_url: &'a str,
    truncated: u64,
) -> Message<'a> {
    Message {
        receiver: quote_meta(&n.receiver),
        status: group_status(alerts, n.now),
        alerts: alerts
            .iter()
            .map(|a| AlertJson {
                status: a.status(n.now),
                labels: &a.labels,
                annotations: &a.annotations,
                starts_at: go_time(a.starts_at).rfc3339_nano(),
                ends_at: visible_end(a, n.now).rfc3339_nano(),
                generator_url: &a.generator_url,
                fingerprint: format!("{:016x}", a.fingerprint()),
            })
            .collect(),
        group_labels: &n.group_labels,
        common_labels: common_labels(alerts),
        common_annotations: common_annotations(alerts),
        external_url,
        version: "4",
        group_key: &n.group_key,
        truncated_alerts: truncated,
    }
}

impl Webhook {
    pub fn new(c: &WebhookConfig, http: &HttpConfig) -> Result<Webhook, String> {
        Ok(Webhook {
            url: c.url.as_ref().map(|u| u.as_str().to_string()),
            url_file: c.url_file.clone(),
            max_alerts: c.max_alerts,
            http: Http::new(http)?,
        })
    }

    pub async fn notify(&self, ctx: &Ctx<'_>, n: &Notification) -> Result<(), SendError> {
        let (alerts, truncated) = match usize::try_from(self.max_alerts) {
            Ok(max) if max > 0 && n.alerts.len() > max => (&n.alerts[..max], (n.alerts.len() - max) as u64),
            _ => (&n.alerts[..], 0),
        };
        let body = go_json(&message(n, alerts, ctx.external_url, truncated))?;
        let url = match &self.url {
            Some(u) => u.clone(),
            None => read_secret_file(&self.url_file)?,
        };
        self.http
            .post(&url, "application/json", body, None)
            .await?
            .check(body_details)
    }
}
