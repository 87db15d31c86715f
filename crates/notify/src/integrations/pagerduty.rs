//! The PagerDuty notifier: one Events API v2 event per notification, triggered while any alert
//! fires and resolved after, deduplicated on a hash of the group key. The v1 API
//! (`service_key`) is refused at build time: PagerDuty retired it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::client::{Http, Response, go_json, read_secret_file};
use super::{Ctx, Notification, SendError, sha256_hex, truncate_runes};
use crate::http::{HttpConfig, no_secret};
use crate::receiver::{PagerdutyConfig, PagerdutyImage, PagerdutyLink};
use crate::tmpl::group_status;

/// PagerDuty's limit on an event; beyond it the custom details are replaced by a note.
const MAX_EVENT_SIZE: usize = 512_000;
const MAX_SUMMARY_RUNES: usize = 1024;

pub(crate) struct Pagerduty {
    routing_key: String,
    routing_key_file: String,
    url: String,
    client: String,
    client_url: String,
    description: String,
    details: BTreeMap<String, String>,
    images: Vec<PagerdutyImage>,
    links: Vec<PagerdutyLink>,
    source: String,
    severity: String,
    class: String,
    component: String,
    group: String,
    http: Http,
}

#[derive(Serialize)]
struct Event {
    routing_key: String,
    dedup_key: String,
    event_action: &'static str,
    payload: Payload,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

#[derive(Serialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    custom_details: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Image {
    src: String,
    alt: String,
    href: String,
}

#[derive(Serialize)]
struct Link {
    href: String,
    text: String,
}

/// PagerDuty's 400 body names what it refused.
fn details(r: &Response) -> String {
    if r.status != 400 {
        return String::new();
    }
    #[derive(serde::Deserialize)]
    struct Refusal {
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<String>,
    }
    match serde_json::from_str::<Refusal>(&r.body) {
        Ok(p) => format!("{}: {}", p.message, p.errors.join(",")),
        Err(_) => String::new(),
    }
}

impl Pagerduty {
    pub fn new(c: &PagerdutyConfig, http: &HttpConfig) -> Result<Pagerduty, String> {
        if !no_secret(&c.service_key) || !c.service_key_file.is_empty() {
            return Err(
                "service_key (PagerDuty Events API v1) is not supported; use routing_key (Events API v2)"
                    .to_string(),
            );
        }
        let Some(url) = &c.url else {
            return Err("no PagerDuty URL set".to_string());
        };
        Ok(Pagerduty {
            routing_key: c
                .routing_key
                .as_ref()
                .map(|k| k.expose().to_string())
                .unwrap_or_default(),
            routing_key_file: c.routing_key_file.clone(),
            url: url.as_str().to_string(),
            client: c.client.clone(),
            client_url: c.client_url.clone(),
            description: c.description.clone(),
            details: c.details.clone(),
            images: c.images.clone(),
            links: c.links.clone(),
            source: if c.source.is_empty() {
                c.client.clone()
            } else {
                c.source.clone()
            },
            severity: if c.severity.is_empty() {
                "error".to_string()
            } else {
                c.severity.clone()
            },
            class: c.class.clone(),
            component: c.component.clone(),
            group: c.group.clone(),
            http: Http::new(http)?,
        })
    }

    pub async fn notify(&self, ctx: &Ctx<'_>, n: &Notification) -> Result<(), SendError> {
        let data = n.data(ctx.external_url);
        let t = |s: &str| ctx.text(s, &data);
        let mut custom_details = BTreeMap::new();
        for (k, v) in &self.details {
            let d = ctx
                .text(v, &data)
                .map_err(|e| SendError::Permanent(format!("{k:?}: failed to template {v:?}: {e}")))?;
            custom_details.insert(k.clone(), d);
        }
        let key = if self.routing_key_file.is_empty() {
            self.routing_key.clone()
        } else {
            read_secret_file(&self.routing_key_file)?
        };
        let mut images = Vec::new();
        for i in &self.images {
            let img = Image {
                src: t(&i.src)?,
                alt: t(&i.alt)?,
                href: t(&i.href)?,
            };
            if !img.src.is_empty() {
                images.push(img);
            }
        }
        let mut links = Vec::new();
        for l in &self.links {
            let link = Link {
                href: t(&l.href)?,
                text: t(&l.text)?,
            };
            if !link.href.is_empty() {
                links.push(link);
            }
        }
        let mut event = Event {
            routing_key: t(&key)?,
            dedup_key: sha256_hex(n.group_key.as_bytes()),
            event_action: if group_status(&n.alerts, n.now) == "resolved" {
                "resolve"
            } else {
                "trigger"
            },
            payload: Payload {
                summary: truncate_runes(&t(&self.description)?, MAX_SUMMARY_RUNES).0,
                source: t(&self.source)?,
                severity: t(&self.severity)?,
                class: t(&self.class)?,
                component: t(&self.component)?,
                group: t(&self.group)?,
                custom_details,
            },
            client: t(&self.client)?,
            client_url: t(&self.client_url)?,
            images,
            links,
        };
        if event.routing_key.is_empty() {
            return Err(SendError::Permanent("routing key cannot be empty".to_string()));
        }
        let mut body = go_json(&event)?;
        if body.len() > MAX_EVENT_SIZE {
            tracing::warn!(
                size = body.len(),
                limit = MAX_EVENT_SIZE,
                "pagerduty event too large, custom details removed"
            );
            event.payload.custom_details = BTreeMap::from([(
                "error".to_string(),
                "Custom details have been removed because the original event exceeds the maximum size of 512kB"
                    .to_string(),
            )]);
            body = go_json(&event)?;
        }
        self.http
            .post(&self.url, "application/json", body, None)
            .await?
            .check(details)
    }
}
