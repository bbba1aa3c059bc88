import pg from 'pg'
import type {Sample} from './figures.js'
import {LAB_NODES, type LabLayout, LOAD_DB, LOAD_USER, PG_PORT} from './layout.js'
import {readSecretFile} from './secrets.js'

/**
 * The ids of one load run the final primary (the host writable with VIP-M) has; null when
 * there is no primary to ask or it does not answer.
 */
export async function idsOnFinalPrimary(lab: LabLayout, s: Sample, run: string): Promise<number[] | null> {
  const primary = LAB_NODES.find((n) => s.hosts[n].writable === true && s.hosts[n].vipM)
  if (!primary) return null
  const c = new pg.Client({
    host: lab.hosts[primary].socketDir,
    port: PG_PORT,
    user: LOAD_USER,
    database: LOAD_DB,
    password: readSecretFile(lab.loadPassfile),
    connectionTimeoutMillis: 2000,
    query_timeout: 15_000,
  })
  c.on('error', () => {})
  try {
    await c.connect()
    const r = await c.query<{n: number}>('SELECT n FROM lab_writes WHERE run = $1', [run])
    return r.rows.map((x) => x.n)
  } catch {
    return null
  } finally {
    c.end().catch(() => {})
  }
}
