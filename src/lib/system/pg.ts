import {readFileSync} from 'node:fs'
import {homedir} from 'node:os'
import {join} from 'node:path'
import pg from 'pg'
import type {Config} from '../config/schema.js'
import {registerSecret} from './redact.js'

/**
 * node-postgres access for the heartbeat user. Every client has hard timeouts (connect,
 * client-side query read, server-side statement) and is always closed, so a dead peer or a
 * wedged server can neither hang a probe nor keep the process alive.
 */

/** Where to connect: the local Unix socket, or a TCP address (peer, VIP-M, VIP-S). */
export type PgEndpoint = {kind: 'socket'; dir: string; port: number} | {kind: 'tcp'; host: string; port: number}

export interface PgAccessOptions {
  /** Bound for the whole connect + query; each timeout below derives from it. */
  timeoutMs: number
  user?: string
  database?: string
  /** Overrides cfg.postgres.passfile / PGPASSFILE / ~/.pgpass. */
  passfile?: string
}

export interface PgpassEntry {
  host: string
  port: string
  database: string
  user: string
  password: string
}

/** Pure: parse a libpq password file (host:port:database:user:password, `\:` and `\\` escapes, # comments). */
export function parsePgpass(text: string): PgpassEntry[] {
  const out: PgpassEntry[] = []
  for (const raw of text.split(/\r?\n/)) {
    if (raw.trim() === '' || raw.startsWith('#')) continue
    const fields: string[] = []
    let cur = ''
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i]
      if (ch === '\\' && i + 1 < raw.length) {
        cur += raw[++i]
      } else if (ch === ':' && fields.length < 4) {
        fields.push(cur)
        cur = ''
      } else {
        cur += ch
      }
    }
    fields.push(cur)
    if (fields.length !== 5) continue // libpq ignores malformed lines too
    const [host, port, database, user, password] = fields
    out.push({host, port, database, user, password})
  }
  return out
}

/** Pure: the first matching entry's password, like libpq (`*` matches anything; "localhost" also matches a socket). */
export function lookupPgpass(
  entries: PgpassEntry[],
  want: {host: string; port: number; database: string; user: string; socket?: boolean},
): string | undefined {
  const m = (field: string, value: string) => field === '*' || field === value
  for (const e of entries) {
    const hostOk = m(e.host, want.host) || (want.socket === true && e.host === 'localhost')
    if (hostOk && m(e.port, String(want.port)) && m(e.database, want.database) && m(e.user, want.user)) return e.password
  }
  return undefined
}

/** The password file libpq would use: the config's, else PGPASSFILE, else ~/.pgpass. */
function passfilePath(cfg: Config, override?: string, env: NodeJS.ProcessEnv = process.env): string {
  return override ?? cfg.postgres.passfile ?? env.PGPASSFILE ?? join(homedir(), '.pgpass')
}

function readPassword(file: string, want: Parameters<typeof lookupPgpass>[1]): string | undefined {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return undefined // no file: the server may not ask for a password (trust/peer)
  }
  const entries = parsePgpass(text)
  for (const e of entries) registerSecret(e.password)
  return lookupPgpass(entries, want)
}

/**
 * Register every password in the passfile pgha's children (psql, pg_basebackup, pg_rewind) read
 * for themselves, so their output can never print one. Silent when the file cannot be read.
 */
export function registerPassfileSecrets(cfg: Config, env: NodeJS.ProcessEnv = process.env): void {
  try {
    for (const e of parsePgpass(readFileSync(passfilePath(cfg, undefined, env), 'utf8'))) registerSecret(e.password)
  } catch {
    // No passfile: nothing to hide.
  }
}

/** Pure: strip the prefix from "a.b.c.d/nn" (the config's one address parser does it). */
export {addressOf as hostOf} from '../config/net.js'

export function localEndpoint(cfg: Config): PgEndpoint {
  return {kind: 'socket', dir: cfg.postgres.socketDir, port: cfg.postgres.port}
}

