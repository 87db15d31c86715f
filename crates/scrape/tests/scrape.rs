//! Scrape configuration, target building and per-target scrape state, checked against what
//! Prometheus does for the same input.

#![allow(clippy::unwrap_used)]

use model::{Sample, is_stale_nan};
use scrape::config::{GlobalConfig, ScrapeConfigYaml};
use scrape::{Cache, Format, Populated, Resolve, Settings, populate, resolve};

fn jobs(yaml: &str) -> Result<Vec<scrape::Job>, String> {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        global: GlobalConfig,
        scrape_configs: Vec<ScrapeConfigYaml>,
    }
    let d: Doc = serde_yaml::from_str(yaml).map_err(|e| e.to_string())?;
    resolve(&d.global, &d.scrape_configs).map_err(|e| e.to_string())
}

fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
    p.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

#[test]
fn defaults_follow_prometheus() {
    let j = jobs("scrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['a:9100']\n")
        .unwrap();
    let j = &j[0];
    assert_eq!((j.interval_ms, j.timeout_ms), (60_000, 10_000));
    assert_eq!((j.metrics_path.as_str(), j.scheme.as_str()), ("/metrics", "http"));
    assert!(j.honor_timestamps && !j.honor_labels && j.enable_compression);
    // A job interval below the global timeout caps the timeout.
    let j =
        jobs("global: {scrape_interval: 15s}\nscrape_configs:\n  - job_name: x\n    scrape_interval: 5s\n")
            .unwrap();
    assert_eq!((j[0].interval_ms, j[0].timeout_ms), (5_000, 5_000));
    let j = jobs("global: {scrape_interval: 15s, scrape_timeout: 3s}\nscrape_configs:\n  - job_name: x\n")
        .unwrap();
    assert_eq!((j[0].interval_ms, j[0].timeout_ms), (15_000, 3_000));
}

#[test]
fn connections_are_watched_unless_turned_off_or_proxied() {
    let j = jobs(
        "scrape_configs:\n  - job_name: a\n  - job_name: b\n    watch_connection: false\n  \
         - job_name: c\n    proxy_url: http://proxy:3128\n",
    )
    .unwrap();
    let w: Vec<bool> = j.iter().map(|j| j.watch_connection).collect();
    assert_eq!(w, [true, false, false]);
    assert!(!j[0].same_scrape(&scrape::Job {
        watch_connection: false,
        ..j[0].clone()
    }));
}

#[test]
fn config_errors_name_the_job_and_field() {
    let e = jobs("scrape_configs:\n  - job_name: a\n  - job_name: a\n").unwrap_err();
    assert_eq!(e, "found multiple scrape configs with job name \"a\"");
    let e = jobs("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 10s\n")
        .unwrap_err();
    assert_eq!(
        e,
        "scrape timeout greater than scrape interval for scrape config with job name \"a\""
    );
    let e = jobs("scrape_configs:\n  - job_name: a\n    kubernetes_sd_configs: [{role: pod}]\n").unwrap_err();
    assert!(
        e.contains("job \"a\": kubernetes_sd_configs is not supported"),
        "{e}"
    );
    let e = jobs("scrape_configs:\n  - job_name: a\n    scrape_intervall: 5s\n").unwrap_err();
    assert!(e.contains("unknown field `scrape_intervall`"), "{e}");
    let e =
        jobs("scrape_configs:\n  - job_name: a\n    relabel_configs: [{action: hashmod, target_label: x}]\n")
            .unwrap_err();
    assert!(e.starts_with("job \"a\": relabel_configs[0]:"), "{e}");
    let e = jobs("scrape_configs:\n  - job_name: a\n    file_sd_configs: [{files: [targets.txt]}]\n")
        .unwrap_err();
    assert!(e.contains("must end in .json, .yml or .yaml"), "{e}");
    let e = jobs("scrape_configs:\n  - job_name: a\n    body_size_limit: 10 parsecs\n").unwrap_err();
    assert!(e.contains("body_size_limit"), "{e}");
}

