//! The Slack notifier: one message with one attachment, as Alertmanager posts it to an incoming
//! webhook (or `chat.postMessage`, whose JSON errors it also reads).

use serde::Serialize;

use super::client::{Http, body_details, go_json, read_secret_file};
use super::{Ctx, Notification, SendError, truncate_runes};
use crate::http::HttpConfig;
use crate::receiver::{SlackAction, SlackConfig, SlackConfirmation};

const MAX_TITLE_RUNES: usize = 1024;

pub(crate) struct Slack {
    conf: SlackConfig,
    api_url: Option<String>,
    http: Http,
}

#[derive(Serialize)]
struct Request {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    link_names: bool,
    attachments: Vec<Attachment>,
}

#[derive(Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    text: String,
    fallback: String,
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<SlackAction>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mrkdwn_in: Vec<String>,
}

#[derive(Serialize)]
struct Field {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    short: bool,
}

impl Slack {
    pub fn new(c: &SlackConfig, http: &HttpConfig) -> Result<Slack, String> {
        let api_url = c.api_url.as_ref().map(|u| u.expose().to_string());
        if api_url.is_none() && c.api_url_file.is_empty() {
            return Err("no Slack API URL set either inline or in a file".to_string());
        }
        Ok(Slack {
            conf: c.clone(),
            api_url,
            http: Http::new(http)?,
        })
    }

    pub async fn notify(&self, ctx: &Ctx<'_>, n: &Notification) -> Result<(), SendError> {
        let c = &self.conf;
        let data = n.data(ctx.external_url);
        let t = |s: &str| ctx.text(s, &data);
        let mut fields = Vec::with_capacity(c.fields.len());
        for f in &c.fields {
            fields.push(Field {
                title: t(&f.title)?,
                value: t(&f.value)?,
                short: f.short.unwrap_or(c.short_fields),
            });
        }
        let mut actions = Vec::with_capacity(c.actions.len());
        for a in &c.actions {
            let confirm = match &a.confirm {
                Some(cf) => Some(SlackConfirmation {
                    text: t(&cf.text)?,
                    title: t(&cf.title)?,
                    ok_text: t(&cf.ok_text)?,
                    dismiss_text: t(&cf.dismiss_text)?,
                }),
                None => None,
            };
            actions.push(SlackAction {
                kind: t(&a.kind)?,
                text: t(&a.text)?,
                url: t(&a.url)?,
                style: t(&a.style)?,
                name: t(&a.name)?,
                value: t(&a.value)?,
                confirm,
            });
        }
        let attachment = Attachment {
            title: truncate_runes(&t(&c.title)?, MAX_TITLE_RUNES).0,
            title_link: t(&c.title_link)?,
            pretext: t(&c.pretext)?,
            text: t(&c.text)?,
            fallback: t(&c.fallback)?,
            callback_id: t(&c.callback_id)?,
            fields,
            actions,
            image_url: t(&c.image_url)?,
            thumb_url: t(&c.thumb_url)?,
            footer: t(&c.footer)?,
            color: t(&c.color)?,
            mrkdwn_in: if c.mrkdwn_in.is_empty() {
                vec!["fallback".to_string(), "pretext".to_string(), "text".to_string()]
            } else {
                c.mrkdwn_in.clone()
            },
        };
        let req = Request {
            channel: t(&c.channel)?,
            username: t(&c.username)?,
            icon_emoji: t(&c.icon_emoji)?,
            icon_url: t(&c.icon_url)?,
            link_names: c.link_names,
            attachments: vec![attachment],
        };
        let body = go_json(&req)?;
        let url = match &self.api_url {
            Some(u) => u.clone(),
            None => read_secret_file(&c.api_url_file)?,
        };
        let channel = req.channel.clone();
        let resp = self.http.post(&url, "application/json", body, None).await?;
        resp.check(body_details).map_err(|e| in_channel(&channel, e))?;
        // The Web API answers 200 with `{"ok": false, "error": …}` when it refuses a message.
        if resp.content_type.starts_with("application/json") {
            #[derive(serde::Deserialize)]
            struct Answer {
                #[serde(default)]
                ok: bool,
                #[serde(default)]
                error: String,
            }
            match serde_json::from_str::<Answer>(&resp.body) {
                Ok(a) if !a.ok => {
                    return Err(SendError::Permanent(format!(
                        "channel {channel:?}: error response from Slack: {}",
                        a.error
                    )));
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(SendError::Retry(format!(
                        "channel {channel:?}: could not unmarshal JSON response {:?}: {e}",
                        resp.body
                    )));
                }
            }
        }
        Ok(())
    }
}

fn in_channel(channel: &str, e: SendError) -> SendError {
    match e {
        SendError::Retry(m) => SendError::Retry(format!("channel {channel:?}: {m}")),
        SendError::Permanent(m) => SendError::Permanent(format!("channel {channel:?}: {m}")),
    }
}
