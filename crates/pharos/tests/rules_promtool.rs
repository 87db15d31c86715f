//! `pharos check rules` and `pharos test rules` against Debian's `promtool` on the same files: every
//! rule file and every rule unit-test file in the repository must get the same verdict from both.
//! Each file's name also says the verdict expected (`good-`/`bad-`, `pass-`/`fail-`), so the test
//! means something where promtool is missing.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn promtool() -> Option<&'static str> {
    let ok = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some("promtool");
    }
    assert!(
        !common::peers_required(),
        "PHAROS_REQUIRE_PEERS=1 but Debian's promtool is not installed"
    );
    eprintln!("NOTICE: promtool not installed; checking the expected verdicts only");
    None
}

fn files_in(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no {suffix} files in {}", dir.display());
    out
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The rule files Pharos ships (built in, and the examples) pass both checkers.
#[test]
fn shipped_rule_files_pass_both_checkers() {
    let promtool = promtool();
    for dir in ["rules", "examples/rules"] {
        let dir = repo_root().join(dir);
        for f in files_in(&dir, ".yml")
            .into_iter()
            .filter(|f| !f.to_string_lossy().ends_with(".test.yml"))
        {
            let ours = run(Command::new(env!("CARGO_BIN_EXE_pharos"))
                .args(["check", "rules"])
                .arg(&f));
            assert!(ours.status.success(), "{}: {}", f.display(), text(&ours));
            if let Some(pt) = promtool {
                let theirs = run(Command::new(pt).args(["check", "rules"]).arg(&f));
                assert!(theirs.status.success(), "{}: {}", f.display(), text(&theirs));
            }
        }
    }
}

/// Rule files: `good-*` must pass both tools, `bad-*` must fail both with a message naming the file.
#[test]
fn check_rules_agrees_with_promtool() {
    let dir = repo_root().join("crates/rules/testdata/check");
    let promtool = promtool();
    let mut checked = 0;
    for f in files_in(&dir, ".yml") {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let want_ok = name.starts_with("good-");
        let ours = run(Command::new(env!("CARGO_BIN_EXE_pharos"))
            .args(["check", "rules"])
            .arg(&f)
            .current_dir(&dir));
        assert_eq!(ours.status.success(), want_ok, "{name}: pharos\n{}", text(&ours));
        if !want_ok {
            let err = String::from_utf8_lossy(&ours.stderr);
            assert!(err.contains("FAILED:"), "{name}: no FAILED line\n{}", text(&ours));
            assert!(
                err.lines()
                    .any(|l| l.contains(&*f.to_string_lossy()) && l.len() > f.to_string_lossy().len() + 2),
                "{name}: the error does not name the file and say what is wrong\n{}",
                text(&ours)
            );
        } else {
            let out = String::from_utf8_lossy(&ours.stdout);
            assert!(
                out.contains("SUCCESS") || String::from_utf8_lossy(&ours.stderr).contains("duplicate rule"),
                "{name}\n{}",
                text(&ours)
            );
        }
        if let Some(pt) = promtool {
            let theirs = run(Command::new(pt)
                .args(["check", "rules"])
                .arg(&f)
                .current_dir(&dir));
            assert_eq!(
                ours.status.code(),
                theirs.status.code(),
                "{name}: pharos and promtool disagree\npharos {}\npromtool {}",
                text(&ours),
                text(&theirs)
            );
            // On success both count the same rules.
            if want_ok {
                let count = |o: &Output| {
                    String::from_utf8_lossy(&o.stdout)
                        .lines()
                        .find(|l| l.contains("SUCCESS"))
                        .map(str::to_owned)
                };
                assert_eq!(count(&ours), count(&theirs), "{name}");
            }
        }
        checked += 1;
    }
    eprintln!("{checked} rule files checked");
}

/// Unit-test files: `pass-*` must pass both tools, `fail-*` must fail both.
#[test]
fn test_rules_agrees_with_promtool() {
    // Our corpus, the built-in rules and the example rules, each with its unit tests.
    let dirs = [
        repo_root().join("crates/rules/testdata/unit"),
        repo_root().join("rules"),
        repo_root().join("examples/rules"),
    ];
    let promtool = promtool();
    let mut checked = 0;
    for dir in dirs {
        for f in files_in(&dir, ".test.yml") {
            let name = f.file_name().unwrap().to_string_lossy().into_owned();
            let want_ok = !name.starts_with("fail-");
            let ours = run(Command::new(env!("CARGO_BIN_EXE_pharos"))
                .args(["test", "rules"])
                .arg(&name)
                .current_dir(&dir));
            assert_eq!(ours.status.success(), want_ok, "{name}: pharos\n{}", text(&ours));
            if let Some(pt) = promtool {
                let theirs = run(Command::new(pt)
                    .args(["test", "rules"])
                    .arg(&name)
                    .current_dir(&dir));
                assert_eq!(
                    ours.status.code(),
                    theirs.status.code(),
                    "{name}: pharos and promtool disagree\npharos {}\npromtool {}",
                    text(&ours),
                    text(&theirs)
                );
            }
            checked += 1;
        }
    }
    eprintln!("{checked} unit-test files run");
}