#[test]
fn accept_header_prefers_openmetrics() {
    let h = scrape::accept_header(&scrape::config::DEFAULT_PROTOCOLS);
    assert_eq!(
        h,
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.9,\
         text/plain;version=0.0.4;q=0.8,*/*;q=0.1"
    );
}

fn active(p: Populated) -> scrape::Target {
    match p {
        Populated::Active(t) => t,
        other => panic!("not active: {other:?}"),
    }
}

#[test]
fn targets_get_job_defaults_params_and_instance() {
    let j = jobs(
        "scrape_configs:\n  - job_name: blackbox\n    metrics_path: /probe\n    params: {module: [http_2xx]}\n    \
         static_configs: [{targets: ['example.com'], labels: {env: prod}}]\n    relabel_configs:\n      \
         - {source_labels: [__address__], target_label: __param_target}\n      \
         - {source_labels: [__param_target], target_label: instance}\n      \
         - {target_label: __address__, replacement: '127.0.0.1:9115'}\n",
    )
    .unwrap();
    let job = &j[0];
    let g = &job.static_groups[0];
    let t = active(populate(job, g, &g.targets[0]));
    assert_eq!(
        t.url,
        "http://127.0.0.1:9115/probe?module=http_2xx&target=example.com"
    );
    assert_eq!(
        t.visible,
        pairs(&[("env", "prod"), ("instance", "example.com"), ("job", "blackbox")])
    );
    assert!(
        t.discovered
            .contains(&("__scrape_interval__".into(), "1m".into()))
    );
    assert!(
        t.discovered
            .contains(&("__param_module".into(), "http_2xx".into()))
    );
}

#[test]
fn relabeling_drops_and_invalidates_targets() {
    let j = jobs(
        "scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['a:1', 'b:2']}]\n    relabel_configs:\n      \
         - {source_labels: [__address__], regex: 'b:.*', action: drop}\n      \
         - {target_label: __scrape_timeout__, replacement: 2m}\n",
    )
    .unwrap();
    let job = &j[0];
    let g = &job.static_groups[0];
    match populate(job, g, &g.targets[0]) {
        Populated::Invalid(_, e) => assert_eq!(
            e,
            "scrape timeout cannot be greater than scrape interval (\"2m\" > \"1m\")"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(populate(job, g, &g.targets[1]), Populated::Dropped(_)));
    // A URL is a fine address to discover (blackbox targets) but not to scrape.
    let j = jobs("scrape_configs:\n  - job_name: a\n    static_configs: [{targets: ['http://a:1/x']}]\n")
        .unwrap();
    let g = &j[0].static_groups[0];
    match populate(&j[0], g, &g.targets[0]) {
        Populated::Invalid(_, e) => assert_eq!(e, "\"http://a:1/x\" is not a valid hostname"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn file_sd_documents() {
    let yaml = "- targets: ['a:1', 'b:2']\n  labels: {team: x}\n- targets: ['c:3']\n";
    let groups = scrape::parse_file_sd("/etc/sd/t.yml", yaml).unwrap();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0].targets.len(), 2);
    assert_eq!(
        groups[0].labels,
        pairs(&[("__meta_filepath", "/etc/sd/t.yml"), ("team", "x")])
    );
    let json = r#"[{"targets": ["a:1"], "labels": {"x": "y"}}]"#;
    assert_eq!(scrape::parse_file_sd("t.json", json).unwrap()[0].targets.len(), 1);
    let e = scrape::parse_file_sd("t.json", r#"[{"targets": "a:1"}]"#).unwrap_err();
    assert!(e.starts_with("t.json: "), "{e}");
    let e = scrape::parse_http_sd("http://sd/", br#"[{"targets": ["a:1"], "lables": {}}]"#).unwrap_err();
    assert!(e.contains("unknown field `lables`"), "{e}");
}

/// Hands out increasing numbers and remembers the label sets.
#[derive(Default)]
struct Refs(Vec<Vec<(String, String)>>);

impl Resolve for Refs {
    type Ref = usize;
    fn resolve(&mut self, labels: &[(String, String)]) -> Option<usize> {
        if let Some(i) = self.0.iter().position(|l| l == labels) {
            return Some(i);
        }
        self.0.push(labels.to_vec());
        Some(self.0.len() - 1)
    }
}

fn render(refs: &Refs, out: &[(usize, Sample)]) -> Vec<String> {
    let mut v: Vec<String> = out
        .iter()
        .map(|(r, s)| {
            let l: Vec<String> = refs.0[*r].iter().map(|(n, v)| format!("{n}={v}")).collect();
            let v = if is_stale_nan(s.v) {
                "stale".to_string()
            } else {
                s.v.to_string()
            };
            format!("{} {v} @{}", l.join(","), s.t)
        })
        .collect();
    v.sort();
    v
}

fn settings<'a>(
    target: &'a [(String, String)],
    honor: bool,
    rules: &'a [scrape::relabel::Rule],
) -> Settings<'a> {
    Settings {
        target_labels: target,
        honor_labels: honor,
        honor_timestamps: true,
        track_timestamps_staleness: false,
        metric_relabel: rules,
        limits: Default::default(),
    }
}

#[test]
fn series_get_target_labels_and_go_stale() {
    let target = pairs(&[("instance", "h:1"), ("job", "node")]);
    let st = settings(&target, false, &[]);
    let mut refs = Refs::default();
    let mut c = Cache::new();
    let body = b"# HELP a A.\n# TYPE a counter\na{job=\"x\"} 1\nb 2 500\nc{x=\"1\"} 3\n";
    let o = c.scrape(body, Format::PrometheusText, 1000, &st, &mut refs);
    assert_eq!(o.error, None);
    assert_eq!((o.scraped, o.post_relabel, o.series_added), (3, 3, 3));
    assert_eq!(
        render(&refs, &o.samples),
        vec![
            "__name__=a,exported_job=x,instance=h:1,job=node 1 @1000",
            "__name__=b,instance=h:1,job=node 2 @500",
            "__name__=c,instance=h:1,job=node,x=1 3 @1000",
        ]
    );
    // `c` disappears: it gets a staleness marker; `b` had its own timestamp, so it does not.
    let o = c.scrape(b"a{job=\"x\"} 4\n", Format::PrometheusText, 2000, &st, &mut refs);
    assert_eq!(o.series_added, 0);
    assert_eq!(
        render(&refs, &o.samples),
        vec![
            "__name__=a,exported_job=x,instance=h:1,job=node 4 @2000",
            "__name__=c,instance=h:1,job=node,x=1 stale @2000",
        ]
    );
    // A bad line fails the whole scrape, naming the line, and makes everything stale.
    let o = c.scrape(
        b"a{job=\"x\"} 5\nd{ 1\n",
        Format::PrometheusText,
        3000,
        &st,
        &mut refs,
    );
    assert!(
        o.error.as_deref().unwrap().starts_with("line 2: "),
        "{:?}",
        o.error
    );
    assert_eq!(
        render(&refs, &o.samples),
        vec!["__name__=a,exported_job=x,instance=h:1,job=node stale @3000"]
    );
    // Nothing is stale twice.
    assert!(c.stale_all(4000).is_empty());
}

#[test]
fn honor_labels_keeps_scraped_values() {
    let target = pairs(&[("instance", "pgw:9091"), ("job", "pushgateway")]);
    let st = settings(&target, true, &[]);
    let mut refs = Refs::default();
    let mut c = Cache::new();
    let o = c.scrape(
        b"m{job=\"batch\",instance=\"\"} 1\nn 2\n",
        Format::PrometheusText,
        1,
        &st,
        &mut refs,
    );
    assert_eq!(
        render(&refs, &o.samples),
        vec![
            // An exposed empty label blocks the target's: the series has no instance, as in Prometheus.
            "__name__=m,job=batch 1 @1",
            "__name__=n,instance=pgw:9091,job=pushgateway 2 @1",
        ]
    );
}

#[test]
fn metric_relabeling_limits_and_duplicates() {
    let rules: Vec<scrape::relabel::Rule> = [
        "{source_labels: [__name__], regex: 'go_.*', action: drop}",
        "{regex: 'tmp_.*', action: labeldrop}",
    ]
    .iter()
    .map(|y| {
        serde_yaml::from_str::<scrape::relabel::RelabelConfig>(y)
            .unwrap()
            .compile()
            .unwrap()
    })
    .collect();
    let target = pairs(&[("job", "j")]);
    let mut st = settings(&target, false, &rules);
    let mut refs = Refs::default();
    let mut c = Cache::new();
    let body = b"go_gc 1\nx{tmp_a=\"1\"} 2\nx{tmp_a=\"2\"} 3\ny 4\n";
    let o = c.scrape(body, Format::PrometheusText, 10, &st, &mut refs);
    assert_eq!((o.scraped, o.post_relabel, o.duplicates), (4, 3, 1));
    assert_eq!(
        render(&refs, &o.samples),
        vec!["__name__=x,job=j 2 @10", "__name__=y,job=j 4 @10"]
    );
    st.limits.samples = 2;
    let o = c.scrape(body, Format::PrometheusText, 20, &st, &mut refs);
    assert_eq!(
        o.error.as_deref(),
        Some("sample limit exceeded: 3 samples, limit 2")
    );
    assert_eq!(render(&refs, &o.samples).len(), 2, "both series go stale");
    st.limits.samples = 0;
    st.limits.labels = 1;
    let o = c.scrape(b"q{a=\"1\"} 1\n", Format::PrometheusText, 30, &st, &mut refs);
    assert!(
        o.error
            .unwrap()
            .starts_with("line 1: label_limit exceeded (metric: q, number of labels: 3")
    );
}

#[test]
fn openmetrics_bodies() {
    let target = pairs(&[("job", "j")]);
    let st = settings(&target, false, &[]);
    let mut refs = Refs::default();
    let mut c = Cache::new();
    let body = b"# TYPE a counter\n# UNIT a seconds\n# HELP a A.\na_total 1 # {trace_id=\"x\"} 1 1.5\na_created 1.7e9\n\
                 # TYPE i info\ni_info{v=\"1\"} 1\nb 2 1.5\n# EOF\n";
    let o = c.scrape(body, Format::OpenMetrics, 7, &st, &mut refs);
    assert_eq!(o.error, None);
    assert_eq!(
        render(&refs, &o.samples),
        vec![
            "__name__=a_created,job=j 1700000000 @7",
            "__name__=a_total,job=j 1 @7",
            "__name__=b,job=j 2 @1500",
            "__name__=i_info,job=j,v=1 1 @7",
        ]
    );
    let o = c.scrape(b"a_total 1\n", Format::OpenMetrics, 8, &st, &mut refs);
    assert_eq!(
        o.error.as_deref(),
        Some("OpenMetrics body does not end with # EOF")
    );
    let o = c.scrape(b"a_total 1\n# EOF\nb 1\n", Format::OpenMetrics, 9, &st, &mut refs);
    assert_eq!(o.error.as_deref(), Some("line 3: content after # EOF"));
    assert_eq!(
        Format::from_content_type(Some("application/openmetrics-text; version=1.0.0")),
        Format::OpenMetrics
    );
    assert_eq!(
        Format::from_content_type(Some("text/plain; version=0.0.4")),
        Format::PrometheusText
    );
}
