#!/usr/bin/env bash
# `npm run demo`: a newcomer's first command. Installs what is missing (scripts/setup.sh),
# builds, then shows pgha's main job on two real hosts in network + PID namespaces on this
# machine: a failover (the primary loses power through its BMC) and a failback, under write
# load, with the timeline and the figures. Needs root (namespaces, BMC simulators).
# Extra arguments go to `pgha lab drill` (e.g. --json, --down, or other scenarios).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  exec sudo -n -E bash "$0" "$@"
fi
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then set -- failover failback; fi
exec node bin/run.js lab drill "$@"
