//! The built-in alert manager end to end: rules fire into it, it routes and delivers to a webhook
//! receiver (a real HTTP server here, recording every request), Debian's `amtool` drives its API v2,
//! a real Prometheus posts alerts to it, and notifications survive a receiver outage and a
//! `kill -9` of Pharos while they are pending.

#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, client, free_port};
use serde_json::Value;

/// An HTTP receiver that records the JSON bodies POSTed to it. `down` makes it refuse connections
/// by closing its listener; `up` listens again on the same port.
struct Hook {
    port: u16,
    bodies: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hook {
    fn start(port: u16) -> Hook {
        let mut h = Hook {
            port,
            bodies: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        h.up();
        h
    }

    fn up(&mut self) {
        let listener = loop {
            match TcpListener::bind(("127.0.0.1", self.port)) {
                Ok(l) => break l,
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        };
        listener.set_nonblocking(true).unwrap();
        self.stop.store(false, Ordering::SeqCst);
        let (bodies, stop) = (self.bodies.clone(), self.stop.clone());
        self.thread = Some(std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
                        let mut r = BufReader::new(s.try_clone().unwrap());
                        let mut len = 0usize;
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).unwrap_or(0) == 0 {
                                break;
                            }
                            let l = line.trim_end();
                            if l.is_empty() {
                                break;
                            }
                            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                                len = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0; len];
                        if r.read_exact(&mut body).is_ok() {
                            if let Ok(v) = serde_json::from_slice(&body) {
                                bodies.lock().unwrap().push(v);
                            }
                            let _ = s.write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                            );
                        }
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }));
    }

    fn down(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.down();
    }
}

fn wait_until<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn write_setup(dir: &std::path::Path, hook_port: u16, rules: &str, group_interval: &str) {
    std::fs::write(
        dir.join("pharos.yml"),
        "global:\n  evaluation_interval: 1s\n  external_labels: {region: test}\nrule_files: [rules.yml]\nalertmanager:\n  config_file: am.yml\n",
    )
    .unwrap();
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    std::fs::write(
        dir.join("am.yml"),
        format!(
            r#"route:
  receiver: hook
  group_by: [alertname]
  group_wait: 0s
  group_interval: {group_interval}
  repeat_interval: 1h
  routes:
    - matchers: ['severity="P0"']
      receiver: pager
    - matchers: ['alertname="Muted"']
      receiver: hook
      mute_time_intervals: [always]
time_intervals:
  - name: always
    time_intervals:
      - times:
          - start_time: '00:00'
            end_time: '24:00'
receivers:
  - name: hook
    webhook_configs:
      - url: http://127.0.0.1:{hook_port}/hook
  - name: pager
inhibit_rules:
  - source_matchers: ['alertname="Outage"']
    target_matchers: ['alertname="Symptom"']
"#
        ),
    )
    .unwrap();
}

fn start(dir: &std::path::Path) -> Server {
    let cfg = dir.join("pharos.yml");
    Server::start(&dir.join("data"), &["--config", cfg.to_str().unwrap()])
}

/// amtool as an operator runs it against the server; `None` (with a notice) when not installed.
fn amtool() -> Option<&'static str> {
    if Command::new("amtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some("amtool");
    }
    assert!(
        !common::peers_required(),
        "PHAROS_REQUIRE_PEERS=1 but Debian's amtool is not installed"
    );
    eprintln!("NOTICE: amtool not installed; skipping the amtool checks");
    None
}

