#!/usr/bin/env bash
# Installs what frostwatch needs on a Debian machine with Node 20, then builds it.
#   scripts/install.sh           npm packages + build (the runtime installs influxd itself when it must)
#   scripts/install.sh --test    also the Debian packages the test suite drives (influxdb, mosquitto, clients, chromium)
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ] || [ "$node_major" -ge 23 ]; then
  echo "frostwatch needs Node.js 20 or 22 (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

want_debs=()
if [ "${1:-}" = "--test" ]; then
  for pair in influxd:influxdb influx:influxdb-client mosquitto:mosquitto mosquitto_pub:mosquitto-clients chromium:chromium; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || [ -x "/usr/sbin/${pair%%:*}" ] || want_debs+=("${pair##*:}")
  done
fi
if [ ${#want_debs[@]} -gt 0 ]; then
  step "Debian packages: ${want_debs[*]}"
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "run as root, or install: apt-get install -y ${want_debs[*]}" >&2; exit 1; }
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${want_debs[@]}"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

step "build (tsc, dashboard)"
npx tsc -p tsconfig.json
npm run --silent build:dashboard
