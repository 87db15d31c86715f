use super::*;

fn labels(pairs: &[(&str, &str)]) -> LabelPairs {
    let mut v: LabelPairs = pairs
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
    v.sort();
    v
}

fn rules(yaml: &str) -> Vec<Rule> {
    let cfgs: Vec<RelabelConfig> = serde_yaml::from_str(yaml).unwrap();
    cfgs.iter().map(|c| c.compile().unwrap()).collect()
}

/// Relabels `input`; `None` when dropped.
fn run(yaml: &str, input: &[(&str, &str)]) -> Option<LabelPairs> {
    let mut l = labels(input);
    process(&mut l, &rules(yaml)).then_some(l)
}

#[test]
fn replace_uses_prometheus_defaults() {
    // No action, separator, regex or replacement: replace, ";", (.*), $1.
    let out = run(
        "- source_labels: [a, b]\n  target_label: c\n",
        &[("a", "x"), ("b", "y")],
    );
    assert_eq!(out, Some(labels(&[("a", "x"), ("b", "y"), ("c", "x;y")])));
    // A missing source label reads as empty.
    let out = run("- source_labels: [a, zz]\n  target_label: c\n", &[("a", "x")]);
    assert_eq!(out, Some(labels(&[("a", "x"), ("c", "x;")])));
}

#[test]
fn replace_with_groups_templates_and_no_match() {
    let yaml = r#"
- source_labels: [__address__]
  regex: "([^:]+):(\\d+)"
  target_label: host_${2}
  replacement: "h-$1"
"#;
    let out = run(yaml, &[("__address__", "node1:9100")]);
    assert_eq!(
        out,
        Some(labels(&[("__address__", "node1:9100"), ("host_9100", "h-node1")]))
    );
    // No match: nothing changes.
    let out = run(yaml, &[("__address__", "node1")]);
    assert_eq!(out, Some(labels(&[("__address__", "node1")])));
    // The regex is anchored: "f" does not match "foo".
    let out = run(
        "- source_labels: [a]\n  regex: f\n  target_label: b\n  replacement: bar\n",
        &[("a", "foo")],
    );
    assert_eq!(out, Some(labels(&[("a", "foo")])));
    // A replacement that expands to nothing removes the target.
    let out = run(
        "- source_labels: [a]\n  regex: (f)(o*)\n  target_label: a\n  replacement: $3\n",
        &[("a", "foo")],
    );
    assert_eq!(out, Some(labels(&[])));
    // `$1x` names a group called "1x", which does not exist, as in Go: empty.
    let out = run(
        "- source_labels: [a]\n  regex: (.*)\n  target_label: b\n  replacement: $1x\n",
        &[("a", "v")],
    );
    assert_eq!(out, Some(labels(&[("a", "v")])));
    let out = run(
        "- source_labels: [a]\n  regex: (.*)\n  target_label: b\n  replacement: ${1}x\n",
        &[("a", "v")],
    );
    assert_eq!(out, Some(labels(&[("a", "v"), ("b", "vx")])));
    // An empty input with the default regex sets the literal replacement.
    let out = run("- target_label: env\n  replacement: prod\n", &[("a", "v")]);
    assert_eq!(out, Some(labels(&[("a", "v"), ("env", "prod")])));
    // A target that expands to an empty name is skipped.
    let out = run(
        "- source_labels: [a]\n  regex: (x*)(.*)\n  target_label: ${1}\n",
        &[("a", "v")],
    );
    assert_eq!(out, Some(labels(&[("a", "v")])));
}

#[test]
fn keep_drop_and_their_equal_forms() {
    let keep = "- source_labels: [job]\n  regex: node|api\n  action: keep\n";
    assert!(run(keep, &[("job", "node")]).is_some());
    assert!(run(keep, &[("job", "nodes")]).is_none());
    assert!(run(keep, &[]).is_none());
    let drop = "- source_labels: [job]\n  regex: node\n  action: Drop\n";
    assert!(run(drop, &[("job", "node")]).is_none());
    assert!(run(drop, &[("job", "api")]).is_some());
    let keepequal = "- source_labels: [__tmp_port]\n  target_label: port\n  action: keepequal\n";
    assert!(run(keepequal, &[("__tmp_port", "1"), ("port", "1")]).is_some());
    assert!(run(keepequal, &[("__tmp_port", "1"), ("port", "2")]).is_none());
    let dropequal = "- source_labels: [__tmp_port]\n  target_label: port\n  action: dropequal\n";
    assert!(run(dropequal, &[("__tmp_port", "1"), ("port", "1")]).is_none());
    assert!(run(dropequal, &[("__tmp_port", "1"), ("port", "2")]).is_some());
    // Rules stop at the first drop.
    let two = "- source_labels: [a]\n  action: drop\n  regex: x\n- target_label: b\n  replacement: set\n";
    assert!(run(two, &[("a", "x")]).is_none());
}

