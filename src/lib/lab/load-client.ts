#!/usr/bin/env node
/**
 * The lab's application: run in the gateway namespace, it writes numbered rows through VIP-M
 * (one every 50 ms by default; with --connections N --interval-ms 0, N connections inserting
 * as fast as each commit returns) and logs every attempt as a JSON line:
 *   {"t":<epoch ms>,"n":<number>,"ok":true,"ms":<latency>}
 *   {"t":<epoch ms>,"n":<number>,"ok":false,"ms":<latency>,"err":"<one line>"}
 * An acknowledged n is a committed row the cluster promised to keep (its INSERT returned; n
 * is unique across connections); the drill later checks which of them the final primary
 * still has. Short connect and query timeouts, like an application with a sane pool: a dead
 * primary costs one failed attempt, not a hang. --statement-timeout-ms 0 sets no server-side
 * timeout: a statement_timeout that fires while a commit waits for a synchronous standby
 * cancels only the wait, and PostgreSQL then reports the commit as done (with a warning)
 * although the standby may not have it; the heavy scenarios must not count such commits.
 *
 * Usage: load-client.js --host IP --port N --db D --user U --passfile F --run ID --log FILE
 *        [--interval-ms 50] [--connections 1] [--query-timeout-ms 1000]
 *        [--statement-timeout-ms 1000] [--max-seconds 3600]
 */
import {createWriteStream, openSync, readFileSync} from 'node:fs'
import pg from 'pg'

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(`--${name}`)
  const v = i >= 0 ? process.argv[i + 1] : dflt
  if (v === undefined) {
    process.stderr.write(`load-client: missing --${name}\n`)
    process.exit(2)
  }
  return v
}

const host = arg('host')
const port = Number(arg('port', '5432'))
const database = arg('db')
const user = arg('user')
const password = readFileSync(arg('passfile'), 'utf8').trim()
const run = arg('run')
const intervalMs = Number(arg('interval-ms', '50'))
const connections = Math.max(1, Number(arg('connections', '1')))
const queryTimeoutMs = Number(arg('query-timeout-ms', '1000'))
const statementTimeoutMs = Number(arg('statement-timeout-ms', '1000'))
const stopAt = Date.now() + Number(arg('max-seconds', '3600')) * 1000
// Opened at once: the file existing tells `lab load start` the client runs.
const out = createWriteStream('', {fd: openSync(arg('log'), 'a')})

let stopping = false
for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, () => (stopping = true))

const oneLine = (e: unknown) =>
  String((e as Error)?.message ?? e)
    .split('\n')[0]
    .slice(0, 200)

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({
    host,
    port,
    database,
    user,
    password,
    connectionTimeoutMillis: 500,
    query_timeout: queryTimeoutMs,
    ...(statementTimeoutMs > 0 ? {statement_timeout: statementTimeoutMs} : {}),
    application_name: 'pgha-lab-load',
  })
  c.on('error', () => {}) // a dropped connection surfaces on the next query
  await c.connect()
  return c
}

/** One connection's writer: its own client, reconnecting after any failure. */
class Writer {
  private client?: pg.Client

  async attempt(n: number): Promise<void> {
    const started = Date.now()
    try {
      this.client ??= await connect()
      await this.client.query('INSERT INTO lab_writes (run, n) VALUES ($1, $2)', [run, n])
      out.write(JSON.stringify({t: Date.now(), n, ok: true, ms: Date.now() - started}) + '\n')
    } catch (e) {
      out.write(JSON.stringify({t: Date.now(), n, ok: false, ms: Date.now() - started, err: oneLine(e)}) + '\n')
      const c = this.client
      this.client = undefined
      // end() may wait on a dead peer; do not await it.
      c?.end().catch(() => {})
      // A refused connection returns at once: do not spin on it.
      if (intervalMs === 0 && Date.now() - started < 20) await new Promise((r) => setTimeout(r, 20))
    }
  }

  end(): void {
    this.client?.end().catch(() => {})
  }
}

let n = 0 // shared by every writer: one event loop, so ++n is unique
const writers = Array.from({length: connections}, () => new Writer())

async function writeLoop(w: Writer): Promise<void> {
  let next = Date.now()
  while (!stopping && Date.now() < stopAt) {
    await w.attempt(++n)
    if (intervalMs === 0) continue
    next += intervalMs
    const wait = next - Date.now()
    if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    else next = Date.now()
  }
}

await Promise.all(writers.map(writeLoop))
out.end(() => {
  for (const w of writers) w.end()
  process.exit(0)
})
setTimeout(() => process.exit(0), 2000).unref()
