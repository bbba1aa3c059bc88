/** Read-only filesystem checks on a schema-valid config: paths exist and are what they should be, secrets are private and non-empty. */
import {readFileSync, statSync, type Stats} from 'node:fs'
import {hookProgramProblems} from './hook-checks.js'
import type {Config} from './schema.js'

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

export function fileProblems(c: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const p: string[] = []
  const data = statOf(c.postgres.datadir)
  if (!data) p.push(`postgres.datadir: ${c.postgres.datadir} does not exist; create the cluster (initdb or pg_basebackup) or fix the path`)
  else if (!data.isDirectory())
    p.push(`postgres.datadir: ${c.postgres.datadir} is a file, not a directory; point it at the cluster's data directory`)
  if (!statOf(c.postgres.bindir + '/pg_ctl')?.isFile())
    p.push(`postgres.bindir: no pg_ctl in ${c.postgres.bindir}; install PostgreSQL or fix the path`)
  const secret = (key: string, path: string | undefined) => {
    if (!path) return
    const st = statOf(path)
    if (!st) return void p.push(`${key}: ${path} does not exist`)
    if (st.isDirectory()) return void p.push(`${key}: ${path} is a directory; point it at the file holding the password`)
    if (!st.isFile()) return void p.push(`${key}: ${path} is not a regular file`)
    const mode = st.mode & 0o777
    if (mode & 0o077) return void p.push(`${key}: ${path} is readable by group or others (mode ${mode.toString(8)}); run chmod 600 ${path}`)
    if (key !== 'fence.passwordFile') return // an empty libpq passfile is legal (trust/peer auth)
    if (st.size === 0) return void p.push(`${key}: ${path} is empty; put the password on its first line`)
    let text: string | undefined
    try {
      text = readFileSync(path, 'utf8')
    } catch {
      return // not readable by this user (e.g. pgha config run without root): the mode check above is all we can do
    }
    if (text.split('\n')[0].trim() === '') p.push(`${key}: ${path} has an empty first line; put the password on its first line`)
  }
  secret('fence.passwordFile', c.fence.passwordFile)
  secret('postgres.passfile', c.postgres.passfile)
  if (c.fence.passwordEnv && !env[c.fence.passwordEnv]) p.push(`fence.passwordEnv: environment variable ${c.fence.passwordEnv} is not set`)
  p.push(...hookProgramProblems(c))
  return p
}