#[test]
fn hashmod_gives_prometheus_buckets() {
    // md5 of the joined value, last 8 bytes big-endian, modulo: the buckets Prometheus computes.
    let yaml = "- source_labels: [c]\n  target_label: d\n  modulus: 1000\n  action: hashmod\n";
    let out = run(yaml, &[("a", "foo"), ("c", "baz")]).unwrap();
    assert_eq!(get(&out, "d"), "976");
    let out = run(yaml, &[("c", "foo\nbar")]).unwrap();
    assert_eq!(get(&out, "d"), "734");
    let yaml = "- source_labels: [__address__]\n  target_label: shard\n  modulus: 3\n  action: hashmod\n";
    let out = run(yaml, &[("__address__", "10.0.0.1:9100")]).unwrap();
    assert_eq!(get(&out, "shard"), "2");
}

#[test]
fn labelmap_labeldrop_labelkeep() {
    let map = "- regex: __meta_kubernetes_pod_label_(.+)\n  action: labelmap\n";
    let out = run(map, &[("__meta_kubernetes_pod_label_app", "web"), ("job", "k")]);
    assert_eq!(
        out,
        Some(labels(&[
            ("__meta_kubernetes_pod_label_app", "web"),
            ("app", "web"),
            ("job", "k")
        ]))
    );
    let map = "- regex: (b.*)\n  replacement: bar_${1}\n  action: labelmap\n";
    let out = run(map, &[("a", "foo"), ("b1", "bar"), ("b2", "baz")]);
    assert_eq!(
        out,
        Some(labels(&[
            ("a", "foo"),
            ("b1", "bar"),
            ("b2", "baz"),
            ("bar_b1", "bar"),
            ("bar_b2", "baz")
        ]))
    );
    let drop = "- regex: __meta_.*|tmp\n  action: labeldrop\n";
    let out = run(drop, &[("__meta_x", "1"), ("tmp", "2"), ("job", "j")]);
    assert_eq!(out, Some(labels(&[("job", "j")])));
    let keep = "- regex: job|instance\n  action: labelkeep\n";
    let out = run(keep, &[("__meta_x", "1"), ("instance", "i"), ("job", "j")]);
    assert_eq!(out, Some(labels(&[("instance", "i"), ("job", "j")])));
}

#[test]
fn lowercase_and_uppercase() {
    let yaml = "- source_labels: [a]\n  target_label: lo\n  action: lowercase\n- source_labels: [a]\n  target_label: up\n  action: uppercase\n";
    let out = run(yaml, &[("a", "MiXeD ß")]);
    // One character for one, as Go maps them: ß has no single uppercase character and stays.
    assert_eq!(
        out,
        Some(labels(&[("a", "MiXeD ß"), ("lo", "mixed ß"), ("up", "MIXED ß")]))
    );
}

#[test]
fn invalid_rules_are_refused_with_prometheus_messages() {
    let cases = [
        ("action: explode", "unknown relabel action \"explode\""),
        (
            "action: hashmod\ntarget_label: x",
            "relabel configuration for hashmod requires non-zero modulus",
        ),
        (
            "source_labels: [a]",
            "relabel configuration for replace action requires 'target_label' value",
        ),
        (
            "action: lowercase\nsource_labels: [a]",
            "relabel configuration for lowercase action requires 'target_label' value",
        ),
        (
            "target_label: \"1${x\"",
            "\"1${x\" is invalid 'target_label' for replace action",
        ),
        (
            "action: uppercase\ntarget_label: u\nreplacement: x",
            "'replacement' can not be set for uppercase action",
        ),
        (
            "action: labelmap\nreplacement: \"a-$1\"",
            "\"a-$1\" is invalid 'replacement' for labelmap action",
        ),
        (
            "action: keepequal\nsource_labels: [a]\ntarget_label: b\nregex: x",
            "keepequal action requires only 'source_labels' and `target_label`, and no other fields",
        ),
        (
            "action: labeldrop\nregex: a\nsource_labels: [a]",
            "labeldrop action requires only 'regex', and no other fields",
        ),
        (
            "action: labelkeep\nregex: a\ntarget_label: b",
            "labelkeep action requires only 'regex', and no other fields",
        ),
    ];
    for (yaml, want) in cases {
        let c: RelabelConfig = serde_yaml::from_str(yaml).unwrap();
        assert_eq!(c.compile().unwrap_err().to_string(), want, "{yaml}");
    }
    let c: RelabelConfig = serde_yaml::from_str("regex: \"(\"\ntarget_label: a").unwrap();
    assert!(
        c.compile()
            .unwrap_err()
            .to_string()
            .starts_with("invalid regex \"(\"")
    );
    // Unknown fields are refused when the YAML is read.
    assert!(serde_yaml::from_str::<RelabelConfig>("target_lable: a").is_err());
}

#[test]
fn templates_are_checked_as_prometheus_does() {
    for ok in ["${1}", "$1", "a_$name", "x${1}y", "_", "${1}_${2}"] {
        assert!(valid_template(ok), "{ok}");
    }
    for bad in ["", "1a", "a-b", "$", "${}", "${1", "$-"] {
        assert!(!valid_template(bad), "{bad}");
    }
}
