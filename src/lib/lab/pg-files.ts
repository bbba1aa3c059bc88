import {chownSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {StepFailedError} from '../errors.js'
import type {ClusterAuth, PgNode} from './pgcluster.js'

/**
 * Pure text of the files a lab or test PostgreSQL node is made of (its settings include,
 * pg_hba.conf, a .pgpass line), and writing files and directories owned by the postgres
 * OS user.
 */

/** Pure: the settings file every lab node includes (pgha-node.conf). */
export function nodeSettings(node: PgNode, major: number, extra: Record<string, string> = {}): string {
  const base: Record<string, string> = {
    listen_addresses: `'${node.listen}'`,
    port: String(node.port),
    unix_socket_directories: `'${node.socketDir}'`,
    wal_level: 'replica',
    hot_standby: 'on',
    wal_log_hints: 'on',
    max_wal_senders: '5',
    max_replication_slots: '5',
    max_connections: '30',
    shared_buffers: '16MB',
    logging_collector: 'off',
    password_encryption: "'scram-sha-256'",
    ...(major >= 13 ? {wal_keep_size: "'64MB'"} : {wal_keep_segments: '4'}),
    ...extra,
  }
  return (
    '# written by pgha lab (pgcluster.ts)\n' +
    Object.entries(base)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n') +
    '\n'
  )
}

/** Pure: pg_hba.conf: peer for the OS superuser, scram-sha-256 for everyone else. */
export function hbaLines(auth: Pick<ClusterAuth, 'networks' | 'replicationUser' | 'heartbeatUser'>, osUser = 'postgres'): string {
  const lines = [
    '# written by pgha lab (pgcluster.ts)',
    `local all         ${osUser} peer`,
    'local all         all scram-sha-256',
    `local replication ${auth.replicationUser} scram-sha-256`,
  ]
  for (const net of auth.networks) {
    lines.push(`host  replication ${auth.replicationUser} ${net} scram-sha-256`)
    lines.push(`host  all         ${auth.heartbeatUser} ${net} scram-sha-256`)
    lines.push(`host  all         ${auth.replicationUser} ${net} scram-sha-256`)
  }
  return lines.join('\n') + '\n'
}

/** Pure: one .pgpass line with libpq's escaping of ':' and '\'. */
export function passfileLine(e: {host: string; port: number | '*'; database: string; user: string; password: string}): string {
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:')
  return [e.host, String(e.port), e.database, e.user, e.password].map(esc).join(':')
}

function ownerIds(user: string): {uid: number; gid: number} {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${user}:`))
  if (!line) throw new StepFailedError(`OS user ${user} does not exist`, 'install PostgreSQL (it creates the postgres user)')
  const f = line.split(':')
  return {uid: Number(f[2]), gid: Number(f[3])}
}

const amRoot = () => typeof process.getuid === 'function' && process.getuid() === 0

/** mkdir -p, owned by `user` (when we are root) so initdb/postgres can use it. */
export function prepareDir(path: string, user = 'postgres', mode = 0o700): void {
  mkdirSync(path, {recursive: true, mode})
  if (amRoot()) {
    const {uid, gid} = ownerIds(user)
    chownSync(path, uid, gid)
  }
}

/** Write a file owned by `user` with `mode` (600 for password files: libpq insists). */
export function writeOwnedFile(path: string, content: string, user = 'postgres', mode = 0o600): void {
  writeFileSync(path, content, {mode})
  if (amRoot()) {
    const {uid, gid} = ownerIds(user)
    chownSync(path, uid, gid)
  }
}
