//! Pharos's Alertmanager-compatible alert manager: the alertmanager.yml format, label matchers,
//! the routing tree, time intervals and inhibition with Alertmanager 0.25–0.27 semantics (pure);
//! the state kept under the data directory (alerts, silences, notification log, outbox); the
//! notification integrations (webhook, email, PagerDuty, Slack, Twilio) with Alertmanager's
//! templates; and the dispatcher that groups, deduplicates and delivers (`dispatch`). The HTTP API
//! lives in the `api` crate.

pub mod config;
pub mod dispatch;
pub mod error;
pub mod http;
pub mod inhibit;
pub mod integrations;
pub mod matchers;
pub mod nflog;
pub mod outbox;
mod persist;
pub mod receiver;
pub mod route;
pub mod silence;
pub mod store;
pub mod timeinterval;
pub mod tmpl;
pub mod types;
pub mod tz;

pub use config::{Config, GlobalConfig, InhibitRuleConfig, NamedTimeInterval, RouteConfig};
pub use dispatch::{AlertView, Alertmanager, GroupView, Options};
pub use error::{Error, Result};
pub use http::{Duration, HostPort, HttpConfig, Secret, SecretUrl, Url};
pub use inhibit::{InhibitRule, is_inhibited};
pub use matchers::{LabelSet, MatchOp, Matcher, parse_matcher, parse_matchers};
pub use nflog::{Entry as NflogEntry, EntryKey as NflogKey, Nflog, needs_update};
pub use outbox::{Outbox, Pending};
pub use receiver::{
    EmailConfig, PagerdutyConfig, Receiver, SlackConfig, TwilioConfig, TwilioMode, WebhookConfig,
};
pub use route::{Route, group_key};
pub use silence::{Silence, SilenceState, Silences};
pub use store::Alerts;
pub use timeinterval::TimeInterval;
pub use types::{Alert, fingerprint};
pub use tz::Location;
