//! Collection by pull: Prometheus's `scrape_configs` and the relabeling that shapes targets and the
//! series scraped from them. No IO here; the scrape loop lives with the server and the agent.

pub mod md5;
pub mod relabel;
