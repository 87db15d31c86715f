//! alertmanager.yml acceptance, table-driven, with Debian's `amtool check-config` (Alertmanager
//! 0.25) as the oracle: Pharos must accept exactly the files amtool accepts, except for the rows
//! marked as newer-Alertmanager features, where amtool 0.25 must disagree (so the table stays
//! honest about what it claims). Without amtool the recorded verdicts are still checked.
//!
//! Also checks that what `Config::to_status_yaml` prints loads in amtool and in Pharos again.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

use std::path::{Path, PathBuf};
use std::process::Command;

use notify::Config;

struct Case {
    name: &'static str,
    yaml: &'static str,
    /// Pharos's verdict.
    ok: bool,
    /// Why amtool 0.25 gives the opposite verdict (a feature of Alertmanager 0.26/0.27 or a
    /// Pharos-only field), or `None` when it must agree.
    newer: Option<&'static str>,
    /// Uses a real zone from /usr/share/zoneinfo.
    zoneinfo: bool,
}

macro_rules! base {
    () => {
        "route: {receiver: r}\nreceivers: [{name: r}]\n"
    };
}

const fn good(name: &'static str, yaml: &'static str) -> Case {
    Case {
        name,
        yaml,
        ok: true,
        newer: None,
        zoneinfo: false,
    }
}

const fn bad(name: &'static str, yaml: &'static str) -> Case {
    Case {
        name,
        yaml,
        ok: false,
        newer: None,
        zoneinfo: false,
    }
}

const fn newer(name: &'static str, yaml: &'static str, ok: bool, why: &'static str) -> Case {
    Case {
        name,
        yaml,
        ok,
        newer: Some(why),
        zoneinfo: false,
    }
}

const fn zone(name: &'static str, yaml: &'static str, ok: bool) -> Case {
    Case {
        name,
        yaml,
        ok,
        newer: None,
        zoneinfo: true,
    }
}

const FULL: &str = r#"
global:
  resolve_timeout: 10m
  smtp_smarthost: 'localhost:25'
  smtp_from: 'alertmanager@example.org'
  smtp_auth_username: am
  smtp_auth_password: hunter2
  smtp_require_tls: false
  slack_api_url: 'https://hooks.slack.com/services/T0/B0/XXXX'
  pagerduty_url: 'https://events.pagerduty.com/v2/enqueue'
  opsgenie_api_key: abc
  http_config:
    follow_redirects: false
templates: ['/etc/alertmanager/templates/*.tmpl', 'relative/*.tmpl']
route:
  receiver: team-X-mails
  group_by: ['alertname', 'cluster', 'service']
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 3h
  routes:
  - matchers: ['service=~"foo1|foo2|baz"']
    receiver: team-X-mails
    routes:
    - matchers: [severity="critical"]
      receiver: team-X-pager
  - matchers: [service="files"]
    receiver: team-Y-mails
    mute_time_intervals: [offhours]
    routes:
    - matchers: [severity="critical"]
      receiver: team-Y-pager
      active_time_intervals: [business]
  - match_re:
      service: ^(database|db)$
    match:
      owner: team-DB
    receiver: team-DB-pager
    group_by: [alertname, cluster, database]
    continue: true
    routes:
    - matchers: ['{owner="team-X", env!~"dev|test"}']
      receiver: team-X-pager
    - matchers: [alertname=Foo, 'job = db']
      receiver: team-DB-hook
      group_by: ['...']
inhibit_rules:
- source_matchers: [severity="critical"]
  target_matchers: [severity="warning"]
  equal: [alertname, cluster, service]
- source_match: {severity: page}
  target_match_re: {severity: 'info|warn'}
receivers:
- name: team-X-mails
  email_configs:
  - to: 'team-X+alerts@example.org'
    headers: {subject: 'custom', x-team: X}
    send_resolved: true
- name: team-X-pager
  email_configs:
  - to: 'team-X+alerts-critical@example.org'
  pagerduty_configs:
  - routing_key: r0ut1ng
    severity: critical
    details: {extra: '{{ .CommonLabels.job }}'}
    links: [{href: 'https://runbooks/x', text: runbook}]
- name: team-Y-mails
  email_configs:
  - to: 'team-Y+alerts@example.org'
    smarthost: 'mail.example.org:587'
    require_tls: true
    tls_config: {insecure_skip_verify: true}
- name: team-Y-pager
  pagerduty_configs:
  - service_key: s3rv1c3
    url: 'https://events.pagerduty.com/generic/2010-04-15/create_event.json'
- name: team-DB-pager
  slack_configs:
  - channel: '#db'
    send_resolved: true
    fields: [{title: t, value: v, short: true}]
    actions: [{type: button, text: Runbook, url: 'https://runbooks/db'}]
  opsgenie_configs:
  - responders: [{name: db, type: team}]
