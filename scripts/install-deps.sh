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
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
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

if ! command -v cargo >/dev/null 2>&1; then
  echo "cargo not found: install Rust (https://rustup.rs) first" >&2
  exit 1
fi
