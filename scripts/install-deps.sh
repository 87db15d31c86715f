#!/usr/bin/env bash
# Installs what building and testing Pharos needs on a fresh Debian machine. Idempotent: installs only
# what is missing. Peers for end-to-end tests come from Debian's packages.
set -euo pipefail

need_apt=()
command -v prometheus >/dev/null 2>&1 || need_apt+=(prometheus)
command -v influxd >/dev/null 2>&1 || need_apt+=(influxdb)
command -v prometheus-node-exporter >/dev/null 2>&1 || need_apt+=(prometheus-node-exporter)
command -v prometheus-pushgateway >/dev/null 2>&1 || need_apt+=(prometheus-pushgateway)
command -v prometheus-blackbox-exporter >/dev/null 2>&1 || need_apt+=(prometheus-blackbox-exporter)
command -v etcd >/dev/null 2>&1 || need_apt+=(etcd-server)
command -v amtool >/dev/null 2>&1 || need_apt+=(prometheus-alertmanager)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
python3 -m pip --version >/dev/null 2>&1 || need_apt+=(python3-pip)
# Node.js and npm build the web UI; Chromium runs its end-to-end tests.
command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if [ "${PHAROS_UI_TESTS:-1}" = 1 ]; then
  command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
fi
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "installing Debian packages: ${need_apt[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  if ! $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"; then
    $SUDO apt-get update -q
    $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
  fi
fi

# The OpenTelemetry Python SDK sends the OTLP end-to-end test's metrics. Not in Debian: from PyPI,
# into the user's site-packages where the system Python is externally managed (PEP 668).
# aiosmtpd is the SMTP server the email receiver is tested against.
py_pkgs=(opentelemetry-sdk opentelemetry-exporter-otlp-proto-http aiosmtpd)
if ! python3 -c 'import opentelemetry.sdk.metrics, opentelemetry.exporter.otlp.proto.http.metric_exporter, aiosmtpd' \
  >/dev/null 2>&1; then
  echo "installing Python packages: ${py_pkgs[*]}"
  python3 -m pip install -q "${py_pkgs[@]}" 2>/dev/null \
    || python3 -m pip install -q --user --break-system-packages "${py_pkgs[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
fi
