//! Discovery providers. Each sends its complete set of target groups whenever it changes: static
//! groups once, files when one of the matched files changes (checked every second) or at the
//! refresh interval, HTTP endpoints at the refresh interval. A provider that fails keeps its last
//! good groups, as Prometheus does.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use scrape::TargetGroup;
use scrape::config::{FileSd, HttpSd};
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use crate::GroupsTx;

pub(crate) fn start_static(id: usize, groups: Vec<TargetGroup>, tx: GroupsTx) -> JoinHandle<()> {
    tokio::spawn(async move {
        let _ = tx.send((id, groups));
    })
}

/// Whether `name` matches a glob pattern of `*`, `?` and literal characters.
fn glob_match(pattern: &[u8], name: &[u8]) -> bool {
    match (pattern.first(), name.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            let rest = pattern.get(1..).unwrap_or_default();
            (0..=name.len()).any(|i| glob_match(rest, name.get(i..).unwrap_or_default()))
        }
        (Some(b'?'), Some(_)) => glob_match(
            pattern.get(1..).unwrap_or_default(),
            name.get(1..).unwrap_or_default(),
        ),
        (Some(p), Some(n)) if p == n => glob_match(
            pattern.get(1..).unwrap_or_default(),
            name.get(1..).unwrap_or_default(),
        ),
        _ => false,
    }
}

/// The files a pattern names; wildcards are allowed in the last path element, as in Prometheus.
fn expand(pattern: &str) -> Vec<PathBuf> {
    let path = Path::new(pattern);
    let Some(file) = path.file_name().and_then(|f| f.to_str()) else {
        return Vec::new();
    };
    if !file.contains(['*', '?']) {
        return vec![path.to_path_buf()];
    }
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| glob_match(file.as_bytes(), n.as_bytes()))
        })
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

type Fingerprint = Vec<(PathBuf, Option<(SystemTime, u64)>)>;

fn fingerprint(patterns: &[String]) -> Fingerprint {
    patterns
        .iter()
        .flat_map(|p| expand(p))
        .map(|p| {
            let meta = std::fs::metadata(&p)
                .ok()
                .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
            (p, meta)
        })
        .collect()
}

pub(crate) fn start_file(id: usize, job: String, sd: FileSd, tx: GroupsTx) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut last: Option<Fingerprint> = None;
        let mut last_read = tokio::time::Instant::now();
        let mut groups_by_file: std::collections::HashMap<PathBuf, Vec<TargetGroup>> =
            std::collections::HashMap::new();
        loop {
            let fp = fingerprint(&sd.files);
            let due = last_read.elapsed() >= Duration::from_millis(sd.refresh_ms);
            if last.as_ref() != Some(&fp) || due {
                last_read = tokio::time::Instant::now();
                let mut next = std::collections::HashMap::new();
                for (path, meta) in &fp {
                    if meta.is_none() {
                        continue;
                    }
                    let name = path.display().to_string();
                    let read = std::fs::read_to_string(path)
                        .map_err(|e| format!("{name}: {e}"))
                        .and_then(|text| scrape::parse_file_sd(&name, &text));
                    match read {
                        Ok(g) => {
                            next.insert(path.clone(), g);
                        }
                        Err(e) => {
                            warn!(job = %job, file = %name, error = %e, "file discovery: keeping the file's last targets");
                            if let Some(old) = groups_by_file.get(path) {
                                next.insert(path.clone(), old.clone());
                            }
                        }
                    }
                }
                groups_by_file = next;
                let mut all: Vec<TargetGroup> = Vec::new();
                let mut paths: Vec<&PathBuf> = groups_by_file.keys().collect();
                paths.sort();
                for p in paths {
                    all.extend(groups_by_file.get(p).cloned().unwrap_or_default());
                }
                debug!(job = %job, groups = all.len(), "file discovery updated");
                if tx.send((id, all)).is_err() {
                    return;
                }
                last = Some(fp);
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

pub(crate) fn start_http(
    id: usize,
    job: String,
    sd: HttpSd,
    client: reqwest::Client,
    tx: GroupsTx,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match fetch_http(&client, &sd).await {
                Ok(groups) => {
                    if tx.send((id, groups)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    warn!(job = %job, url = %sd.url, error = %e, "HTTP discovery failed: keeping the last targets")
                }
            }
            tokio::time::sleep(Duration::from_millis(sd.refresh_ms)).await;
        }
    })
}

async fn fetch_http(client: &reqwest::Client, sd: &HttpSd) -> Result<Vec<TargetGroup>, String> {
    let resp = client
        .get(&sd.url)
        .timeout(Duration::from_secs(30))
        .header(
            "X-Prometheus-Refresh-Interval-Seconds",
            (sd.refresh_ms / 1000).to_string(),
        )
        .send()
        .await
        .map_err(crate::http::describe)?;
    if !resp.status().is_success() {
        return Err(format!("server returned HTTP status {}", resp.status()));
    }
    let ct = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if !ct.to_ascii_lowercase().starts_with("application/json") {
        return Err(format!(
            "unsupported content type {ct:?}: HTTP discovery answers must be application/json"
        ));
    }
    let body = resp.bytes().await.map_err(crate::http::describe)?;
    scrape::parse_http_sd(&sd.url, &body)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match(b"*.json", b"a.json"));
        assert!(glob_match(b"t?.yml", b"t1.yml"));
        assert!(!glob_match(b"*.json", b"a.yml"));
        assert!(glob_match(b"*", b""));
        assert!(!glob_match(b"a", b""));
    }
}