fn run_amtool(s: &Server, args: &[&str]) -> String {
    let out = Command::new("amtool")
        .arg(format!("--alertmanager.url={}", s.url("")))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "amtool {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const RULES: &str = r#"
groups:
  - name: g
    rules:
      - alert: Always
        expr: vector(1)
        labels: {severity: P2, team: infra}
        annotations: {summary: 'value is {{ $value }}'}
      - alert: Outage
        expr: vector(1)
        labels: {severity: P0}
      - alert: Symptom
        expr: vector(1)
        labels: {severity: P3}
      - alert: Muted
        expr: vector(1)
        labels: {severity: P3}
"#;

#[test]
fn rules_route_to_a_webhook_and_amtool_drives_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let hook = Hook::start(free_port());
    write_setup(dir.path(), hook.port, RULES, "1s");
    let s = start(dir.path());

    // The webhook gets Alertmanager's version-4 payload for the firing rule.
    let body = wait_until("a webhook notification", Duration::from_secs(20), || {
        hook.bodies()
            .into_iter()
            .find(|b| b["groupLabels"]["alertname"] == "Always")
    });
    assert_eq!(body["version"], "4");
    assert_eq!(body["status"], "firing");
    assert_eq!(body["receiver"], "hook");
    assert_eq!(body["groupKey"], r#"{}:{alertname="Always"}"#);
    assert_eq!(body["truncatedAlerts"], 0);
    assert_eq!(body["externalURL"], s.url(""));
    let a = &body["alerts"][0];
    assert_eq!(a["status"], "firing");
    assert_eq!(a["labels"]["team"], "infra");
    assert_eq!(
        a["labels"]["region"], "test",
        "external labels are added to sent alerts"
    );
    assert_eq!(a["annotations"]["summary"], "value is 1");
    assert_eq!(a["endsAt"], "0001-01-01T00:00:00Z");
    assert_eq!(a["fingerprint"].as_str().unwrap().len(), 16);
    assert!(
        a["generatorURL"]
            .as_str()
            .unwrap()
            .contains("/graph?g0.expr=vector%281%29"),
        "{a}"
    );
    // The P0 alert went to the pager receiver (no integrations), and the inhibited Symptom to
    // nobody: the hook saw neither.
    std::thread::sleep(Duration::from_secs(3));
    let names: Vec<String> = hook
        .bodies()
        .iter()
        .map(|b| b["groupLabels"]["alertname"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.contains(&"Outage".to_string()), "{names:?}");
    assert!(!names.contains(&"Symptom".to_string()), "{names:?}");
    assert!(
        !names.contains(&"Muted".to_string()),
        "muted by its route's time interval: {names:?}"
    );
    // Deduplicated: the same firing group is not sent again within the repeat interval.
    assert_eq!(names.iter().filter(|n| *n == "Always").count(), 1, "{names:?}");

    // API v2 directly: the inhibited alert is suppressed and names its inhibitor.
    let c = client();
    let alerts: Vec<Value> = c.get(s.url("/api/v2/alerts")).send().unwrap().json().unwrap();
    let symptom = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "Symptom")
        .unwrap();
    assert_eq!(symptom["status"]["state"], "suppressed");
    let outage = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "Outage")
        .unwrap();
    assert_eq!(symptom["status"]["inhibitedBy"][0], outage["fingerprint"]);
    assert_eq!(outage["receivers"][0]["name"], "pager");
    let groups: Vec<Value> = c
        .get(s.url("/api/v2/alerts/groups"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        groups
            .iter()
            .any(|g| g["receiver"]["name"] == "hook" && g["labels"]["alertname"] == "Always")
    );
    let (status, v) = common::get_json(&c, &s.url("/api/v2/status"), &[]);
    assert_eq!(status, 200);
    assert!(
        v["config"]["original"]
            .as_str()
            .unwrap()
            .contains("receiver: hook"),
        "{v}"
    );

    let Some(_) = amtool() else { return };
    // amtool alert query: the active alerts, without the suppressed one.
    let out = run_amtool(&s, &["alert", "query"]);
    assert!(out.contains("Always") && out.contains("Outage"), "{out}");
    assert!(!out.contains("Symptom"), "{out}");
    let out = run_amtool(&s, &["alert", "query", "--inhibited"]);
    assert!(out.contains("Symptom"), "{out}");
    // config show / routes test read the running config.
    let out = run_amtool(&s, &["config", "show"]);
    assert!(out.contains("webhook_configs"), "{out}");
    assert_eq!(
        run_amtool(&s, &["config", "routes", "test", "severity=P0"]).trim(),
        "pager"
    );
    assert_eq!(
        run_amtool(&s, &["config", "routes", "test", "severity=P2"]).trim(),
        "hook"
    );
    // Silences: add, query, the alert is suppressed, expire.
    let id = run_amtool(
        &s,
        &[
            "silence",
            "add",
            "alertname=Always",
            "--comment",
            "maintenance",
            "--duration",
            "1h",
        ],
    );
    let id = id.trim().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let out = run_amtool(&s, &["silence", "query"]);
    assert!(
        out.contains(&id) && out.contains("maintenance") && out.contains(r#"alertname="Always""#),
        "{out}"
    );
    let out = run_amtool(&s, &["alert", "query", "--silenced"]);
    assert!(out.contains("Always") && out.contains("suppressed"), "{out}");
    run_amtool(&s, &["silence", "expire", &id]);
    let out = run_amtool(&s, &["silence", "query"]);
    assert!(
        !out.contains(&id),
        "expired silences are not listed by default: {out}"
    );
    let out = run_amtool(&s, &["silence", "query", "--expired"]);
    assert!(out.contains(&id), "{out}");
    // Import: the JSON amtool exports is taken back.
    let exported = run_amtool(&s, &["silence", "query", "--expired", "-o", "json"]);
    let file = dir.path().join("silences.json");
    let mut list: Vec<Value> = serde_json::from_str(&exported).unwrap();
    for sil in &mut list {
        sil.as_object_mut().unwrap().remove("id");
        sil["endsAt"] = Value::String("2099-01-01T00:00:00Z".into());
    }
    std::fs::write(&file, serde_json::to_string(&list).unwrap()).unwrap();
    run_amtool(&s, &["silence", "import", file.to_str().unwrap()]);
    let out = run_amtool(&s, &["silence", "query"]);
    assert!(out.contains("maintenance"), "{out}");
    // Bad input is refused with a message.
    let r = c
        .post(s.url("/api/v2/alerts"))
        .header("content-type", "application/json")
        .body(r#"[{"labels":{}}]"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("at least one label pair required"));
}

#[test]
fn notifications_survive_a_receiver_outage_and_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let mut hook = Hook::start(free_port());
    hook.down();
    // Each alert name is its own group: three notifications to deliver.
    let rules = r#"
groups:
  - name: g
    rules:
      - alert: A
        expr: vector(1)
      - alert: B
        expr: vector(2)
      - alert: C
        expr: vector(3)
"#;
    write_setup(dir.path(), hook.port, rules, "1s");
    let s = start(dir.path());
    // The receiver is down: the notifications wait in the outbox, retried.
    let outbox = dir.path().join("data/alertmanager/outbox");
    wait_until("three pending notifications", Duration::from_secs(20), || {
        let n = std::fs::read_dir(&outbox)
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "json")
                })
                .count()
            })
            .unwrap_or(0);
        (n >= 3).then_some(())
    });
    // The receiver stays down this long in all (`PHAROS_AM_OUTAGE_SECONDS`, 10 s in the test
    // command; minutes when run by hand), the server crashing in the middle of it.
    let outage = std::env::var("PHAROS_AM_OUTAGE_SECONDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(10)
        .max(6);
    let down_since = Instant::now();
    std::thread::sleep(Duration::from_secs(outage / 2));
    assert!(hook.bodies().is_empty());
    // A silence (for an alert that does not exist) must survive the crash too.
    let c = client();
    let sil: Value = c
        .post(s.url("/api/v2/silences"))
        .json(&serde_json::json!({
            "matchers": [{"name": "alertname", "value": "Elsewhere", "isRegex": false, "isEqual": true}],
            "startsAt": "2020-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "test",
            "comment": "survives kill -9",
        }))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let silence_id = sil["silenceID"].as_str().unwrap().to_string();
    // Crash with the notifications pending, come back, then the receiver comes back.
    s.kill9();
    let s = start(dir.path());
    let sil: Value = c
        .get(s.url(&format!("/api/v2/silence/{silence_id}")))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(sil["comment"], "survives kill -9");
    assert_eq!(sil["status"]["state"], "active");
    let rest = Duration::from_secs(outage).saturating_sub(down_since.elapsed());
    std::thread::sleep(rest);
    assert!(hook.bodies().is_empty());
    hook.up();
    let got = wait_until("every notification", Duration::from_secs(30), || {
        let b = hook.bodies();
        let mut names: Vec<String> = b
            .iter()
            .map(|x| x["groupLabels"]["alertname"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names.dedup();
        (names == ["A", "B", "C"]).then_some(b)
    });
    // Each group once: delivered, logged, not repeated after the restart.
    std::thread::sleep(Duration::from_secs(3));
    let b = hook.bodies();
    assert_eq!(b.len(), 3, "each group exactly once: {got:?} then {b:?}");
    let pending = std::fs::read_dir(&outbox)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "json")
        })
        .count();
    assert_eq!(pending, 0, "the outbox is empty once delivered");
    drop(s);
}

