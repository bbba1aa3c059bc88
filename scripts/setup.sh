#!/usr/bin/env bash
# Installs what pgha and its tests need on Debian 12, then the npm dependencies.
# Idempotent: installs only what is missing. Needs root (or sudo) for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
for p in postgresql postgresql-contrib iproute2 iputils-arping ipmitool openipmi fence-agents util-linux bsdutils procps python3 systemd prometheus haproxy curl; do
  have "$p" || need_pkgs+=("$p")
done
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  echo "setup: installing ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi
for bin in ip arping ipmitool ipmi_sim runuser unshare script promtool haproxy curl; do
  command -v "$bin" >/dev/null || { echo "setup: $bin is still missing after install" >&2; exit 1; }
done
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { echo "setup: no PostgreSQL server binaries under /usr/lib/postgresql" >&2; exit 1; }
id postgres >/dev/null 2>&1 || { echo "setup: OS user postgres is missing (the postgresql package creates it)" >&2; exit 1; }

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run build
echo "setup: done"
