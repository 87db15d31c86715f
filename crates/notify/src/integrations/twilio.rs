//! The Twilio notifier (Pharos only): a text message through the Messages API, or a voice call
//! reading the message through the Calls API, authenticated with the account SID and token.

use super::client::{Http, Response, read_secret_file};
use super::{Ctx, Notification, SendError, truncate_runes};
use crate::http::HttpConfig;
use crate::receiver::{TwilioConfig, TwilioMode};

/// Twilio's limit on a message body.
const MAX_SMS_RUNES: usize = 1600;

pub(crate) struct Twilio {
    conf: TwilioConfig,
    http: Http,
}

/// `application/x-www-form-urlencoded` as Go's `url.Values.Encode` writes it: keys sorted,
/// unreserved bytes kept, space as `+`.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    let mut pairs = pairs.to_vec();
    pairs.sort_by(|a, b| a.0.cmp(b.0));
    let esc = |s: &str| {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(char::from(b))
                }
                b' ' => out.push('+'),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Text as XML character data.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Twilio's error body: `{"code": 21211, "message": "…", "more_info": …}`.
fn details(r: &Response) -> String {
    #[derive(serde::Deserialize)]
    struct Refusal {
        #[serde(default)]
        code: i64,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_str::<Refusal>(&r.body) {
        Ok(e) if !e.message.is_empty() => format!("twilio error {}: {}", e.code, e.message),
        _ => super::client::body_details(r),
    }
}

impl Twilio {
    pub fn new(c: &TwilioConfig, http: &HttpConfig) -> Result<Twilio, String> {
        Ok(Twilio {
            conf: c.clone(),
            http: Http::new(http)?,
        })
    }

    pub async fn notify(&self, ctx: &Ctx<'_>, n: &Notification) -> Result<(), SendError> {
        let c = &self.conf;
        let data = n.data(ctx.external_url);
        let message = ctx.text(&c.message, &data)?;
        let to = ctx.text(&c.to, &data)?;
        let from = ctx.text(&c.from, &data)?;
        let token = match &c.auth_token {
            Some(t) if !t.is_empty() => t.expose().to_string(),
            _ => read_secret_file(&c.auth_token_file)?,
        };
        let base = c.api_url.as_str().trim_end_matches('/');
        let sid: String = form(&[("", &c.account_sid)]).trim_start_matches('=').to_string();
        let (endpoint, body) = match c.mode {
            TwilioMode::Sms => {
                let (body, _) = truncate_runes(&message, MAX_SMS_RUNES);
                (
                    "Messages.json",
                    form(&[("To", &to), ("From", &from), ("Body", &body)]),
                )
            }
            TwilioMode::Call => {
                let twiml = format!("<Response><Say>{}</Say></Response>", xml_escape(&message));
                (
                    "Calls.json",
                    form(&[("To", &to), ("From", &from), ("Twiml", &twiml)]),
                )
            }
        };
        let url = format!("{base}/2010-04-01/Accounts/{sid}/{endpoint}");
        self.http
            .post(
                &url,
                "application/x-www-form-urlencoded",
                body.into_bytes(),
                Some((&c.account_sid, &token)),
            )
            .await?
            .check(details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_is_gos() {
        assert_eq!(
            form(&[("To", "+1 555"), ("Body", "a&b=c\n")]),
            "Body=a%26b%3Dc%0A&To=%2B1+555"
        );
        assert_eq!(xml_escape("<a & 'b'>"), "&lt;a &amp; &apos;b&apos;&gt;");
    }
}