#[test]
fn prometheus_sends_its_alerts_to_pharos() {
    let Some(bin) = common::prometheus_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hook = Hook::start(free_port());
    write_setup(dir.path(), hook.port, "groups: []\n", "1s");
    let s = start(dir.path());
    let rules = dir.path().join("prom-rules.yml");
    std::fs::write(
        &rules,
        "groups:\n  - name: p\n    rules:\n      - alert: FromPrometheus\n        expr: vector(1)\n        labels: {severity: P2}\n        annotations: {summary: sent by prometheus}\n",
    )
    .unwrap();
    let port = free_port();
    let config = format!(
        "global:\n  evaluation_interval: 1s\nrule_files: ['{}']\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{}']\n",
        rules.display(),
        s.addr
    );
    let _prom = common::Prom::start(bin, dir.path(), port, &config, &["--rules.alert.resend-delay=1s"]);
    let body = wait_until(
        "Prometheus's alert at the webhook",
        Duration::from_secs(30),
        || {
            hook.bodies()
                .into_iter()
                .find(|b| b["groupLabels"]["alertname"] == "FromPrometheus")
        },
    );
    let a = &body["alerts"][0];
    assert_eq!(a["annotations"]["summary"], "sent by prometheus");
    assert_eq!(a["labels"]["severity"], "P2");
    assert!(
        a["generatorURL"]
            .as_str()
            .unwrap()
            .contains(&format!(":{port}/graph")),
        "{a}"
    );
}

