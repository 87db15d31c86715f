#!/usr/bin/env bash
# Builds the web UI into ui/dist, which the Rust build embeds into the pharos binary. Installs the
# npm packages from ui/package-lock.json first when they are missing or out of date.
set -euo pipefail
cd "$(dirname "$0")/../ui"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing the UI's npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
