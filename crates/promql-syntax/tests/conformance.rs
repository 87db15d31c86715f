//! Every query of Prometheus's PromQL test scripts (`eval` lines) must parse, unless the script
//! expects it to fail or it uses an experimental feature this crate does not support; and printing a
//! parsed query must parse back to the same tree.

#![allow(clippy::unwrap_used)] // tests unwrap freely: a failure is the assertion

mod common;

use std::path::PathBuf;

use common::{assert_round_trip, strip};

/// Features this crate refuses on purpose, recognized by the error they produce.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "fill modifiers are not supported",
        "binop fill()/fill_left()/fill_right(): experimental, not in the AST",
    ),
    (
        "in durations is not supported",
        "step()/range() in durations: need the query's step and range",
    ),
    (
        "modifier is not supported",
        "anchored/smoothed range selectors: experimental, not in the AST",
    ),
    (
        "trim operators </ and >/ are not supported",
        "native histogram trim operators: experimental, not in the AST",
    ),
];

struct Query {
    file: String,
    line: usize,
    text: String,
    expect_fail: bool,
}

fn testdata_dir() -> PathBuf {
    match std::env::var_os("PHAROS_PROMQL_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance/promql"),
    }
}

/// The query of an `eval` line: after `instant at <time>` or `range from <a> to <b> step <c>`.
fn query_of(line: &str) -> Option<(bool, String)> {
    let (command, rest) = line.split_once(' ')?;
    if !command.starts_with("eval") {
        return None;
    }
    let words: Vec<&str> = rest.splitn(8, ' ').collect();
    let query = match *words.first()? {
        "instant" => rest.splitn(4, ' ').nth(3)?,
        "range" => words.get(7)?,
        _ => return None,
    };
    Some((command == "eval_fail", query.trim().to_string()))
}

fn read_queries() -> Option<Vec<Query>> {
    let dir = testdata_dir();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let mut queries = Vec::new();
    for path in files {
        let content = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = content.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let Some((eval_fail, text)) = query_of(line) else {
                continue;
            };
            let expect_fail = eval_fail
                || lines[i + 1..]
                    .iter()
                    .take_while(|l| l.starts_with([' ', '\t']) || l.is_empty())
                    .any(|l| l.trim_start().starts_with("expect fail"));
            queries.push(Query {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                line: i + 1,
                text,
                expect_fail,
            });
        }
    }
    Some(queries)
}

#[test]
fn conformance_queries_parse_and_round_trip() {
    let Some(queries) = read_queries() else {
        println!(
            "NOTICE: no PromQL test scripts at {}; skipping",
            testdata_dir().display()
        );
        return;
    };
    assert!(
        !queries.is_empty(),
        "no eval lines found in {}",
        testdata_dir().display()
    );
    let mut parsed = 0;
    let mut expected_failures = 0;
    let mut unsupported: Vec<(String, &str)> = Vec::new();
    let mut broken = Vec::new();
    for q in &queries {
        match promql_syntax::parse(&q.text) {
            Ok(expr) => {
                parsed += 1;
                assert_round_trip(&q.text, &expr);
            }
            Err(_) if q.expect_fail => expected_failures += 1,
            Err(e) => match UNSUPPORTED.iter().find(|(needle, _)| e.msg.contains(needle)) {
                Some((_, why)) => unsupported.push((format!("{}:{}: {}", q.file, q.line, q.text), why)),
                None => broken.push(format!("{}:{}: {}\n    {e}", q.file, q.line, q.text)),
            },
        }
    }
    println!(
        "{} eval queries: {parsed} parse, {expected_failures} fail as their script expects, {} use \
         unsupported experimental features, {} broken",
        queries.len(),
        unsupported.len(),
        broken.len()
    );
    for (why, _) in UNSUPPORTED {
        let n = unsupported
            .iter()
            .filter(|(_, w)| UNSUPPORTED.iter().any(|(k, r)| k == why && r == w))
            .count();
        println!("  unsupported ({why}): {n}");
    }
    for (q, why) in &unsupported {
        println!("  UNSUPPORTED {q}  [{why}]");
    }
    assert!(
        broken.is_empty(),
        "queries that should parse but do not:\n{}",
        broken.join("\n")
    );
    // Guards against the reader silently skipping everything.
    assert!(parsed > 1500, "only {parsed} queries parsed");
    let _ = strip;
}
