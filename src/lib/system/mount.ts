/**
 * mount/umount argv builders and the "what is mounted where" view, read from
 * /proc/self/mountinfo. Reading that file never touches the mounted filesystems, so it
 * cannot hang on a dead NFS peer the way stat() or findmnt's statfs calls can.
 */
import {readFileSync} from 'node:fs'
import {posix} from 'node:path'

export interface MountEntry {
  /** "major:minor" of the mounted filesystem: two bind mounts of one fs share it. */
  majorMinor: string
  /** The directory of that filesystem that is mounted here ("/" unless a bind mount of a subdirectory). */
  root: string
  mountpoint: string
  fstype: string
  /** Device or server:/export, as the kernel shows it. */
  source: string
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
export function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)))
}

/** Parse /proc/self/mountinfo (see proc(5)); lines in mount order, so later entries are on top. */
export function parseMountinfo(text: string): MountEntry[] {
  const out: MountEntry[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const f = line.split(' ')
    const dash = f.indexOf('-', 6)
    if (f.length < 10 || dash < 0 || dash + 2 >= f.length) continue
    out.push({
      majorMinor: f[2],
      root: unescapeMountinfo(f[3]),
      mountpoint: unescapeMountinfo(f[4]),
      fstype: f[dash + 1],
      source: unescapeMountinfo(f[dash + 2]),
    })
  }
  return out
}

/** Canonical form of a path for comparison with mountinfo, without touching the filesystem. */
export function normalizeMountpoint(p: string): string {
  const n = posix.resolve('/', p)
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n
}

/** The mount visible at `mountpoint` (the topmost one when several are stacked). */
export function mountAt(entries: MountEntry[], mountpoint: string): MountEntry | undefined {
  const mp = normalizeMountpoint(mountpoint)
  return entries.filter((e) => e.mountpoint === mp).at(-1)
}

export const isNfs = (fstype: string) => fstype === 'nfs' || fstype === 'nfs4'

/** Does `entry` show the NFS export `source` (host:/path), ignoring a trailing slash? */
export function nfsSourceMatches(entry: MountEntry, source: string): boolean {
  const strip = (s: string) => (s.length > 1 && s.endsWith('/') ? s.slice(0, -1) : s)
  return isNfs(entry.fstype) && strip(entry.source) === strip(source)
}

/**
 * Does `entry` show a bind mount of the directory `sourceRealPath`? A bind mount shows the
 * device of the filesystem the source lives on and, as its root, the source's path inside
 * that filesystem — so find the mount holding the source and compare both.
 */
export function bindSourceMatches(entries: MountEntry[], entry: MountEntry, sourceRealPath: string): boolean {
  const src = normalizeMountpoint(sourceRealPath)
  const holders = entries.filter(
    (e) => e !== entry && (src === e.mountpoint || src.startsWith(e.mountpoint === '/' ? '/' : e.mountpoint + '/')),
  )
  const holder = holders.sort((a, b) => a.mountpoint.length - b.mountpoint.length).at(-1)
  if (!holder) return false
  const rel = holder.mountpoint === '/' ? src : src.slice(holder.mountpoint.length) || '/'
  const expectedRoot = normalizeMountpoint(posix.join(holder.root, rel))
  return entry.majorMinor === holder.majorMinor && normalizeMountpoint(entry.root) === expectedRoot
}

/** NFS retries: 2 retransmissions after the first try. */
const NFS_RETRANS = 2

/**
 * soft: I/O on a dead server fails instead of hanging forever. Over TCP the client backs
 * off linearly (timeo, 2·timeo, 3·timeo), so timeo = timeout/6 makes a soft request fail
 * within about archive.timeout. retry=0: the mount command itself does not retry for the
 * default 2 minutes. `extra` (archive.options) comes last so it can override any of these.
 */
export function nfsMountOptions(timeoutMs: number, extra?: string): string {
  const timeo = Math.max(1, Math.floor(timeoutMs / 100 / (1 + 2 + 3)))
  const opts = ['soft', `timeo=${timeo}`, `retrans=${NFS_RETRANS}`, 'retry=0']
  if (extra && extra.trim() !== '') opts.push(extra.trim())
  return opts.join(',')
}

export function nfsMountArgv(source: string, mountpoint: string, timeoutMs: number, extra?: string): string[] {
  return ['mount', '-t', 'nfs', '-o', nfsMountOptions(timeoutMs, extra), source, mountpoint]
}

export function bindMountArgv(source: string, mountpoint: string): string[] {
  return ['mount', '--bind', source, mountpoint]
}

/** NFS: -f aborts requests to a dead server, -l detaches at once, so umount cannot hang. */
export function umountArgv(mountpoint: string, fstype: string): string[] {
  return isNfs(fstype) ? ['umount', '-f', '-l', mountpoint] : ['umount', mountpoint]
}

/** "192.0.2.12:/var/lib/pgha/archive" → {host: "192.0.2.12", port: 2049, or port= from the options}. */
export function nfsServer(source: string, extra?: string): {host: string; port: number} {
  const host = source.slice(0, Math.max(0, source.indexOf(':/'))).replace(/^\[(.*)\]$/, '$1')
  const m = /(?:^|,)port=(\d+)(?:,|$)/.exec(extra ?? '')
  const port = m && Number(m[1]) > 0 ? Number(m[1]) : 2049
  return {host, port}
}

/** The mount table of the namespace this process runs in. */
export function readMountinfo(path = '/proc/self/mountinfo'): MountEntry[] {
  return parseMountinfo(readFileSync(path, 'utf8'))
}

/** mount's own first line ("unknown filesystem type 'nfs'"), without its "dmesg(1) may have more" hint. */
export function mountErrorLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/dmesg\(1\) may have more information/.test(l))
  return lines[0] ?? ''
}
