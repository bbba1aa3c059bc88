/**
 * What each config key means, next to the schema: docs/configuration.md is generated from
 * this table plus the schema's types, defaults and limits (src/lib/config/describe.ts).
 * `rules` states limits the schema enforces in code (refinements) and cannot be read from it.
 * A unit test fails when a schema key has no entry here, or an entry names no key.
 */
export interface KeyDoc {
  meaning: string
  rules?: string
}

const lag = (what: string): Record<string, KeyDoc> => ({
  maxAge: {meaning: `${what}: its replicated heartbeat is at most this old.`},
  maxBytes: {meaning: `${what}: it is at most this much WAL behind.`},
})
const prefixed = (prefix: string, docs: Record<string, KeyDoc>) =>
  Object.fromEntries(Object.entries(docs).map(([k, v]) => [`${prefix}.${k}`, v]))

export const KEY_DOCS: Record<string, KeyDoc> = {
  cluster: {meaning: 'Cluster name; the same on both hosts.'},
  'node.name': {meaning: "This host's name; must differ from `peer.name`."},
  'node.address': {meaning: "This host's own IPv4 address on `network.interface`."},
  'node.canPrimary': {meaning: '`false`: this host hands the primary role back when the peer standby is within `lag.yield`.'},
  'peer.name': {meaning: "The other host's name."},
  'peer.address': {meaning: "The other host's IPv4 address; must differ from `node.address`."},
  'network.interface': {
    meaning: 'Interface that carries the VIPs, e.g. `eth0`.',
    rules: '1-15 characters of letters, digits, `_ . @ -`; not `.` or `..`; not starting with `-`',
  },
  'network.gateway': {
    meaning: 'Probed by ARP every tick; a host that cannot reach it never acts.',
    rules: 'in the subnet of `node.address`; not `node.address` or `peer.address`',
  },
  'network.vipPrimary': {
    meaning: 'VIP-M with prefix, e.g. `192.0.2.100/24`; always on the primary.',
    rules: "in both hosts' subnet; not a host address, the gateway, or the network/broadcast address of its prefix",
  },
  'network.vipStandby': {
    meaning: 'VIP-S with prefix; on the standby (or on the survivor).',
    rules: 'as `network.vipPrimary`, and different from it',
  },
  'network.arpCount': {meaning: 'Gratuitous ARP announcements sent after claiming a VIP.'},
  'postgres.bindir': {meaning: 'Directory of the PostgreSQL programs.', rules: 'must contain `pg_ctl`'},
  'postgres.datadir': {meaning: 'The data directory of the local cluster.', rules: 'must exist and be a directory'},
  'postgres.port': {meaning: 'Port of the local server (and of the peer, through the VIPs).'},
  'postgres.osUser': {meaning: 'pg_ctl, psql and pg_rewind run as this user.'},
  'postgres.socketDir': {meaning: 'Unix socket directory of the local server.'},
  'postgres.passfile': {
    meaning: '`.pgpass`-format file with the heartbeat and replication passwords (PGPASSFILE); unset: libpq default.',
    rules: 'must exist; mode 600 (no group/other access)',
  },
  'postgres.heartbeat.database': {meaning: 'Database holding the `pgha.heartbeat` table.'},
  'postgres.heartbeat.user': {meaning: 'Non-superuser role that writes and reads the heartbeat.'},
  'postgres.replication.user': {meaning: 'Replication role a rejoined standby connects as.'},
  'postgres.stepTimeout': {meaning: 'Bound for pg_ctl start/stop/promote and other slow steps.'},
  'postgres.logFile': {
    meaning: 'pg_ctl `-l` file for server output before the logging collector starts; unset: `<datadir>/pgha-server.log`.',
  },
  'postgres.configFile': {
    meaning: '`postgresql.conf` outside the datadir (Debian: `/etc/postgresql/15/main/postgresql.conf`), passed as `-c config_file=`.',
  },
  'archive.mode': {meaning: "How the peer's WAL archive is mounted: `nfs`, `bind` or `none`."},
  'archive.source': {meaning: '`HOST:/path` for nfs, a directory for bind.', rules: 'required unless mode is `none`; `HOST:/path` for nfs'},
  'archive.mountpoint': {meaning: "Where the peer's archive is mounted."},
  'archive.options': {meaning: "Extra NFS mount options, appended to pgha's `soft,timeo,retrans`."},
  'archive.timeout': {meaning: 'No archive operation (mount, check, unmount) blocks longer than this.'},
  'fence.agent': {meaning: 'How THIS host powers off its PEER: `ipmitool`, `fence-agent`, `command` or `none`.'},
  'fence.name': {meaning: 'fence-agent program, e.g. `fence_ipmilan` or `/usr/sbin/fence_ilo`.', rules: 'required for agent `fence-agent`'},
  'fence.command': {
    meaning: 'argv with an `{action}` placeholder (off, on, status, reboot), e.g. `[/usr/local/bin/pdu, node2, "{action}"]`.',
    rules: 'required for agent `command`; must contain `{action}`; no control characters',
  },
  'fence.address': {
    meaning: "The peer's BMC: IPv4 address or host name.",
    rules: 'required for ipmitool and fence-agent; letters, digits, `. - :` only; not starting with `-`',
  },
  'fence.port': {meaning: "The peer's BMC port."},
  'fence.user': {meaning: 'BMC user.', rules: 'required for ipmitool and fence-agent; no control characters'},
  'fence.passwordFile': {
    meaning: 'File whose first line is the BMC password; never put in argv.',
    rules: 'this or `fence.passwordEnv` for ipmitool and fence-agent; a non-empty regular file, mode 600',
  },
  'fence.passwordEnv': {
    meaning: 'Name of an environment variable holding the BMC password.',
    rules: 'must be set in the environment of pgha',
  },
  'fence.ipmi.interface': {meaning: 'ipmitool `-I` interface.'},
  'fence.ipmi.cipherSuite': {meaning: 'ipmitool `-C` cipher suite (lanplus).'},
  'fence.options': {
    meaning: 'Extra `key=value` options given to a fence-agent on stdin, e.g. `{lanplus: "1"}`.',
    rules: 'names of 1-64 letters, digits, `_ -`; not `action` or `option` (pgha sets the action); values without control characters',
  },
  'fence.timeout': {meaning: 'Bound for one fence call.'},
  'fence.delay': {
    meaning: 'The standby waits this long before fencing the primary, so in a mutual-fencing race the primary (which has the data) wins.',
  },
  'fence.allowUnfencedPromotion': {
    meaning: 'Only with agent `none`: allow promotion without fencing (logged loudly every time).',
    rules: 'only with agent `none`',
  },
  'timing.interval': {meaning: 'Watch tick, start to start.'},
  'timing.checkTimes': {meaning: 'Consecutive failed checks before the peer counts as dead.'},
  'timing.probeTimeout': {
    meaning: 'Bound for every probe in a tick; a probe that times out is a failed observation.',
    rules: 'at most 10 × `timing.interval`',
  },
  'timing.startupDelay': {meaning: 'At startup, when VIP-M does not answer, wait this long so a peer mid-promotion can finish.'},
  'timing.peerStartTimeout': {
    meaning:
      'A peer whose PostgreSQL answers with an error (57P03 starting up, 28000/28P01 role or password, 3D000 database, missing heartbeat function) is alive: it is not fenced at startup, and the primary waits this long for it to become a standby before counting it as failed.',
  },
  ...prefixed('lag.promote', lag('A standby promotes only when it is within both limits')),
  ...prefixed('lag.releaseStandbyVip', lag('The survivor gives VIP-S back only to a peer standby within both limits')),
  ...prefixed('lag.yield', lag('A `canPrimary: false` primary yields only to a standby within both limits')),
  stateDir: {meaning: 'Directory of the watch state file (`state.json`, written atomically).'},
  'replication.mode': {
    meaning:
      '`sync`: the primary names the standby in `synchronous_standby_names`, every commit waits until the standby has flushed it, and the primary stops waiting only after it has fenced (verified power-off) a failed standby: zero acknowledged-write loss on two hosts. `async`: commits never wait; a failover may lose the last commits. See docs/replication.md.',
  },
  'replication.stallTimeout': {
    meaning:
      'A standby that answers but confirms no WAL (while WAL is pending, or with no walreceiver) for this long counts as failed: fenced, then sync is degraded.',
  },
  'replication.connectTimeout': {
    meaning:
      'After this node takes a primary role (a cold start, a restart with `synchronous_standby_names` still set), a standby that answers but has no replication connection yet gets this long to open one before the missing walreceiver counts as a stall. Its walreceiver connects through VIP-M, which the primary claims last, and retries every `wal_retrieve_retry_interval` (5 s by default). Commits that wait for it keep waiting meanwhile; a standby that does not answer at all gets no grace.',
  },
  'replication.sqlTimeout': {meaning: 'Bound of each synchronous-replication query (ALTER SYSTEM, pg_reload_conf, pg_stat_replication).'},
  hooks: {
    meaning:
      'Programs `pgha watch` runs on events, beside the loop (never delaying a tick): each `{on: [events], run: [argv], timeout}`; the event comes as `PGHA_*` variables and one JSON document on stdin. See docs/monitoring.md.',
    rules:
      '`run`: an argv whose first element is an absolute path to an existing regular file with an execute bit, checked at load (never a shell string); `on`: event names (omit for every event); `timeout`: 1s to 1h, default 10s',
  },
  'api.listen': {
    meaning: 'Where `pgha watch` serves the read-only health endpoints and `/metrics` (HOST:PORT); `off` (or `api: off`) disables it.',
    rules: 'HOST:PORT with a port up to 65535, or `off`',
  },
  'api.livenessTimeout': {meaning: '`/liveness` answers 503 when no tick finished for this long.'},
}
