#!/usr/bin/env bash
# Runs every check and test: the web UI's type check and build, formatting, clippy, unit/property/model
# tests, end-to-end tests against the real binary and real peers (Debian's Prometheus), the UI's tests
# in headless Chromium, fuzz target builds plus a short fuzzing run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PHAROS_REQUIRE_PEERS=1
export CARGO_TERM_COLOR=never

step() { printf '\n==> %s\n' "$*"; }

step "web UI: type check and build (embedded by the Rust build)"
bash scripts/build-ui.sh

step "rustfmt"
cargo fmt --all -- --check

step "clippy (-D warnings)"
cargo clippy --locked --workspace --all-targets -- -D warnings

step "tests"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --locked --workspace --no-fail-fast
else
  cargo test --locked --workspace --no-fail-fast
fi
cargo test --locked --workspace --doc

step "web UI end-to-end tests (headless Chromium driven by playwright-core)"
cargo build --locked -p pharos
(cd ui && PHAROS_BIN=../target/debug/pharos node --test e2e/)

step "fuzz targets build"
cargo build --manifest-path fuzz/Cargo.toml

step "short fuzzing run (coverage-guided, ${FUZZ_SECONDS:=20}s per target)"
# Stable Rust: instrument with SanitizerCoverage directly. An explicit --target keeps the flags off build
# scripts and proc macros.
host=$(rustc -vV | sed -n 's/^host: //p')
FUZZ_FLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
RUSTFLAGS="$FUZZ_FLAGS" cargo build --release --manifest-path fuzz/Cargo.toml --target "$host"
for t in line_protocol text_exposition remote_write promql otlp scrape push dns x509 template rule_file alertmanager_config; do
  mkdir -p "fuzz/corpus/$t"
  "fuzz/target/$host/release/$t" -max_total_time="$FUZZ_SECONDS" -print_final_stats=1 "fuzz/corpus/$t" 2>&1 \
    | grep -E '^stat::number_of_executed_units|DONE' | tail -n 2
done

step "all checks passed"
