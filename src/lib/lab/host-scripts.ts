import {LAB_PREFIX_LEN, type HostLayout} from './layout.js'
import {PG_BINDIR} from './host-config.js'

/**
 * The two shell programs that make a lab host: its init (PID 1 of the host's PID namespace)
 * and its power switch (the BMC's chassis_control program). Pure text builders; `lab up`
 * writes them into the host's directory so an operator can read exactly what runs.
 */

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`

export interface HostInitOptions {
  /** argv of `pgha` (node + bin/run.js) as seen from inside the host. */
  pghaArgv: string[]
  bindir?: string
}

/**
 * PID 1 of a lab host. Like systemd on a real host: it brings up loopback, starts what is
 * enabled (PostgreSQL directly only in the no-watch bootstrap; normally `pgha watch`, whose
 * startup sequence starts PostgreSQL itself), restarts watch on failure (Restart=on-failure,
 * RestartSec=2) and reaps orphans (bash reaps any child on SIGCHLD), so a stopped
 * postmaster never lingers as a zombie that pg_ctl would mistake for a running server.
 */
export function hostInitScript(h: HostLayout, opts: HostInitOptions): string {
  const pgCtl = `${opts.bindir ?? PG_BINDIR}/pg_ctl`
  const watch = [...opts.pghaArgv, 'watch', '--config', h.configFile, '--log-format', 'json'].map(q).join(' ')
  return `#!/bin/bash
# PID 1 of lab host ${h.node} (network namespace ${h.netns}), written by \`pgha lab up\`.
# Power cut = SIGKILL to the \`unshare\` process above this one: the kernel then kills
# every process of the host, PostgreSQL and pgha watch included.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LOG=${q(h.initLog)}
log() { echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) ${h.node} init: $*" >> "$LOG"; }
log "power on"
# Nothing of this host can run at power-on, but a power cut leaves postmaster.pid behind, and in
# a fresh PID namespace its PID may belong to a live process (PostgreSQL then refuses to start).
rm -f ${q(h.datadir + '/postmaster.pid')}
# Boot networking: a powered-off host lost every runtime address (VIPs included).
ip link set lo up
ip addr flush dev eth0
ip addr add ${h.address}/${LAB_PREFIX_LEN} dev eth0
ip link set eth0 up
PG_STARTED=""
WATCH_SUP=""
# Start what is enabled and not yet running (boot, and SIGUSR1 = "systemctl start").
start_services() {
  if [ -e ${q(h.postgresEnabledFile)} ] && [ -z "$PG_STARTED" ]; then
    PG_STARTED=1
    log "starting PostgreSQL (bootstrap mode: no pgha watch)"
    ( runuser -u postgres -- ${q(pgCtl)} -D ${q(h.datadir)} -l ${q(h.pgLog)} -o ${q(`-c config_file=${h.pgConf}`)} -w -t 60 start >> "$LOG" 2>&1 || log "pg_ctl start failed" ) &
  fi
  if [ -e ${q(h.watchEnabledFile)} ] && ! { [ -n "$WATCH_SUP" ] && kill -0 "$WATCH_SUP" 2>/dev/null; }; then
    (
      while [ -e ${q(h.watchEnabledFile)} ]; do
        log "starting pgha watch"
        ${watch} >> ${q(h.watchLog)} 2>&1
        rc=$?
        log "pgha watch exited $rc"
        [ "$rc" -eq 0 ] && break
        sleep 2
      done
    ) &
    WATCH_SUP=$!
  fi
}
trap start_services USR1
start_services
while :; do
  sleep 3600 &
  SLEEP=$!
  wait "$SLEEP"
  kill "$SLEEP" 2>/dev/null
done
`
}

/**
 * What the lab's chassis program (scripts/lab-chassis.sh, run by the host's BMC) starts for
 * power on: the host = a PID + mount namespace inside the host's network namespace, with the
 * init above as PID 1. The `unshare` process is the pid the chassis program records.
 */
export function hostStartScript(h: HostLayout): string {
  return `#!/bin/bash
# Power on of lab host ${h.node}: run by scripts/lab-chassis.sh (the BMC's chassis program).
exec ip netns exec ${q(h.netns)} unshare --pid --fork --kill-child --mount-proc /bin/bash ${q(h.initScript)}
`
}

/**
 * Power cut, called by the chassis program with the host's pid: SIGKILL to the unshare
 * process (its child, the host's init, dies with it and the kernel kills the whole PID
 * namespace), then the NIC goes dark: a machine without power answers no ARP and comes back
 * without its runtime addresses (VIPs included).
 */
export function hostStopScript(h: HostLayout): string {
  return `#!/bin/bash
# Power off of lab host ${h.node}: run by scripts/lab-chassis.sh with the host's pid.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
pid=\${1:?host pid}
init=$(awk '{print $1}' "/proc/$pid/task/$pid/children" 2>/dev/null)
echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) ${h.node} power: cut (SIGKILL to $pid)" >> ${q(h.initLog)}
kill -KILL "$pid" 2>/dev/null
ip -n ${q(h.netns)} link set eth0 down 2>/dev/null
ip -n ${q(h.netns)} addr flush dev eth0 2>/dev/null
# The host is off once its init is gone (the kernel has then killed every process in it).
for _ in $(seq 1 150); do
  [ -z "$init" ] && break
  st=$(awk '{print $3}' "/proc/$init/stat" 2>/dev/null) || break
  [ "$st" = "Z" ] && break
  sleep 0.02
done
echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) ${h.node} power: off" >> ${q(h.initLog)}
`
}
