/**
 * Mount / unmount the peer's WAL archive (a startup step). A plain NFS mount hangs forever
 * when the peer was down; pgha bounds the whole step by archive.timeout:
 * - "is it mounted?" reads /proc/self/mountinfo (never stats the mount),
 * - nfs: a TCP check of the NFS server first (a dead peer fails fast and clearly), then
 *   `mount -t nfs -o soft,timeo,retrans,retry=0`, killed when the budget is spent,
 * - a last-resort timer returns even if the mount process ignores the kill (D state).
 */
import {existsSync, realpathSync, statSync} from 'node:fs'
import type {Config} from '../config/schema.js'
import {formatDuration} from '../config/units.js'
import {StepFailedError} from '../errors.js'
import {describeFailure, type RunOptions, type RunResult, type SystemContext} from '../system/exec.js'
import {
  bindMountArgv,
  bindSourceMatches,
  isNfs,
  type MountEntry,
  mountAt,
  mountErrorLine,
  nfsMountArgv,
  nfsServer,
  nfsSourceMatches,
  normalizeMountpoint,
  readMountinfo,
  umountArgv,
} from '../system/mount.js'
import {tcpProbe} from '../system/net.js'
import type {StepOutcome} from './types.js'

/** Slack past the deadline before we stop waiting for the child (execa still TERMs, then KILLs it). */
const ABANDON_AFTER_MS = 50

/** ctx.change that returns at its deadline even if the child is slow to die or cannot be reaped (D state). */
async function boundedChange(ctx: SystemContext, argv: string[], opts: RunOptions, why: string): Promise<RunResult> {
  let timer: NodeJS.Timeout | undefined
  const abandon = new Promise<RunResult>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          argv,
          exitCode: -1,
          stdout: '',
          stderr: 'still running at the deadline; being killed',
          timedOut: true,
          durationMs: opts.timeoutMs + ABANDON_AFTER_MS,
        }),
      opts.timeoutMs + ABANDON_AFTER_MS,
    )
    timer.unref()
  })
  try {
    return await Promise.race([ctx.change(argv, opts, why), abandon])
  } finally {
    clearTimeout(timer)
  }
}

function isOurMount(cfg: Config, entries: MountEntry[], entry: MountEntry): boolean {
  const source = cfg.archive.source ?? ''
  if (cfg.archive.mode === 'nfs') return nfsSourceMatches(entry, source)
  if (cfg.archive.mode === 'bind') {
    let real: string
    try {
      real = realpathSync(source)
    } catch {
      return false
    }
    return bindSourceMatches(entries, entry, real)
  }
  return false
}

const remaining = (deadline: number) => Math.max(1, deadline - Date.now())

/** ensureArchiveMounted: the configured archive, and how it was (or already is) mounted. */
export interface ArchiveMountDetails {
  mode: Config['archive']['mode']
  source: string | null
  mountpoint: string
  /** The file system found mounted there already. */
  fstype?: string
  /** The mount command run (or planned under --dry-run). */
  argv?: string[]
  warnings?: string[]
}

/** ensureArchiveUnmounted: each mount taken off archive.mountpoint, top first. */
export interface ArchiveUnmountDetails {
  mountpoint: string
  removed: {source: string; fstype: string}[]
}