#[test]
fn a_new_server_ships_rules_self_metrics_and_severity_routes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start_default(&dir.path().join("data"), &[]);
    let c = client();
    // The built-in rule groups run from the binary.
    let (_, v) = common::get_json(&c, &s.url("/api/v1/rules"), &[]);
    let groups = v["data"]["groups"].as_array().unwrap();
    let names: Vec<&str> = groups.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"pharos-host") && names.contains(&"pharos-self"),
        "{names:?}"
    );
    assert!(groups.iter().any(|g| g["file"] == "builtin/host.yml"));
    // Pharos scrapes its own metrics, which the self rules read.
    wait_until("the self-metrics job", Duration::from_secs(30), || {
        let (_, v) = common::get_json(&c, &s.url("/api/v1/query"), &[("query", r#"up{job="pharos"}"#)]);
        (v["data"]["result"][0]["value"][1] == "1").then_some(())
    });
    let (_, v) = common::get_json(
        &c,
        &s.url("/api/v1/query"),
        &[("query", r#"pharos_tsdb_wal_failures_total{job="pharos"}"#)],
    );
    assert_eq!(v["data"]["result"][0]["value"][1], "0", "{v}");
    // The default routes send P0/P1 to `page` and the rest to `chat`.
    let (_, v) = common::get_json(&c, &s.url("/api/v2/status"), &[]);
    let cfg = v["config"]["original"].as_str().unwrap();
    assert!(
        cfg.contains("receiver: page") && cfg.contains("receiver: chat"),
        "{cfg}"
    );
    if amtool().is_some() {
        assert_eq!(
            run_amtool(&s, &["config", "routes", "test", "severity=P0"]).trim(),
            "page"
        );
        assert_eq!(
            run_amtool(&s, &["config", "routes", "test", "severity=P1"]).trim(),
            "page"
        );
        assert_eq!(
            run_amtool(&s, &["config", "routes", "test", "severity=P3"]).trim(),
            "chat"
        );
    }
}

#[test]
fn example_alertmanager_configs_load() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    for f in ["alertmanager.yml", "alertmanager-phone.yml"] {
        let out = Command::new(env!("CARGO_BIN_EXE_pharos"))
            .args(["check", "alertmanager"])
            .arg(root.join(f))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Our check refuses what Alertmanager refuses, naming the problem.
    let bad = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        bad.path(),
        "route:\n  receiver: nobody\nreceivers:\n  - name: somebody\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pharos"))
        .args(["check", "alertmanager"])
        .arg(bad.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nobody"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    if amtool().is_some() {
        let out = Command::new("amtool")
            .arg("check-config")
            .arg(root.join("alertmanager.yml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }
}