export function describeEndpoint(e: PgEndpoint): string {
  return e.kind === 'socket' ? `${e.dir}/.s.PGSQL.${e.port}` : `${e.host}:${e.port}`
}

/** Pure: the node-postgres client config (password is resolved lazily, only if the server asks). */
export function clientConfig(cfg: Config, endpoint: PgEndpoint, opts: PgAccessOptions): pg.ClientConfig {
  const user = opts.user ?? cfg.postgres.heartbeat.user
  const database = opts.database ?? cfg.postgres.heartbeat.database
  const host = endpoint.kind === 'socket' ? endpoint.dir : endpoint.host
  const file = passfilePath(cfg, opts.passfile)
  const t = Math.max(100, opts.timeoutMs)
  return {
    host,
    port: endpoint.port,
    user,
    database,
    // A function keeps the secret out of the config object (and so out of any dump of it).
    password: async () => readPassword(file, {host, port: endpoint.port, database, user, socket: endpoint.kind === 'socket'}) ?? '',
    application_name: 'pgha',
    connectionTimeoutMillis: t,
    query_timeout: t,
    statement_timeout: t,
    lock_timeout: t,
    idle_in_transaction_session_timeout: Math.max(t * 2, 1000),
    keepAlive: true,
  }
}

/** Close a client; if a goodbye does not finish quickly, destroy the socket. */
export async function closeClient(client: pg.Client, graceMs = 500): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const forced = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      ;(client as unknown as {connection?: {stream?: {destroy(): void}}}).connection?.stream?.destroy()
      resolve()
    }, graceMs)
    timer.unref()
  })
  await Promise.race([client.end().catch(() => undefined), forced])
  clearTimeout(timer)
}

/** A connection kept open by the caller (close it with closeClient); errors after connect are swallowed. */
export async function openClient(
  cfg: Config,
  endpoint: PgEndpoint,
  opts: PgAccessOptions & {applicationName?: string},
): Promise<pg.Client> {
  const client = new pg.Client({
    ...clientConfig(cfg, endpoint, opts),
    ...(opts.applicationName ? {application_name: opts.applicationName} : {}),
  })
  client.on('error', () => undefined)
  try {
    await client.connect()
  } catch (error) {
    await closeClient(client, 100)
    throw error
  }
  return client
}

/** Connect, run `fn`, always close. Errors propagate (callers decide whether a failure is an observation). */
export async function withPgClient<T>(
  cfg: Config,
  endpoint: PgEndpoint,
  opts: PgAccessOptions,
  fn: (c: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client(clientConfig(cfg, endpoint, opts))
  // Without a listener an 'error' after a dead socket would crash the process.
  client.on('error', () => undefined)
  // The per-phase timeouts (connect, each query) could add up; this bounds the whole call.
  const totalMs = Math.max(100, opts.timeoutMs)
  let timer: NodeJS.Timeout | undefined
  const overall = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      ;(client as unknown as {connection?: {stream?: {destroy(): void}}}).connection?.stream?.destroy()
      reject(new Error(`no answer from ${describeEndpoint(endpoint)} within ${totalMs} ms`))
    }, totalMs)
    timer.unref()
  })
  overall.catch(() => undefined)
  try {
    return await Promise.race([
      (async () => {
        await client.connect()
        return fn(client)
      })(),
      overall,
    ])
  } finally {
    clearTimeout(timer)
    await closeClient(client, 200)
  }
}

/** One line from a pg/socket error, never containing the password. */
export function pgErrorLine(err: unknown): string {
  const e = err as {message?: string; code?: string}
  const msg = (e?.message ?? String(err)).split('\n')[0]
  return e?.code && !msg.includes(e.code) ? `${msg} (${e.code})` : msg
}

/** The SQLSTATE of an error PostgreSQL sent (node-postgres puts it in `code`), for the probe's classification. */
export function sqlStateOf(error: unknown): {sqlState?: string} {
  const code = (error as {code?: unknown})?.code
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? {sqlState: code} : {}
}
