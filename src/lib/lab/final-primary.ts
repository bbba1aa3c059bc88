import pg from 'pg'
import {type LoadEntry, lostWrites, type Sample} from './figures.js'
import {LAB_NODES, type LabLayout, LOAD_DB, LOAD_USER, PG_PORT} from './layout.js'
import {readSecretFile} from './secrets.js'

/**
 * Acknowledged writes of one load run that the final primary (the host writable with VIP-M)
 * does not have; null when there is no primary to ask or it does not answer.
 */
export async function lostOnFinalPrimary(lab: LabLayout, s: Sample, run: string, entries: LoadEntry[]): Promise<number | null> {
  const primary = LAB_NODES.find((n) => s.hosts[n].writable === true && s.hosts[n].vipM)
  if (!primary) return null
  const c = new pg.Client({
    host: lab.hosts[primary].socketDir,
    port: PG_PORT,
    user: LOAD_USER,
    database: LOAD_DB,
    password: readSecretFile(lab.loadPassfile),
    connectionTimeoutMillis: 2000,
    query_timeout: 5000,
  })
  c.on('error', () => {})
  try {
    await c.connect()
    const r = await c.query<{n: number}>('SELECT n FROM lab_writes WHERE run = $1', [run])
    return lostWrites(
      entries,
      r.rows.map((x) => x.n),
    ).length
  } catch {
    return null
  } finally {
    c.end().catch(() => {})
  }
}
