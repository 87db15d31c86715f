//! Where the member list for target sharding comes from: a static list, or etcd, where each member
//! keeps a key under a prefix alive with a lease. A member that crashes stops renewing and its key
//! expires with the lease, so the others take over its targets by themselves; a member that stops
//! cleanly revokes its lease and leaves at once.
//!
//! etcd is reached through its JSON gateway (`/v3/...`, etcd 3.4 and later) with the HTTP client
//! Pharos already has, rather than gRPC.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use scrape::Membership;
use serde_json::{Value, json};
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// How the member list is found.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    Static(Vec<String>),
    Etcd(Etcd),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Etcd {
    /// Base URLs, e.g. `http://127.0.0.1:2379`; tried in order.
    pub endpoints: Vec<String>,
    /// Members register as `<prefix><name>`.
    pub prefix: String,
    /// A crashed member drops out within this time.
    pub lease_ttl: Duration,
    /// How often the member list is read.
    pub refresh: Duration,
}

/// Runs the membership source; stop it with [`Members::stop`] to leave the group cleanly.
pub struct Members {
    task: Option<JoinHandle<()>>,
    leave: Option<(EtcdClient, Arc<parking_lot::Mutex<Option<i64>>>)>,
}

impl Members {
    /// Starts feeding `set` with the membership as `me` sees it. With etcd, `set` first gets a
    /// membership of `me` alone (every target scraped) until etcd answers, so an unreachable etcd
    /// never stops collection.
    pub fn start(me: String, source: Source, set: impl Fn(Membership) + Send + Sync + 'static) -> Members {
        match source {
            Source::Static(list) => {
                let m = Membership::new(&me, list);
                info!(member = %me, members = m.len(), "targets shared among a static member list");
                set(m);
                Members {
                    task: None,
                    leave: None,
                }
            }
            Source::Etcd(cfg) => {
                set(Membership::new(&me, Vec::new()));
                let client = EtcdClient::new(cfg.endpoints.clone());
                let lease = Arc::new(parking_lot::Mutex::new(None));
                let task = tokio::spawn(run_etcd(me, cfg, client.clone(), lease.clone(), set));
                Members {
                    task: Some(task),
                    leave: Some((client, lease)),
                }
            }
        }
    }

    /// Stops refreshing and, with etcd, revokes the lease so the other members take over now.
    pub async fn stop(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        if let Some((client, lease)) = self.leave.take() {
            let id = *lease.lock();
            if let Some(id) = id {
                match client
                    .call("/v3/lease/revoke", json!({ "ID": id.to_string() }))
                    .await
                {
                    Ok(_) => info!(lease = id, "left the collector group"),
                    Err(e) => {
                        warn!(error = %e, "could not revoke the etcd lease; the member drops out when it expires")
                    }
                }
            }
        }
    }
}

