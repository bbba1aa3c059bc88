#!/usr/bin/env node
/**
 * The lab's application: run in the gateway namespace, it writes one numbered row through
 * VIP-M every 50 ms and logs every attempt as a JSON line:
 *   {"t":<epoch ms>,"n":<number>,"ok":true,"ms":<latency>}
 *   {"t":<epoch ms>,"n":<number>,"ok":false,"ms":<latency>,"err":"<one line>"}
 * An acknowledged n is a committed row the cluster promised to keep; the drill later checks
 * which of them the final primary still has. Short connect, query and statement timeouts,
 * like an application with a sane pool: a dead primary costs one failed attempt, not a hang.
 *
 * Usage: load-client.js --host IP --port N --db D --user U --passfile F --run ID --log FILE
 *        [--interval-ms 50] [--max-seconds 3600]
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
const stopAt = Date.now() + Number(arg('max-seconds', '3600')) * 1000
// Opened at once: the file existing tells `lab load start` the client runs.
const out = createWriteStream('', {fd: openSync(arg('log'), 'a')})

let client: pg.Client | undefined
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
    query_timeout: 1000,
    statement_timeout: 1000,
    application_name: 'pgha-lab-load',
  })
  c.on('error', () => {}) // a dropped connection surfaces on the next query
  await c.connect()
  return c
}

async function attempt(n: number): Promise<void> {
  const started = Date.now()
  try {
    client ??= await connect()
    await client.query('INSERT INTO lab_writes (run, n) VALUES ($1, $2)', [run, n])
    out.write(JSON.stringify({t: Date.now(), n, ok: true, ms: Date.now() - started}) + '\n')
  } catch (e) {
    out.write(JSON.stringify({t: Date.now(), n, ok: false, ms: Date.now() - started, err: oneLine(e)}) + '\n')
    const c = client
    client = undefined
    // end() may wait on a dead peer; do not await it.
    c?.end().catch(() => {})
  }
}

let n = 0
let next = Date.now()
while (!stopping && Date.now() < stopAt) {
  await attempt(++n)
  next += intervalMs
  const wait = next - Date.now()
  if (wait > 0) await new Promise((r) => setTimeout(r, wait))
  else next = Date.now()
}
out.end(() => {
  client?.end().catch(() => {})
  process.exit(0)
})
setTimeout(() => process.exit(0), 2000).unref()