export async function ensureArchiveMounted(ctx: SystemContext, cfg: Config): Promise<StepOutcome<ArchiveMountDetails>> {
  const {mode, options} = cfg.archive
  const source = cfg.archive.source ?? ''
  const mountpoint = normalizeMountpoint(cfg.archive.mountpoint)
  const budget = cfg.archive.timeout
  const deadline = Date.now() + budget
  const base = {mode, source: source || null, mountpoint}
  if (mode === 'none') return {changed: false, summary: 'archive.mode is none; nothing to mount', ...base}

  const entries = readMountinfo()
  const top = mountAt(entries, mountpoint)
  if (top) {
    if (isOurMount(cfg, entries, top))
      return {changed: false, summary: `${source} is already mounted on ${mountpoint}; nothing to do`, ...base, fstype: top.fstype}
    throw new StepFailedError(
      `${mountpoint} already has ${top.source} (${top.fstype}) mounted, not ${source}`,
      'unmount it (pgha mount-archive --unmount) or fix archive.mountpoint / archive.source',
    )
  }

  if (mode === 'bind') {
    let isDir = false
    try {
      isDir = statSync(source).isDirectory()
    } catch {}
    if (!isDir)
      throw new StepFailedError(
        `archive.source ${source} is not a directory; nothing was mounted`,
        'create the archive directory or fix archive.source',
      )
  }

  const warnings: string[] = []
  if (mode === 'nfs') {
    // A dead peer fails here, fast and clearly, instead of inside mount.nfs.
    const server = nfsServer(source, options)
    const tcp = await tcpProbe(server.host, server.port, remaining(deadline))
    if (!tcp.open) {
      const msg = `NFS server ${tcp.detail} (budget archive.timeout ${formatDuration(budget)})`
      if (!ctx.dryRun)
        throw new StepFailedError(
          `${msg}; archive ${source} not mounted`,
          'start the NFS server on the peer or fix archive.source; PostgreSQL runs without the peer archive meanwhile',
        )
      warnings.push(msg)
    }
  }

  if (!existsSync(mountpoint)) {
    const mk = await ctx.change(
      ['mkdir', '-p', mountpoint],
      {timeoutMs: remaining(deadline), privileged: true},
      'create the archive mountpoint',
    )
    if (mk.exitCode !== 0)
      throw new StepFailedError(
        `cannot create mountpoint ${mountpoint}: ${describeFailure(mk)}`,
        'create it by hand or fix archive.mountpoint',
      )
  }

  const argv = mode === 'nfs' ? nfsMountArgv(source, mountpoint, budget, options) : bindMountArgv(source, mountpoint)
  const r = await boundedChange(ctx, argv, {timeoutMs: remaining(deadline), privileged: true}, `mount the peer's WAL archive (${mode})`)
  const after = ctx.dryRun ? [] : readMountinfo()
  const nowTop = mountAt(after, mountpoint)
  const mounted = nowTop !== undefined && isOurMount(cfg, after, nowTop)
  if (!ctx.dryRun && !mounted) {
    if (r.timedOut) {
      throw new StepFailedError(
        `mount of ${source} on ${mountpoint} did not finish within ${formatDuration(budget)} (archive.timeout) and was stopped`,
        'check that the peer and its NFS server are up; PostgreSQL runs without the peer archive meanwhile',
      )
    }
    const why =
      r.exitCode === 0
        ? 'mount succeeded but the archive is not visible in /proc/self/mountinfo'
        : `${r.argv.join(' ')} exited ${r.exitCode}: ${mountErrorLine(r.stderr) || 'no error text'}`
    throw new StepFailedError(
      `cannot mount ${source} on ${mountpoint}: ${why}`,
      mode === 'nfs'
        ? 'check archive.source and that this kernel has an NFS client (nfs-common)'
        : 'check archive.source and archive.mountpoint',
    )
  }
  return {
    changed: !ctx.dryRun,
    summary: `${ctx.dryRun ? 'would mount' : 'mounted'} ${source} on ${mountpoint} (${mode})${warnings.length > 0 ? `; warning: ${warnings.join('; ')}` : ''}`,
    ...base,
    argv,
    warnings,
  }
}

/** Unmounts whatever is mounted on archive.mountpoint (any mode), until nothing is left there. */
export async function ensureArchiveUnmounted(ctx: SystemContext, cfg: Config): Promise<StepOutcome<ArchiveUnmountDetails>> {
  const mountpoint = normalizeMountpoint(cfg.archive.mountpoint)
  const budget = cfg.archive.timeout
  const deadline = Date.now() + budget
  const removed: {source: string; fstype: string}[] = []
  // Bounded loop: stacked mounts (e.g. mounted twice by hand) come off one per umount.
  for (let i = 0; i < 8; i++) {
    const top = mountAt(readMountinfo(), mountpoint)
    if (!top || (ctx.dryRun && i > 0)) break
    const r = await boundedChange(
      ctx,
      umountArgv(mountpoint, top.fstype),
      {timeoutMs: remaining(deadline), privileged: true},
      `unmount ${top.source} from ${mountpoint}`,
    )
    if (r.exitCode !== 0 || r.timedOut) {
      const still = mountAt(readMountinfo(), mountpoint)
      if (still && still.source === top.source) {
        const why = r.timedOut
          ? describeFailure(r)
          : `${r.argv.join(' ')} exited ${r.exitCode}: ${mountErrorLine(r.stderr) || 'no error text'}`
        throw new StepFailedError(
          `cannot unmount ${top.source} from ${mountpoint}: ${why}`,
          isNfs(top.fstype)
            ? 'stop processes using the archive (restore_command) and retry'
            : `find users with fuser -m ${mountpoint} and retry`,
        )
      }
    }
    removed.push({source: top.source, fstype: top.fstype})
  }
  if (removed.length === 0) return {changed: false, summary: `nothing is mounted on ${mountpoint}; nothing to do`, mountpoint, removed}
  return {
    changed: !ctx.dryRun,
    summary: `${ctx.dryRun ? 'would unmount' : 'unmounted'} ${removed.map((m) => `${m.source} (${m.fstype})`).join(', ')} from ${mountpoint}`,
    mountpoint,
    removed,
  }
}
