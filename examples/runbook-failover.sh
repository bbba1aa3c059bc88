#!/usr/bin/env bash
# By-hand failover drill with pgha's steps: run it on the STANDBY host when the primary is
# gone (or in a drill, after powering it off). Every step is idempotent: if the script stops
# half-way, fix the cause and run it again. Add --dry-run to any step to see the exact
# commands and SQL first. Exit codes: 0 done, 1 step failed, 2 usage/config, 3 refused for safety.
set -euo pipefail
PGHA=${PGHA:-pgha}
CONFIG=${CONFIG:-/etc/pgha/pgha.config.yaml}
p() { echo "+ $*" >&2; "$PGHA" "$@" --config "$CONFIG"; }

# 1. Where are we? Must be a standby (in recovery), otherwise there is nothing to fail over.
p detect-role

# 2. Is the primary really gone? A working heartbeat through VIP-M means: stop here.
if p heartbeat --target vip-primary; then
  echo "primary still answers through VIP-M: no failover" >&2
  exit 3
fi

# 3. Never promote a stale standby: the replicated heartbeat must be fresh enough
#    (lag.promote in the config). heartbeat --target local prints age and lag.
p heartbeat --target local

# 4. Power the old primary off through its BMC, retrying until it is confirmed off.
p fence-peer --action off --retry --max-wait 60s --yes

# 5. Promote: refuses (exit 3) unless the peer is fenced or VIP-M is silent.
p promote --yes

# 6. Take VIP-M (refused while any other host answers ARP for it). VIP-S stays here too:
#    this host is now primary_standby until the old primary returns as a standby.
p claim-vip primary

# 7. Confirm writes work through the new primary.
p heartbeat --target local

echo "failover done: this host is primary_standby. When the old primary is repaired, run" >&2
echo "'pgha rejoin' on it, then 'pgha release-vips' here to give VIP-S back." >&2
