/**
 * What a DBA should do when the watch log shows a warn or alert rule (`rule=` field).
 * Pure data, keyed by transition id; docs/runbook.md is generated from it and from the
 * transition table (`npm run docs`). test/unit/core/runbook.test.ts keeps the two in step: every
 * warn/alert row needs advice here, and advice for a rule that no longer exists fails.
 */

const NO_FENCE =
  'pgha cannot fence (fence.agent is none), so it does nothing. Make sure the peer is really powered off (its BMC, console or PDU). Then configure `fence.agent` so pgha can fence it next time, or finish by hand: for a failover `pgha promote --yes` on the standby (allowed while VIP-M is silent on ARP; `--force` only if you vouch the old primary is down), then `pgha claim-vip primary`; for a dead standby `pgha claim-vip standby` on the primary.'
const TWO_HOLDERS =
  'Two hosts answer for VIP-M. Find both with `pgha status`. Decide which host is the real primary (writable, newest data), then run `pgha release-vips --all --yes` on the other one. pgha does nothing until one holder is left.'

export const RUNBOOK_ADVICE: Readonly<Record<string, string>> = {
  'any.paused': 'Nothing to fix: someone ran `pgha pause`. When the maintenance is over, run `pgha resume`. `pgha status` shows the flag.',
  'any.no-interface':
    'The interface named in `network.interface` does not exist on this host, so pgha can neither probe the gateway nor hold a VIP, and does nothing. List the names with `ip link`, fix `network.interface` in the config, check it with `pgha config`, then restart the watch (`systemctl restart pgha`).',
  'any.isolated':
    "Check this host's network: link, switch port, the gateway (`network.gateway`). While the gateway does not answer, this host changes nothing, which is what keeps an isolated host from acting. Nothing to do in pgha.",

  'starting.vip-conflict': TWO_HOLDERS,
  'starting.vipm-taken':
    'Another host answers ARP for VIP-M, but nothing writable answers there. Find out what holds the address (`pgha status`, `arping -D -I IFACE VIP` from here). If it is a stale address on a dead host, release it there (`pgha release-vips --all --yes`) or fence that host. This node then starts as primary or rejoins.',
  'starting.primary-tie':
    'Both databases were writable and neither held VIP-M, so the node with the lower name keeps the primary role and this one rejoins. Before it rejoins, check which side has the newer data (the last writes your application made). If this node has them, run `pgha pause` and sort it out by hand.',
  'starting.primary-peer-not-ready':
    "The peer's PostgreSQL answers but is not ready (it is starting up or replaying WAL, or it rejects the heartbeat role because it has not replayed `pgha init` yet), so it is alive and is not fenced. This node starts as primary with VIP-M and leaves VIP-S to it. Usually nothing to do: it becomes a standby by itself. If it does not within `timing.peerStartTimeout`, look at its server log and at `pgha status` there.",
  'starting.fence-then-primary.no-fence':
    'pgha cannot fence (fence.agent is none), so this node does not start as primary while the peer is silent. Make sure the peer is really powered off, then start by hand: `pgha start-db`, `pgha claim-vip primary`, `pgha claim-vip standby`. Or configure `fence.agent`.',
  'starting.fence-then-primary':
    'The peer does not answer at startup, so this node fences it before it takes the primary role. Check why the peer is down. If fencing keeps failing, check the BMC: `pgha fence-peer --action status`.',
  'starting.vipm-unknown':
    'The ARP probe of VIP-M gives no answer either way. Check that `arping` works on `network.interface` (`pgha claim-vip primary --dry-run` runs the same check).',
  'starting.missing':
    'The data directory is empty and no primary answers through VIP-M to copy from. Bring the primary up, or restore this host by hand. Once a primary holds VIP-M, this node rebuilds itself (`pgha rejoin`).',
  'starting.unknown':
    'pgha cannot read the data directory. Check `postgres.datadir`, its owner and mode, and the disk. `pgha detect-role` shows the error.',

  'standby.promoted-conflict':
    "This standby's database was writable while another host is the primary. pgha stops it, and it rejoins as a standby. Afterwards, check whether clients wrote to it: those writes are not on the primary.",
  'standby.promoted-claim.no-fence': NO_FENCE,
  'standby.promoted-claim':
    'A failover stopped half-way (the database is promoted, VIP-M is not claimed yet). pgha fences the peer again, then claims VIP-M. If it repeats, look at the `failed=` field of the log line.',
  'standby.restart-db': "The standby's server was stopped. pgha starts it. If this repeats, read the server log (`postgres.logFile`).",

  'primary.standby-not-ready':
    'The standby answers but is not ready yet (starting up, replaying WAL, or rejecting the heartbeat role). pgha waits up to `timing.peerStartTimeout` before counting it as failed; the reason says how long is left. Check its server log (a long WAL replay after a power cut is normal). If the role or password is rejected, run `pgha init` on the primary and check the passfile on both hosts.',
  'primary.sync-stalled':
    'The synchronous standby answers but confirms no WAL (stalled or frozen walreceiver, a very slow disk), so commits on the primary are waiting. pgha fences the standby (verified power-off), then clears `synchronous_standby_names` so the commits proceed, and claims VIP-S. Afterwards: find out why the standby stalled (its server log, disk, `pgha status` there), power it on, let it rejoin; sync is re-armed by itself once it has caught up.',
  'primary.sync-stalled.no-fence':
    'Commits on the primary are waiting for a synchronous standby that does not confirm WAL, and pgha cannot fence (fence.agent is none), so it will not stop waiting by itself. Make sure the standby is really down or stuck, then release the commits with `pgha degrade --yes` (risk: commits acknowledged after that exist only on this host until the standby catches up). Or configure `fence.agent`, or choose `replication.mode: async`.',
  'primary_standby.sync-stalled':
    'The synchronous standby answers but confirms no WAL (stalled or frozen walreceiver, a very slow disk), so commits on the primary are waiting. pgha fences the standby (verified power-off), then clears `synchronous_standby_names` so the commits proceed, and claims VIP-S. Afterwards: find out why the standby stalled (its server log, disk, `pgha status` there), power it on, let it rejoin; sync is re-armed by itself once it has caught up.',
  'primary_standby.sync-stalled.no-fence':
    'Commits on the primary are waiting for a synchronous standby that does not confirm WAL, and pgha cannot fence (fence.agent is none), so it will not stop waiting by itself. Make sure the standby is really down or stuck, then release the commits with `pgha degrade --yes` (risk: commits acknowledged after that exist only on this host until the standby catches up). Or configure `fence.agent`, or choose `replication.mode: async`.',
  'primary.arm-sync':
    'The standby streams again and has caught up, so pgha names it in `synchronous_standby_names` again: from now on every commit waits for it (zero acknowledged-write loss on a failover). Nothing to do; `pgha status` shows the sync state.',
  'standby.primary-unseen':
    'This standby has not seen its primary since it took the standby role (a cold start: both hosts booted, or this watch restarted). A primary booting at the same time waits `timing.startupDelay` and then still starts its database and claims VIP-M, so this standby waits that long before counting it as failed; the reason says how long is left. Usually nothing to do. If the primary host is really down, the usual checks and fence follow.',
  'primary.sync-connect-wait':
    "This node has just taken the primary role with `synchronous_standby_names` still naming the standby (a cold start or a restart), and the standby answers but has not opened its replication connection yet: it connects through VIP-M, which the primary claims last, and retries every `wal_retrieve_retry_interval`. Commits wait meanwhile. pgha gives it `replication.connectTimeout` before treating it as stalled (fence, then degrade). If it lasts, check the standby's server log for connection errors.",
  'standby.primary-not-ready':
    "The primary's PostgreSQL answers but is not ready (starting up or in crash recovery after a power cut), so this standby does not fence it: the host with the data is alive. Usually nothing to do. If it is still not ready after `timing.peerStartTimeout`, this standby counts it as failed and fails over; look at the primary's server log.",
  'any.stand-down':
    "This node's own database is not healthy. The peer answers, so this node does nothing. Fix the local server (server log, disk, `pgha detect-role`). The loop resumes by itself when it answers again.",
  'any.local-and-peer-down':
    'Neither database answers. pgha takes no action. Fix the local server first (server log, disk, `pgha heartbeat`), then check the peer. `pgha status` shows both.',

  'standby.holds-vipm': 'This standby held VIP-M. pgha releases it. Check who added it (a manual `ip addr add`, a failed switchover).',
  'standby.claim-vips':
    'VIP-S was missing and free. pgha claims it back. If it keeps disappearing, check what removes it (network scripts, DHCP, another tool).',
  'standby.vips-missing':
    'VIP-S is not here and not free. Find the holder (`pgha status`). If it is a stale address on another host, release it there: `pgha release-vips --yes`.',
  'standby.primary-starting':
    "The primary is up but has not claimed VIP-M yet (it waits `timing.startupDelay` after a start). Wait. If it lasts longer than `timing.startupDelay`, check the primary's watch log.",
  'standby.stale':
    'The primary does not answer and this standby is too far behind (`lag.promote`), so it will not promote: that would lose writes. Bring the old primary back if at all possible. Promoting by hand (`pgha promote --yes`) loses the writes the standby did not receive.',
  'standby.suspect':
    "The primary missed a heartbeat. pgha counts up to `timing.checkTimes`, then fails over. If this shows up often without a real failure, the primary or the network is slow: check the primary's load, then raise `timing.probeTimeout`.",
  'standby.fence-wait':
    'The primary failed every check. The standby waits `fence.delay`, then fences and promotes. Nothing to do. Read on in the log for the outcome.',
  'standby.failover.no-fence': NO_FENCE,
  'standby.failover':
    'A failover is running: fence the primary, promote, claim VIP-M. Check the result in the next log lines. When the old primary is repaired and powered on, it rejoins as a standby by itself. If the fence fails, pgha retries every tick: check the BMC with `pgha fence-peer --action status`.',

  'primary.demote':
    'Another host is the writable primary with VIP-M. This old primary stops and rejoins as its standby. Afterwards, check for writes made here after the failover: they are not on the new primary.',
  'primary.vipm-conflict': TWO_HOLDERS,
  'primary.reclaim-vipm':
    'VIP-M was missing from this primary and was free. pgha claims it back. If it keeps disappearing, check what removes it.',
  'primary.vipm-missing':
    'VIP-M is not on this primary and not free. Clients may not reach the primary. Find the holder (`pgha status`) and release it there, or fence that host.',
  'primary.yield':
    'This host has `node.canPrimary: false` and the standby is caught up. It stops its database and releases VIP-M. The standby fences it and takes over. If that is not wanted, set `node.canPrimary: true`.',
  'primary.suspect':
    'The standby missed a heartbeat. After `timing.checkTimes` misses the primary fences it and takes VIP-S. Check the standby host and the network.',
  'primary.fence-standby.no-fence': NO_FENCE,
  'primary.fence-standby':
    'The standby is dead. The primary fences it and takes VIP-S. Repair the standby and power it on: it comes back as a standby, and VIP-S is handed back when it is caught up.',

  'primary_standby.reclaim-vips': 'VIP-S was missing from the survivor and was free. pgha claims it back.',
  'primary_standby.vips-missing':
    'The state of VIP-S is unknown or another host holds it. Check `pgha status` and the `arping` probe on `network.interface`.',
}