- name: team-DB-hook
  webhook_configs:
  - url: 'http://127.0.0.1:5001/hook'
    max_alerts: 10
    http_config:
      authorization: {credentials: t0k3n}
      tls_config: {ca_file: /etc/ca.pem}
  - url: 'https://example.org/hook'
    send_resolved: false
    http_config:
      basic_auth: {username: u, password: p}
time_intervals:
- name: business
  time_intervals:
  - times: [{start_time: '09:00', end_time: '17:00'}]
    weekdays: ['monday:friday']
    location: UTC
mute_time_intervals:
- name: offhours
  time_intervals:
  - times: [{start_time: '00:00', end_time: '08:00'}, {start_time: '20:00', end_time: '24:00'}]
  - weekdays: [saturday, sunday]
  - days_of_month: ['1:5', '-3:-1']
    months: ['january:march', '12', may]
    years: ['2020:2030']
"#;

fn cases() -> Vec<Case> {
    vec![
        good("full", FULL),
        good("minimal", base!()),
        good("global_empty", concat!("global:\n", base!())),
        good("global_braces", concat!("global: {}\n", base!())),
        bad("empty", ""),
        bad("only_whitespace", "  \n\n"),
        bad("no_route", "receivers: [{name: r}]"),
        bad("route_null", "route:\nreceivers: [{name: r}]"),
        bad("not_a_map", "- a\n- b"),
        bad("unknown_top_field", concat!(base!(), "foo: 1")),
        bad(
            "unknown_route_field",
            "route: {receiver: r, foo: 1}\nreceivers: [{name: r}]",
        ),
        bad("unknown_global_field", concat!("global: {foo: 1}\n", base!())),
        bad(
            "duplicate_key",
            "route: {receiver: r}\nroute: {receiver: r}\nreceivers: [{name: r}]",
        ),
        bad(
            "unknown_receiver",
            "route: {receiver: r, routes: [{receiver: x}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "unknown_root_receiver",
            "route: {receiver: x}\nreceivers: [{name: r}]",
        ),
        bad(
            "duplicate_receivers",
            "route: {receiver: r}\nreceivers: [{name: r}, {name: r}]",
        ),
        bad(
            "receiver_without_name",
            "route: {receiver: r}\nreceivers: [{name: r}, {email_configs: []}]",
        ),
        bad(
            "unknown_receiver_type",
            "route: {receiver: r}\nreceivers: [{name: r, foo_configs: [{}]}]",
        ),
        bad(
            "root_without_receiver",
            "route: {group_by: [a]}\nreceivers: [{name: r}]",
        ),
        bad(
            "root_with_match",
            "route: {receiver: r, match: {a: b}}\nreceivers: [{name: r}]",
        ),
        bad(
            "root_with_match_re",
            "route: {receiver: r, match_re: {a: b}}\nreceivers: [{name: r}]",
        ),
        bad(
            "root_with_matchers",
            "route: {receiver: r, matchers: ['a=b']}\nreceivers: [{name: r}]",
        ),
        bad(
            "root_with_continue",
            "route: {receiver: r, continue: true}\nreceivers: [{name: r}]",
        ),
        bad(
            "root_with_mute",
            "route: {receiver: r, mute_time_intervals: [x]}\nreceivers: [{name: r}]\ntime_intervals: [{name: x}]",
        ),
        bad(
            "root_with_active",
            "route: {receiver: r, active_time_intervals: [x]}\nreceivers: [{name: r}]\ntime_intervals: [{name: x}]",
        ),
        good(
            "continue_yaml11_yes",
            "route: {receiver: r, routes: [{receiver: r, continue: yes}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "continue_not_bool",
            "route: {receiver: r, routes: [{receiver: r, continue: maybe}]}\nreceivers: [{name: r}]",
        ),
        good(
            "group_by_all",
            "route: {receiver: r, group_by: ['...']}\nreceivers: [{name: r}]",
        ),
        bad(
            "group_by_all_plus_label",
            "route: {receiver: r, group_by: ['...', a]}\nreceivers: [{name: r}]",
        ),
        bad(
            "group_by_duplicate",
            "route: {receiver: r, group_by: [a, a]}\nreceivers: [{name: r}]",
        ),
        bad(
            "group_by_bad_name",
            "route: {receiver: r, group_by: ['a-b']}\nreceivers: [{name: r}]",
        ),
        good(
            "group_by_empty",
            "route: {receiver: r, group_by: []}\nreceivers: [{name: r}]",
        ),
        bad(
            "group_interval_zero",
            "route: {receiver: r, group_interval: 0s}\nreceivers: [{name: r}]",
        ),
        bad(
            "repeat_interval_zero",
            "route: {receiver: r, repeat_interval: 0s}\nreceivers: [{name: r}]",
        ),
        good(
            "group_wait_zero",
            "route: {receiver: r, group_wait: 0s}\nreceivers: [{name: r}]",
        ),
        good(
            "durations_combined",
            "route: {receiver: r, group_wait: 1h30m, group_interval: 1d, repeat_interval: 2w}\nreceivers: [{name: r}]",
        ),
        bad(
            "duration_with_space",
            "route: {receiver: r, group_wait: 5 m}\nreceivers: [{name: r}]",
        ),
        bad(
            "duration_fraction",
            "route: {receiver: r, group_wait: 1.5h}\nreceivers: [{name: r}]",
        ),
        bad(
            "duration_negative",
            "route: {receiver: r, group_wait: -1s}\nreceivers: [{name: r}]",
        ),
        bad(
            "duration_no_unit",
            "route: {receiver: r, group_wait: 30}\nreceivers: [{name: r}]",
        ),
        bad(
            "duration_bad_order",
            "route: {receiver: r, group_wait: 1s1m}\nreceivers: [{name: r}]",
        ),
        bad(
            "resolve_timeout_bad",
            concat!("global: {resolve_timeout: abc}\n", base!()),
        ),
        good(
            "resolve_timeout_zero",
            concat!("global: {resolve_timeout: 0s}\n", base!()),
        ),
        // Matchers.
        bad(
            "matcher_no_operator",
            "route: {receiver: r, routes: [{matchers: ['foo']}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "matcher_bad_regex",
            "route: {receiver: r, routes: [{matchers: ['foo=~\"(\"']}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "matcher_unterminated_quote",
            "route: {receiver: r, routes: [{matchers: ['foo=\"bar']}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "matcher_inner_quote",
            "route: {receiver: r, routes: [{matchers: ['foo=ba\"r']}]}\nreceivers: [{name: r}]",
        ),
        newer(
            "matcher_digit_name",
            "route: {receiver: r, routes: [{matchers: ['1foo=bar']}]}\nreceivers: [{name: r}]",
            true,
            "UTF-8 matchers (0.27) allow any unquoted name",
        ),
        bad(
            "matchers_not_a_list",
            "route: {receiver: r, routes: [{matchers: 'a=b'}]}\nreceivers: [{name: r}]",
        ),
        good(
            "matcher_unquoted_and_lists",
            "route: {receiver: r, routes: [{matchers: ['foo=bar baz', 'a!~b.*,c=\"d\"', 'alertname=Foo']}]}\nreceivers: [{name: r}]",
        ),
        good(
            "matcher_braces",
            "route: {receiver: r, routes: [{matchers: ['{foo=\"bar\", dings!=\"bums\", }']}]}\nreceivers: [{name: r}]",
        ),
        good(
            "matcher_empty_string",
            "route: {receiver: r, routes: [{matchers: ['']}]}\nreceivers: [{name: r}]",
        ),
        good(
            "matcher_double_equals",
            "route: {receiver: r, routes: [{matchers: ['a==b']}]}\nreceivers: [{name: r}]",
        ),
        good(
            "matcher_escapes",
            "route: {receiver: r, routes: [{matchers: ['quote=\"She said: \\\"Hi, all\\\"\"']}]}\nreceivers: [{name: r}]",
        ),
        newer(
            "matcher_quoted_utf8_name",
            "route: {receiver: r, routes: [{matchers: ['\"foo bar\"=\"x\"']}]}\nreceivers: [{name: r}]",
            true,
            "UTF-8 matchers (0.27)",
        ),
        newer(
            "matcher_unquoted_utf8_name",
            "route: {receiver: r, routes: [{matchers: ['fóo=\"x\"']}]}\nreceivers: [{name: r}]",
            true,
            "UTF-8 matchers (0.27)",
        ),
        good(
            "match_and_match_re",
            "route: {receiver: r, routes: [{match: {a: b}, match_re: {c: 'd.*', e: ''}}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "match_bad_name",
            "route: {receiver: r, routes: [{match: {'a-b': c}}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "match_re_bad_name",
            "route: {receiver: r, routes: [{match_re: {'a-b': c}}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "match_re_bad_regex",
            "route: {receiver: r, routes: [{match_re: {a: '('}}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "match_re_null",
            "route: {receiver: r, routes: [{match_re: {a: }}]}\nreceivers: [{name: r}]",
        ),
        // Inhibit rules.
        good("inhibit_empty_rule", concat!(base!(), "inhibit_rules: [{}]")),
        good(
            "inhibit_legacy",
            concat!(
                base!(),
                "inhibit_rules: [{source_match: {a: b}, source_match_re: {c: 'd+'}, target_match: {e: f}, target_match_re: {g: h}, equal: [a, c]}]"
            ),
        ),
        bad(
            "inhibit_bad_equal",
            concat!(base!(), "inhibit_rules: [{equal: ['a-b']}]"),
        ),
        bad(
            "inhibit_bad_regex",
            concat!(base!(), "inhibit_rules: [{target_match_re: {a: '[z-a]'}}]"),
        ),
        bad(
            "inhibit_bad_matcher",
            concat!(base!(), "inhibit_rules: [{source_matchers: ['a']}]"),
        ),
        bad(
            "inhibit_bad_source_match_name",
            concat!(base!(), "inhibit_rules: [{source_match: {'1a': b}}]"),
        ),
        bad(
            "inhibit_unknown_field",
            concat!(base!(), "inhibit_rules: [{name: x}]"),
        ),
        // Email.
        good(
            "email_global_smarthost",
            "global: {smtp_smarthost: 'h:25', smtp_from: a@b}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: x@y}]}]",
        ),
        good(
            "email_own_smarthost",
            "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: x@y, from: a@b, smarthost: '[::1]:25'}]}]",
        ),
        bad(
            "email_missing_smarthost",
            "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a@b, from: c@d}]}]",
        ),
        bad(
            "email_missing_from",
            "global: {smtp_smarthost: 'h:25'}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a@b}]}]",
        ),
        bad(
            "email_missing_to",
            "global: {smtp_smarthost: 'h:25', smtp_from: x@y}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{}]}]",
        ),
        bad(
            "email_smarthost_no_port",
            "global: {smtp_smarthost: 'h', smtp_from: x@y}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a}]}]",
        ),
        bad(
            "email_smarthost_empty_port",
            "global: {smtp_smarthost: 'h:', smtp_from: x@y}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a}]}]",
        ),
        bad(
            "email_duplicate_header",
            "global: {smtp_smarthost: 'h:1', smtp_from: x@y}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a, headers: {subject: a, Subject: b}}]}]",
        ),
        good(
            "email_password_file",
            "global: {smtp_smarthost: 'h:1', smtp_from: x@y, smtp_auth_password_file: /x}\nroute: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a}, {to: b, auth_password_file: /y}]}]",
        ),
        bad(
            "email_password_and_file",
            "global: {smtp_auth_password: a, smtp_auth_password_file: /x}\nroute: {receiver: r}\nreceivers: [{name: r}]",
        ),
        good(
            "email_everything",
            "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a, from: f, tls_config: {ca_file: /x, server_name: s}, require_tls: false, text: t, html: h, auth_secret: s, auth_identity: i, auth_username: u, hello: h, smarthost: 'a:2', send_resolved: true}]}]",
        ),
        bad(
            "email_unknown_field",
            "route: {receiver: r}\nreceivers: [{name: r, email_configs: [{to: a, from: f, smarthost: 'a:2', cc: b}]}]",
        ),
        // Webhook.
        good(
            "webhook",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://a/', send_resolved: false, max_alerts: 5}]}]",
        ),
        good(
            "webhook_yaml11_bool",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://a/', send_resolved: no}]}]",
        ),
        bad(
            "webhook_missing_url",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{send_resolved: false}]}]",
        ),
        bad(
            "webhook_bad_scheme",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'ftp://x/y'}]}]",
        ),
        bad(
            "webhook_no_host",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http:///y'}]}]",
        ),
        bad(
            "webhook_relative_url",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: '/hook'}]}]",
        ),
        bad(
            "webhook_negative_max_alerts",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://a/', max_alerts: -1}]}]",
        ),
        bad(
            "webhook_send_resolved_string",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://a/', send_resolved: 'x'}]}]",
        ),
        newer(
            "webhook_url_file",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url_file: /x}]}]",
            true,
            "url_file (0.26)",
        ),
        bad(
            "webhook_url_and_file",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://a/', url_file: /x}]}]",
        ),
        bad(
            "webhook_timeout",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://x/y', timeout: 10s}]}]",
        ),
        // http_config.
        bad(
            "http_unknown_field",
            concat!("global: {http_config: {foo: 1}}\n", base!()),
        ),
        bad(
            "http_bearer_and_basic",
            concat!(
                "global: {http_config: {bearer_token: x, basic_auth: {username: a}}}\n",
                base!()
            ),
        ),
        bad(
            "http_auth_and_oauth2",
            concat!(
                "global: {http_config: {authorization: {credentials: x}, oauth2: {client_id: a, client_secret: b, token_url: 'http://x/'}}}\n",
                base!()
            ),
        ),
        bad(
            "http_auth_type_basic",
            concat!(
                "global: {http_config: {authorization: {type: Basic, credentials: x}}}\n",
                base!()
            ),
        ),
        good(
            "http_oauth2",
            concat!(
                "global: {http_config: {oauth2: {client_id: a, client_secret_file: b, token_url: 'http://x/', scopes: [a], endpoint_params: {a: b}}}}\n",
                base!()
            ),
        ),
        bad(
            "http_oauth2_no_client_id",
            concat!(
                "global: {http_config: {oauth2: {client_secret: b, token_url: 'http://x/'}}}\n",
                base!()
            ),
        ),
        bad(
            "http_proxy_header_without_proxy",
            concat!(
                "global: {http_config: {proxy_connect_header: {a: [b]}}}\n",
                base!()
            ),
        ),
        good(
            "http_proxy_and_tls_versions",
            concat!(
                "global: {http_config: {proxy_url: 'http://p:3128', tls_config: {min_version: TLS12, max_version: TLS13}}}\n",
                base!()
            ),
        ),
        good(
            "http_bearer_token",
            "route: {receiver: r}\nreceivers: [{name: r, webhook_configs: [{url: 'http://a/', http_config: {bearer_token: s3cr3t}}]}]",
        ),
        newer(
            "http_no_proxy",
            concat!(
                "global: {http_config: {proxy_url: 'http://p:1', no_proxy: x}}\n",
                base!()
            ),
            true,
            "no_proxy (prometheus/common in 0.26+)",
        ),
        newer(
            "http_inline_ca",
            concat!("global: {http_config: {tls_config: {ca: x}}}\n", base!()),
            true,
            "inline tls ca (prometheus/common in 0.26+)",
        ),
        newer(
            "http_username_file",
            concat!(
                "global: {http_config: {basic_auth: {username_file: /x, password_file: /y}}}\n",
                base!()
            ),
            true,
            "basic_auth.username_file (prometheus/common in 0.27)",
        ),
        // Slack.
        bad(
            "slack_no_api_url",
            "route: {receiver: r}\nreceivers: [{name: r, slack_configs: [{channel: x}]}]",
        ),
        bad(
            "slack_url_and_file_global",
            concat!(
                "global: {slack_api_url: 'http://a/b', slack_api_url_file: /x}\n",
                base!()
            ),
        ),
        bad(
            "slack_url_and_file",
            "route: {receiver: r}\nreceivers: [{name: r, slack_configs: [{api_url: 'http://a/b', api_url_file: /x}]}]",
        ),
        good(
            "slack_global_file",
            "global: {slack_api_url_file: /x}\nroute: {receiver: r}\nreceivers: [{name: r, slack_configs: [{channel: x}]}]",
        ),
        good(
            "slack_secret_placeholder",
            "global: {slack_api_url: '<secret>'}\nroute: {receiver: r}\nreceivers: [{name: r, slack_configs: [{api_url: '<secret>'}]}]",
        ),
        bad(
            "slack_action_without_url_or_name",
            "global: {slack_api_url: 'http://a/b'}\nroute: {receiver: r}\nreceivers: [{name: r, slack_configs: [{actions: [{type: button, text: t}]}]}]",
        ),
        bad(
            "slack_action_without_type",
            "global: {slack_api_url: 'http://a/b'}\nroute: {receiver: r}\nreceivers: [{name: r, slack_configs: [{actions: [{text: t, url: u}]}]}]",
        ),
        bad(
            "slack_field_without_value",
            "global: {slack_api_url: 'http://a/b'}\nroute: {receiver: r}\nreceivers: [{name: r, slack_configs: [{fields: [{title: t}]}]}]",
        ),
        bad(
            "slack_confirm_without_text",
            "global: {slack_api_url: 'http://a/b'}\nroute: {receiver: r}\nreceivers: [{name: r, slack_configs: [{actions: [{type: button, text: t, name: n, confirm: {title: x}}]}]}]",
        ),
        good(
            "slack_everything",
            "global: {slack_api_url: 'http://a/'}\nroute: {receiver: r}\nreceivers: [{name: r, slack_configs: [{http_config: {follow_redirects: false}, color: c, title: t, title_link: l, pretext: p, text: x, footer: f, fallback: b, callback_id: i, icon_emoji: ':x:', image_url: 'http://i/', thumb_url: 'http://t/', link_names: true, short_fields: true, mrkdwn_in: [a], fields: [{title: a, value: b, short: true}], actions: [{type: button, text: t, name: n, value: v, style: danger, confirm: {text: y, title: z, ok_text: o, dismiss_text: d}}]}]}]",
        ),
        // PagerDuty.
        bad(
            "pagerduty_no_key",
            "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{}]}]",
        ),
        good(
            "pagerduty_key_file",
            "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{routing_key_file: /x}]}]",
        ),
        bad(
            "pagerduty_key_and_file",
            "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{routing_key: a, routing_key_file: /x}]}]",
        ),
        bad(
            "pagerduty_bad_url",
            "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{routing_key: a, url: 'x'}]}]",
        ),
        good(
            "pagerduty_everything",
            "route: {receiver: r}\nreceivers: [{name: r, pagerduty_configs: [{routing_key: a, images: [{src: a, alt: b, href: c}], links: [{href: a, text: b}], severity: s, class: c, component: x, group: g, client: C, client_url: U, description: D, source: S}]}]",
        ),
        // Other Alertmanager notifiers: accepted as raw YAML, with Alertmanager's checks that
        // decide whether a file loads.
        good(
            "opsgenie_global_key",
            "global: {opsgenie_api_key: k}\nroute: {receiver: r}\nreceivers: [{name: r, opsgenie_configs: [{message: hi}]}]",
        ),
        bad(
            "opsgenie_no_key",
            "route: {receiver: r}\nreceivers: [{name: r, opsgenie_configs: [{}]}]",
        ),
        bad(
            "opsgenie_global_key_and_file",
            concat!(
                "global: {opsgenie_api_key: a, opsgenie_api_key_file: b}\n",
                base!()
            ),
        ),
        good(
            "all_globals",
            concat!(
                "global: {opsgenie_api_key: a, victorops_api_key: b, wechat_api_secret: c, wechat_api_corp_id: d, telegram_api_url: 'https://t/', webex_api_url: 'https://w/', opsgenie_api_url: 'https://o/', victorops_api_url: 'https://v/', wechat_api_url: 'https://w/', pagerduty_url: 'https://p/'}\n",
                base!()
            ),
        ),
        bad(
            "victorops_no_routing_key",
            "route: {receiver: r}\nreceivers: [{name: r, victorops_configs: [{api_key: x}]}]",
        ),
        good(
            "victorops",
            "route: {receiver: r}\nreceivers: [{name: r, victorops_configs: [{api_key: x, routing_key: y}]}]",
        ),
        bad(
            "pushover_no_user_key",
            "route: {receiver: r}\nreceivers: [{name: r, pushover_configs: [{token: x}]}]",
        ),
        good(
            "pushover",
            "route: {receiver: r}\nreceivers: [{name: r, pushover_configs: [{token: x, user_key: y}]}]",
        ),
        bad(
            "sns_no_target",
            "route: {receiver: r}\nreceivers: [{name: r, sns_configs: [{}]}]",
        ),
        good(
            "sns",
            "route: {receiver: r}\nreceivers: [{name: r, sns_configs: [{topic_arn: 'arn:aws:sns:x'}]}]",
        ),
        good(
            "telegram",
            "route: {receiver: r}\nreceivers: [{name: r, telegram_configs: [{bot_token: x, chat_id: 1}]}]",
        ),
        bad(
            "telegram_no_chat",
            "route: {receiver: r}\nreceivers: [{name: r, telegram_configs: [{bot_token: x}]}]",
        ),
        bad(
            "telegram_bad_parse_mode",
            "route: {receiver: r}\nreceivers: [{name: r, telegram_configs: [{bot_token: x, chat_id: 1, parse_mode: Foo}]}]",
        ),
        bad(
            "webex_no_auth",
            "route: {receiver: r}\nreceivers: [{name: r, webex_configs: [{room_id: x}]}]",
        ),
        good(
            "webex",
            "route: {receiver: r}\nreceivers: [{name: r, webex_configs: [{room_id: x, http_config: {authorization: {credentials: t}}}]}]",
        ),
        good(
            "discord",
            "route: {receiver: r}\nreceivers: [{name: r, discord_configs: [{webhook_url: 'http://a/b'}]}]",
        ),
        bad(
            "discord_no_url",
            "route: {receiver: r}\nreceivers: [{name: r, discord_configs: [{}]}]",
        ),
        bad(
            "wechat_no_secret",
            "route: {receiver: r}\nreceivers: [{name: r, wechat_configs: [{corp_id: x}]}]",
        ),
        newer(
            "msteams",
            "route: {receiver: r}\nreceivers: [{name: r, msteams_configs: [{webhook_url: 'http://a/'}]}]",
            true,
            "msteams (0.26)",
        ),
        // Pharos-only.
        newer(
            "twilio",
            "route: {receiver: r}\nreceivers: [{name: r, twilio_configs: [{account_sid: AC1, auth_token: t, from: '+15550001', to: '+15550002', mode: call}]}]",
            true,
            "Pharos-only twilio_configs",
        ),
        bad(
            "twilio_missing_token",
            "route: {receiver: r}\nreceivers: [{name: r, twilio_configs: [{account_sid: AC1, from: '+1', to: '+2'}]}]",
        ),
        bad(
            "twilio_bad_mode",
            "route: {receiver: r}\nreceivers: [{name: r, twilio_configs: [{account_sid: AC1, auth_token: t, from: '+1', to: '+2', mode: fax}]}]",
        ),
        // Templates.
        good("templates", concat!(base!(), "templates: ['a/*.tmpl', '/b']")),
        bad("templates_not_a_list", concat!(base!(), "templates: 'a'")),
        // Time intervals.
        good(
            "time_intervals_all_fields",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{times: [{start_time: '00:00', end_time: '08:00'}], weekdays: ['Monday:FRIDAY'], days_of_month: ['1:5', '-3:-1', 7], months: ['january:march', '12'], years: ['2020:2030', 2040]}]}]"
            ),
        ),
        good(
            "time_interval_24h",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{times: [{start_time: '23:00', end_time: '24:00'}]}]}]"
            ),
        ),
        good(
            "time_interval_month_13",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{months: ['13'], years: ['-5']}]}]"
            ),
        ),
        good(
            "time_interval_dom_positive_to_negative",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{days_of_month: ['5:-1']}]}]"
            ),
        ),
        good(
            "time_interval_location_utc",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{location: UTC}]}]"
            ),
        ),
        good(
            "time_interval_location_local",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{location: Local}]}]"
            ),
        ),
        zone(
            "time_interval_location_zone",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{location: Europe/Berlin}]}]"
            ),
            true,
        ),
        zone(
            "time_interval_location_wrong_case",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{location: europe/berlin}]}]"
            ),
            false,
        ),
        bad(
            "time_interval_location_unknown",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{location: Mars/Olympus}]}]"
            ),
        ),
        bad(
            "time_interval_time_zone_field",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{time_zone: UTC}]}]"
            ),
        ),
        bad(
            "time_interval_unknown_field",
            concat!(base!(), "time_intervals: [{name: t, time_intervals: [{foo: 1}]}]"),
        ),
        bad(
            "time_interval_no_name",
            concat!(base!(), "time_intervals: [{time_intervals: [{location: UTC}]}]"),
        ),
        bad(
            "mute_time_interval_no_name",
            concat!(base!(), "mute_time_intervals: [{time_intervals: []}]"),
        ),
        bad(
            "time_interval_duplicate",
            concat!(base!(), "time_intervals: [{name: t}, {name: t}]"),
        ),
        bad(
            "time_interval_duplicate_across_lists",
            concat!(
                base!(),
                "time_intervals: [{name: t}]\nmute_time_intervals: [{name: t}]"
            ),
        ),
        bad(
            "mute_time_interval_duplicate",
            concat!(base!(), "mute_time_intervals: [{name: t}, {name: t}]"),
        ),
        bad(
            "time_interval_undefined",
            "route: {receiver: r, routes: [{mute_time_intervals: [x]}]}\nreceivers: [{name: r}]",
        ),
        bad(
            "active_time_interval_undefined",
            "route: {receiver: r, routes: [{active_time_intervals: [x]}]}\nreceivers: [{name: r}]",
        ),
        good(
            "time_interval_from_legacy_list",
            "route: {receiver: r, routes: [{active_time_intervals: [x], mute_time_intervals: [x]}]}\nreceivers: [{name: r}]\nmute_time_intervals: [{name: x}]",
        ),
        bad(
            "time_no_leading_zero",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{times: [{start_time: '8:00', end_time: '09:00'}]}]}]"
            ),
        ),
        bad(
            "time_start_equals_end",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{times: [{start_time: '10:00', end_time: '10:00'}]}]}]"
            ),
        ),
        bad(
            "time_missing_end",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{times: [{start_time: '10:00'}]}]}]"
            ),
        ),
        bad(
            "time_unknown_field",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{times: [{start_time: '10:00', end_time: '11:00', x: 1}]}]}]"
            ),
        ),
        bad(
            "time_past_midnight",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{times: [{start_time: '10:00', end_time: '24:30'}]}]}]"
            ),
        ),
        bad(
            "weekday_reversed",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{weekdays: ['friday:monday']}]}]"
            ),
        ),
        bad(
            "weekday_wraparound",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{weekdays: ['saturday:sunday']}]}]"
            ),
        ),
        bad(
            "weekday_number",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{weekdays: ['1']}]}]"
            ),
        ),
        bad(
            "weekday_three_parts",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{weekdays: ['monday:tuesday:friday']}]}]"
            ),
        ),
        bad(
            "day_of_month_zero",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{days_of_month: ['0']}]}]"
            ),
        ),
        bad(
            "day_of_month_32",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{days_of_month: ['32']}]}]"
            ),
        ),
        bad(
            "day_of_month_negative_to_positive",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{days_of_month: ['-1:5']}]}]"
            ),
        ),
        bad(
            "day_of_month_reversed",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{days_of_month: ['5:3']}]}]"
            ),
        ),
        bad(
            "day_of_month_always_before",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{days_of_month: ['27:-3']}]}]"
            ),
        ),
        bad(
            "month_abbreviated",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{months: ['jan']}]}]"
            ),
        ),
        bad(
            "month_reversed",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{months: ['may:march']}]}]"
            ),
        ),
        bad(
            "year_reversed",
            concat!(
                base!(),
                "time_intervals: [{name: t, time_intervals: [{years: ['2030:2020']}]}]"
            ),
        ),
    ]
}

