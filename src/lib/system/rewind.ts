import {statfs} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import type {Config} from '../config/schema.js'
import {addressOf} from '../config/net.js'
import type {SystemContext} from './exec.js'

/**
 * pg_rewind / pg_basebackup / pg_controldata / pg_waldump argv builders and parsers.
 * Pure functions (unit-tested) plus a few small probes. Passwords never appear here:
 * libpq reads them from the passfile named in the conninfo.
 */

const bin = (cfg: Config, name: string) => join(cfg.postgres.bindir, name)

/** pg_controldata prints localized text; force the C locale so the parser can read it. */
const C_LOCALE = {LC_ALL: 'C', LANG: 'C'}

function controlDataArgv(cfg: Config): string[] {
  return [bin(cfg, 'pg_controldata'), '-D', cfg.postgres.datadir]
}

/** The fields of pg_controldata pgha decides on. */
export interface ControlData {
  state: string
  timeline: number
  latestCheckpoint: string
  latestCheckpointRedo: string
  walLogHints: boolean
  checksumVersion: number
  systemIdentifier: string
  minRecoveryEnd: string
}

/** Pure: "Key:   value" lines → ControlData; throws naming the first missing key. */
export function parseControlData(text: string): ControlData {
  const kv = new Map<string, string>()
  for (const line of text.split('\n')) {
    const i = line.indexOf(':')
    if (i > 0) kv.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
  }
  const need = (k: string): string => {
    const v = kv.get(k)
    if (v === undefined) throw new Error(`pg_controldata output has no "${k}" line`)
    return v
  }
  return {
    state: need('Database cluster state'),
    timeline: Number(need("Latest checkpoint's TimeLineID")),
    latestCheckpoint: need('Latest checkpoint location'),
    latestCheckpointRedo: need("Latest checkpoint's REDO location"),
    walLogHints: need('wal_log_hints setting') === 'on',
    checksumVersion: Number(need('Data page checksum version')),
    systemIdentifier: need('Database system identifier'),
    minRecoveryEnd: kv.get('Minimum recovery ending location') ?? '0/0',
  }
}

/** pg_rewind accepts only a target that was shut down cleanly (as a primary or a standby). */
export function isCleanlyShutDown(c: ControlData): boolean {
  return c.state === 'shut down' || c.state === 'shut down in recovery'
}

/** Can pg_rewind work on this data directory, and why (said to the DBA). */
export function rewindCapability(c: ControlData): {possible: boolean; why: string} {
  if (c.walLogHints) return {possible: true, why: 'wal_log_hints is on, so pg_rewind can find every changed block'}
  if (c.checksumVersion > 0)
    return {possible: true, why: `data checksums are on (version ${c.checksumVersion}), so pg_rewind can find every changed block`}
  return {
    possible: false,
    why: 'wal_log_hints is off and data checksums are off, so pg_rewind cannot find hint-bit-only changes; a full pg_basebackup is needed',
  }
}

/** libpq conninfo value quoting: single quotes, backslash-escaped ' and \. */
export function conninfoValue(v: string): string {
  return /^[A-Za-z0-9_./:@-]+$/.test(v) ? v : `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
}

export interface ConninfoParts {
  host: string
  port: number
  user: string
  dbname?: string
  passfile?: string
  applicationName?: string
  connectTimeoutS?: number
}

/** Pure: a conninfo string without any password (libpq reads it from `passfile`). */
export function buildConninfo(p: ConninfoParts): string {
  const parts: [string, string | number | undefined][] = [
    ['host', p.host],
    ['port', p.port],
    ['user', p.user],
    ['dbname', p.dbname],
    ['passfile', p.passfile],
    ['application_name', p.applicationName],
    ['connect_timeout', p.connectTimeoutS],
  ]
  return parts
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${conninfoValue(String(v))}`)
    .join(' ')
}

/** VIP-M without its prefix: the address the standby streams from. */
function vipPrimaryHost(cfg: Config): string {
  return addressOf(cfg.network.vipPrimary)
}

/** Where rejoin copies from: VIP-M on the configured port unless a test/lab overrides it. */
export interface SourceServer {
  host: string
  port: number
}

export function defaultSource(cfg: Config): SourceServer {
  return {host: vipPrimaryHost(cfg), port: cfg.postgres.port}
}

/** Streaming conninfo written as primary_conninfo: replication user, passfile, our name. */
export function primaryConninfo(cfg: Config, src: SourceServer): string {
  return buildConninfo({
    host: src.host,
    port: src.port,
    user: cfg.postgres.replication.user,
    passfile: cfg.postgres.passfile,
    applicationName: cfg.node.name,
    connectTimeoutS: Math.max(2, Math.ceil(cfg.timing.probeTimeout / 1000) * 2),
  })
}

/** pg_rewind needs an ordinary (non-replication) connection to some database. */
export function rewindSourceConninfo(cfg: Config, src: SourceServer): string {
  return buildConninfo({
    host: src.host,
    port: src.port,
    user: cfg.postgres.replication.user,
    dbname: 'postgres',
    passfile: cfg.postgres.passfile,
    applicationName: `pgha-rewind-${cfg.node.name}`,
    connectTimeoutS: 10,
  })
}

export function pgRewindArgv(cfg: Config, sourceConninfo: string): string[] {
  return [bin(cfg, 'pg_rewind'), '--target-pgdata', cfg.postgres.datadir, '--source-server', sourceConninfo, '--progress']
}

/** Pure: the total of pg_rewind --progress ("123456/123456 kB (100%) copied"), the last one printed. */
export function parseRewindCopiedKb(output: string): number | undefined {
  const all = [...output.matchAll(/(\d+)\/(\d+) kB \(\d+%\) copied/g)]
  return all.length > 0 ? Number(all[all.length - 1][2]) : undefined
}

