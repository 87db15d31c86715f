//! Collection by pull: Prometheus's `scrape_configs`, the targets built from what discovery finds,
//! the relabeling that shapes targets and their series, and the per-target state that turns scrape
//! bodies into samples with staleness markers. No IO here; the scrape loop lives with the server
//! and the agent.

pub mod cache;
pub mod config;
pub mod md5;
pub mod relabel;
pub mod shard;
pub mod target;

pub use cache::{Cache, Format, Outcome, Resolve, Settings};
pub use config::{
    GlobalConfig, HttpClientConfig, Job, Limits, Protocol, ScrapeConfigYaml, accept_header, resolve,
};
pub use shard::Membership;
pub use target::{Populated, Target, TargetGroup, parse_file_sd, parse_http_sd, populate};