fn amtool() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("AMTOOL").map(PathBuf::from),
        Some(PathBuf::from("/usr/bin/amtool")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

fn scratch_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pharos-notify-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// amtool's verdict and its first output line.
fn amtool_check(amtool: &Path, dir: &Path, name: &str, yaml: &str) -> (bool, String) {
    let path = dir.join(format!("{name}.yml"));
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new(amtool)
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (
        out.status.success(),
        text.lines().next().unwrap_or("").to_string(),
    )
}

fn have_zoneinfo() -> bool {
    Path::new("/usr/share/zoneinfo/Europe/Berlin").exists()
}

#[test]
fn pharos_verdicts_match_the_table() {
    let mut failures = Vec::new();
    for c in cases() {
        if c.zoneinfo && !have_zoneinfo() {
            continue;
        }
        match (Config::load(c.yaml), c.ok) {
            (Ok(_), true) | (Err(_), false) => {}
            (Ok(_), false) => failures.push(format!("{}: pharos accepted, table says reject", c.name)),
            (Err(e), true) => failures.push(format!("{}: pharos rejected ({e}), table says accept", c.name)),
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn case_names_are_unique() {
    let cases = cases();
    let mut names: Vec<_> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len());
}

#[test]
fn amtool_agrees_with_the_table() {
    let Some(amtool) = amtool() else {
        eprintln!(
            "amtool not found (set AMTOOL or install prometheus-alertmanager): skipping the oracle comparison"
        );
        return;
    };
    let dir = scratch_dir("oracle");
    let mut failures = Vec::new();
    for c in cases() {
        if c.zoneinfo && !have_zoneinfo() {
            continue;
        }
        let (am_ok, line) = amtool_check(&amtool, &dir, c.name, c.yaml);
        let want = match c.newer {
            None => c.ok,
            Some(_) => !c.ok,
        };
        if am_ok != want {
            failures.push(format!(
                "{}: amtool {} ({line}); table expects amtool to {}{}",
                c.name,
                if am_ok { "accepted" } else { "rejected" },
                if want { "accept" } else { "reject" },
                c.newer.map(|w| format!(" [{w}]")).unwrap_or_default(),
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn status_yaml_loads_again() {
    let amtool = amtool();
    if amtool.is_none() {
        eprintln!("amtool not found: checking only that Pharos reloads its own output");
    }
    let dir = scratch_dir("status");
    let mut failures = Vec::new();
    let mut checked = 0;
    for c in cases() {
        if !c.ok || (c.zoneinfo && !have_zoneinfo()) {
            continue;
        }
        let cfg = Config::load(c.yaml).unwrap();
        let printed = cfg.to_status_yaml();
        match Config::load(&printed) {
            Ok(again) => {
                if again.to_status_yaml() != printed {
                    failures.push(format!("{}: printing is not stable\n{printed}", c.name));
                }
            }
            Err(e) => failures.push(format!(
                "{}: pharos rejects its own output: {e}\n{printed}",
                c.name
            )),
        }
        // Rows that need a newer Alertmanager print fields amtool 0.25 cannot read.
        if let (Some(amtool), None) = (&amtool, c.newer) {
            let (ok, line) = amtool_check(amtool, &dir, &format!("{}.status", c.name), &printed);
            if !ok {
                failures.push(format!(
                    "{}: amtool rejects to_status_yaml: {line}\n{printed}",
                    c.name
                ));
            }
            checked += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
    if amtool.is_some() {
        assert!(checked > 40, "only {checked} printed configs checked with amtool");
    }
}

#[test]
fn status_yaml_of_full_config_looks_like_alertmanager() {
    let cfg = Config::load(FULL).unwrap();
    let y = cfg.to_status_yaml();
    for want in [
        "resolve_timeout: 10m",
        "smtp_auth_password: <secret>",
        "slack_api_url: <secret>",
        "smtp_hello: localhost",
        "opsgenie_api_key: <secret>",
        "routing_key: <secret>",
        "service_key: <secret>",
        "password: <secret>",
        "credentials: <secret>",
        "follow_redirects: false",
        "- service=~\"foo1|foo2|baz\"",
        "- env!~\"dev|test\"",
        "- owner=\"team-X\"",
        "group_by:\n      - '...'",
        "Subject: custom",
        "X-Team: X",
        "template \"email.default.html\"",
        "template \"slack.default.title\"",
        "num_firing: '{{ .Alerts.Firing | len }}'",
        "weekdays:\n    - monday:friday",
        "location: UTC",
    ] {
        assert!(y.contains(want), "missing {want:?} in\n{y}");
    }
    for secret in ["hunter2", "r0ut1ng", "s3rv1c3", "t0k3n", "XXXX"] {
        assert!(!y.contains(secret), "{secret} leaked in\n{y}");
    }
}
