#!/usr/bin/env bash
# Builds Pharos in release mode and starts the server on its embedded default:
# data in ./data, HTTP on 127.0.0.1:9190. Extra arguments go to `pharos server`.
set -euo pipefail
cd "$(dirname "$0")/.."
PHAROS_UI_TESTS=0 bash scripts/install-deps.sh
bash scripts/build-ui.sh
cargo build --release --locked -p pharos
exec "${CARGO_TARGET_DIR:-target}/release/pharos" server "$@"
