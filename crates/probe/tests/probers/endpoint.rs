//! The `/probe` endpoint logic: rendering, parameters, timeouts, debug output.

use crate::common::*;

#[tokio::test]
async fn probe_endpoint_renders_text_format() {
    let srv = http_server(None).await;
    let modules = probe::Modules::builtin();
    let answer = probe::handle_probe(
        &format!("target=http://{}/&module=http_2xx", srv.addr),
        None,
        &modules,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "text/plain; version=0.0.4; charset=utf-8");
    let body = &answer.body;
    assert!(
        body.starts_with("# HELP probe_dns_lookup_time_seconds "),
        "{body}"
    );
    assert!(body.contains("\nprobe_success 1\n"), "{body}");
    assert!(
        body.contains("# TYPE probe_http_duration_seconds gauge\n"),
        "{body}"
    );
    // Families sorted by name, like client_golang.
    let names: Vec<&str> = body
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[tokio::test]
async fn hostname_parameter_sets_the_host_header() {
    let srv = http_server(None).await;
    let yaml = "modules:\n  check:\n    prober: http\n    http:\n      fail_if_body_not_matches_regexp: ['(?m)^host: vhost.example$']\n";
    let modules = probe::Modules::parse(yaml).unwrap();
    let answer = probe::handle_probe(
        &format!(
            "target=http://{}/echo&module=check&hostname=vhost.example",
            srv.addr
        ),
        None,
        &modules,
    )
    .await;
    assert!(answer.body.contains("\nprobe_success 1\n"), "{}", answer.body);
}

#[tokio::test]
async fn module_timeout_bounds_the_probe() {
    let srv = http_server(None).await;
    let modules =
        probe::Modules::parse("modules:\n  quick:\n    prober: http\n    timeout: 300ms\n").unwrap();
    let start = std::time::Instant::now();
    let answer = probe::handle_probe(
        &format!("target=http://{}/slow&module=quick", srv.addr),
        Some("10"),
        &modules,
    )
    .await;
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert!(answer.body.contains("\nprobe_success 0\n"), "{}", answer.body);
}

#[tokio::test]
async fn debug_output_shows_logs_metrics_and_module() {
    let modules = probe::Modules::builtin();
    let port = closed_port().await;
    let answer = probe::handle_probe(
        &format!("target=127.0.0.1:{port}&module=tcp_connect&debug=true"),
        None,
        &modules,
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "text/plain; charset=utf-8");
    let body = &answer.body;
    assert!(body.starts_with("Logs for the probe:\n"), "{body}");
    assert!(
        body.contains("msg=\"Beginning probe\" probe=tcp timeout_seconds=119.5"),
        "{body}"
    );
    assert!(body.contains("level=error msg=\"Error dialing TCP\""), "{body}");
    assert!(
        body.contains("\n\n\nMetrics that would have been returned:\n# HELP"),
        "{body}"
    );
    assert!(
        body.contains("\n\n\nModule configuration:\nprober: tcp\n"),
        "{body}"
    );
}