/**
 * Crash recovery in single-user mode, then a clean shutdown: what pg_rewind needs from a
 * target that lost power (pg_rewind ≥ 13 does the same itself; doing it here makes it
 * visible, bounded, and works on 12). stdin must be empty so the backend exits at once.
 */
export function singleUserRecoveryArgv(cfg: Config, pgMajor = 15): string[] {
  const conf = cfg.postgres.configFile ? ['-c', `config_file=${cfg.postgres.configFile}`] : []
  // The end-of-recovery checkpoint would recycle old WAL that pg_rewind still needs (back to
  // the last checkpoint before the divergence): keep it all for this one run.
  const keep = pgMajor >= 13 ? ['-c', 'wal_keep_size=1048576'] : ['-c', 'wal_keep_segments=65536']
  return [bin(cfg, 'postgres'), '--single', '-F', '-D', cfg.postgres.datadir, ...conf, '-c', 'archive_mode=off', ...keep, 'template1']
}

/** Full copy into a NEW directory; -R is not used because it writes the password into the config. */
export function pgBasebackupArgv(cfg: Config, conninfo: string, targetDir: string): string[] {
  return [
    bin(cfg, 'pg_basebackup'),
    '--pgdata',
    targetDir,
    '--dbname',
    conninfo,
    '--wal-method',
    'stream',
    '--checkpoint',
    'fast',
    '--no-password',
    '--progress',
  ]
}

/** Sibling directories on the data directory's filesystem, so renames are atomic. */
export function asideDirs(datadir: string, now: Date): {incoming: string; aside: string} {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-')
  return {incoming: `${datadir}.pgha-new-${stamp}`, aside: `${datadir}.pgha-old-${stamp}`}
}

/** Host-specific files that pg_rewind/pg_basebackup would overwrite with the source's copies. */
export const HOST_CONFIG_FILES = ['postgresql.conf', 'postgresql.auto.conf', 'pg_hba.conf', 'pg_ident.conf'] as const

/** Pure: required free bytes for a full copy, with a 10 % + 64 MB margin for WAL streamed meanwhile. */
export function requiredCopyBytes(sourceBytes: number): number {
  return Math.ceil(sourceBytes * 1.1) + 64 * 1024 * 1024
}

/** Free bytes for unprivileged writers on the filesystem holding `path`'s parent. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(dirname(path))
  return Number(s.bavail) * Number(s.bsize)
}

/** Apparent size of a directory (du as the OS user that can read it). */
export async function directoryBytes(ctx: SystemContext, cfg: Config, dir: string, timeoutMs: number): Promise<number | undefined> {
  const r = await ctx.probe(['du', '-sb', dir], {timeoutMs, asUser: cfg.postgres.osUser})
  const n = Number(r.stdout.split(/\s/)[0])
  return r.exitCode === 0 && Number.isFinite(n) ? n : undefined
}

export async function readControlData(ctx: SystemContext, cfg: Config, timeoutMs: number): Promise<ControlData | undefined> {
  const r = await ctx.probe(controlDataArgv(cfg), {timeoutMs, asUser: cfg.postgres.osUser, env: C_LOCALE})
  if (r.exitCode !== 0) return undefined
  return parseControlData(r.stdout)
}

/** LSN "X/Y" → bigint, for comparisons. */
export function lsnToBigInt(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn.trim())
  if (!m) throw new Error(`not an LSN: ${JSON.stringify(lsn)}`)
  return (BigInt('0x' + m[1]) << 32n) + BigInt('0x' + m[2])
}

/** pg_waldump over the local pg_wal from `startLsn` on timeline `tli` (it skips to the first record). */
export function walDumpArgv(cfg: Config, tli: number, startLsn: string): string[] {
  return [bin(cfg, 'pg_waldump'), '--path', join(cfg.postgres.datadir, 'pg_wal'), '--timeline', String(tli), '--start', startLsn]
}

export interface WalRecord {
  rmgr: string
  lsn: string
  desc: string
}

/** Pure: the records pg_waldump printed (its trailing "invalid record length" error is normal at end of WAL). */
export function parseWalDump(text: string): WalRecord[] {
  const out: WalRecord[] = []
  for (const line of text.split('\n')) {
    const m = /^rmgr:\s*(\S+)\s.*?\blsn:\s*([0-9A-F]+\/[0-9A-F]+),.*?\bdesc:\s*(.*)$/.exec(line)
    if (m) out.push({rmgr: m[1], lsn: m[2], desc: m[3].trim()})
  }
  return out
}

/** Pure: is the last WAL record a shutdown checkpoint? That record is the last thing a cleanly stopped primary writes. */
export function lastRecordIsShutdownCheckpoint(records: WalRecord[]): WalRecord | undefined {
  const last = records.at(-1)
  return last && last.rmgr === 'XLOG' && last.desc.startsWith('CHECKPOINT_SHUTDOWN') ? last : undefined
}

/** SQL that gives a non-superuser replication role what pg_rewind needs on the source (PG docs). */
export function rewindGrantsSql(user: string): string[] {
  const u = `"${user.replace(/"/g, '""')}"`
  return [
    `GRANT EXECUTE ON FUNCTION pg_catalog.pg_ls_dir(text, boolean, boolean) TO ${u}`,
    `GRANT EXECUTE ON FUNCTION pg_catalog.pg_stat_file(text, boolean) TO ${u}`,
    `GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text) TO ${u}`,
    `GRANT EXECUTE ON FUNCTION pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) TO ${u}`,
  ]
}