impl Drop for Members {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn run_etcd(
    me: String,
    cfg: Etcd,
    client: EtcdClient,
    lease: Arc<parking_lot::Mutex<Option<i64>>>,
    set: impl Fn(Membership),
) {
    let key = format!("{}{}", cfg.prefix, me);
    let ttl = cfg.lease_ttl.as_secs().max(2);
    // Renew three times per TTL, so one lost renewal does not expire the key.
    let renew_every = Duration::from_millis(ttl * 1000 / 3);
    let mut last: Option<Vec<String>> = None;
    let mut next_renew = tokio::time::Instant::now();
    let mut warned = false;
    loop {
        let now = tokio::time::Instant::now();
        if now >= next_renew {
            let held = *lease.lock();
            let alive = match held {
                Some(id) => client.keepalive(id).await,
                None => Ok(false),
            };
            match alive {
                Ok(true) => next_renew = now + renew_every,
                Ok(false) | Err(_) => match client.register(&key, &me, ttl).await {
                    Ok(id) => {
                        info!(member = %me, key = %key, lease = id, ttl_seconds = ttl, "registered in etcd");
                        *lease.lock() = Some(id);
                        next_renew = now + renew_every;
                        warned = false;
                    }
                    Err(e) => {
                        if !warned {
                            warn!(error = %e, "etcd unreachable: keeping the last member list and retrying");
                            warned = true;
                        }
                        next_renew = now + Duration::from_secs(1);
                    }
                },
            }
        }
        match client.list(&cfg.prefix).await {
            Ok(members) => {
                if last.as_ref() != Some(&members) {
                    info!(members = ?members, "collector group changed");
                    set(Membership::new(&me, members.clone()));
                    last = Some(members);
                }
            }
            Err(e) => {
                if !warned {
                    warn!(error = %e, "etcd unreachable: keeping the last member list and retrying");
                    warned = true;
                }
            }
        }
        let wake = next_renew.min(tokio::time::Instant::now() + cfg.refresh);
        tokio::time::sleep_until(wake).await;
    }
}

/// The few etcd v3 calls membership needs, over the JSON gateway.
#[derive(Clone)]
struct EtcdClient {
    http: reqwest::Client,
    endpoints: Vec<String>,
}

impl EtcdClient {
    fn new(endpoints: Vec<String>) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(3))
                .build()
                .unwrap_or_default(),
            endpoints: endpoints
                .into_iter()
                .map(|e| e.trim_end_matches('/').to_string())
                .collect(),
        }
    }

    /// Posts `body` to `path` on the first endpoint that answers.
    async fn call(&self, path: &str, body: Value) -> Result<Value, String> {
        let mut last = "no etcd endpoints configured".to_string();
        for e in &self.endpoints {
            match self.http.post(format!("{e}{path}")).json(&body).send().await {
                Ok(r) if r.status().is_success() => {
                    return r.json::<Value>().await.map_err(|e| format!("{path}: {e}"));
                }
                Ok(r) => {
                    let status = r.status();
                    last = format!("{e}{path}: {status}: {}", r.text().await.unwrap_or_default());
                }
                Err(err) => last = format!("{e}{path}: {}", crate::http::describe(err)),
            }
        }
        Err(last)
    }

    /// Grants a lease and puts `key` = `value` under it; returns the lease.
    async fn register(&self, key: &str, value: &str, ttl: u64) -> Result<i64, String> {
        let grant = self
            .call("/v3/lease/grant", json!({ "TTL": ttl.to_string() }))
            .await?;
        let id = int(&grant["ID"]).ok_or_else(|| format!("lease grant answered {grant}"))?;
        self.call(
            "/v3/kv/put",
            json!({ "key": B64.encode(key), "value": B64.encode(value), "lease": id.to_string() }),
        )
        .await?;
        Ok(id)
    }

    /// Renews a lease; `false` once it has expired.
    async fn keepalive(&self, id: i64) -> Result<bool, String> {
        let v = self
            .call("/v3/lease/keepalive", json!({ "ID": id.to_string() }))
            .await?;
        // The gateway streams; one message comes back, under "result". An expired lease has no TTL.
        let ttl = int(&v["result"]["TTL"]).unwrap_or(0);
        Ok(ttl > 0)
    }

    /// The member names registered under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, String> {
        let end = prefix_end(prefix.as_bytes());
        let v = self
            .call(
                "/v3/kv/range",
                json!({ "key": B64.encode(prefix), "range_end": B64.encode(end) }),
            )
            .await?;
        let mut out = Vec::new();
        for kv in v["kvs"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let key = kv["key"]
                .as_str()
                .and_then(|k| B64.decode(k).ok())
                .unwrap_or_default();
            if let Some(name) = key.strip_prefix(prefix.as_bytes())
                && let Ok(name) = String::from_utf8(name.to_vec())
                && !name.is_empty()
            {
                out.push(name);
            }
        }
        out.sort();
        Ok(out)
    }
}

/// The JSON gateway writes 64-bit integers as strings.
fn int(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// The smallest key after every key starting with `prefix` (etcd's range end for a prefix).
fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends() {
        assert_eq!(prefix_end(b"/pharos/"), b"/pharos0");
        assert_eq!(prefix_end(b"a\xff"), b"b");
        assert_eq!(prefix_end(b"\xff"), b"\0");
    }
}
