import {readdirSync, statSync} from 'node:fs'
import {dirname, join, posix} from 'node:path'
import type {Config} from '../config/schema.js'
import {formatBytes} from '../config/units.js'
import {StepFailedError} from '../errors.js'
import {describeFailure, type SystemContext} from '../system/exec.js'
import {
  asideDirs,
  directoryBytes,
  freeBytes,
  HOST_CONFIG_FILES,
  pgBasebackupArgv,
  primaryConninfo,
  requiredCopyBytes,
  type SourceServer,
} from '../system/rewind.js'
import {includedPaths, peerRestoreCommand, withStandbySettings} from './rejoin-settings.js'

/** File work of rejoin: the full copy, the host's own config files, the standby settings. */

export function exists(p: string): boolean {
  try {
    statSync(p)
    return true
  } catch {
    return false
  }
}

/**
 * 'missing' when the data directory does not exist or is empty (a rebuilt host): nothing to
 * rewind or keep, a full copy goes straight there. Unreadable (not root) counts as present.
 */
export function dataDirState(datadir: string): 'missing' | 'present' {
  let names: string[]
  try {
    names = readdirSync(datadir)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'present'
  }
  if (names.length === 0) return 'missing'
  if (!names.includes('PG_VERSION')) {
    throw new StepFailedError(
      `${datadir} is neither empty nor a PostgreSQL data directory`,
      'move it away (or fix postgres.datadir), then retry rejoin',
    )
  }
  return 'present'
}

/** A file operation inside or next to the data directory, as the OS user that owns it. */
export async function mustChange(ctx: SystemContext, argv: string[], cfg: Config, timeoutMs: number, why: string): Promise<void> {
  const r = await ctx.change(argv, {timeoutMs, asUser: cfg.postgres.osUser}, why)
  if (r.exitCode !== 0) throw new StepFailedError(`${why} failed: ${describeFailure(r)}`)
}

async function checkFreeSpace(ctx: SystemContext, cfg: Config, sourceBytes: number | undefined): Promise<number> {
  const datadir = cfg.postgres.datadir
  const need = requiredCopyBytes(sourceBytes ?? (exists(datadir) ? ((await directoryBytes(ctx, cfg, datadir, 60_000)) ?? 0) : 0))
  const free = await freeBytes(datadir)
  if (free < need) {
    throw new StepFailedError(
      `not enough free space for a full copy next to ${datadir}: ${formatBytes(free)} free, ${formatBytes(need)} needed (the old directory is kept)`,
      'free space on that filesystem, or fix wal_log_hints so pg_rewind can be used',
    )
  }
  return need
}

async function basebackupInto(
  ctx: SystemContext,
  cfg: Config,
  src: SourceServer,
  dir: string,
  need: number,
  timeoutMs: number,
): Promise<void> {
  const r = await ctx.change(
    pgBasebackupArgv(cfg, primaryConninfo(cfg, src), dir),
    {timeoutMs, asUser: cfg.postgres.osUser, env: {LC_MESSAGES: 'C'}},
    `full copy from ${src.host}:${src.port} (${formatBytes(need)} checked free)`,
  )
  if (r.exitCode !== 0)
    throw new StepFailedError(
      `pg_basebackup failed: ${describeFailure(r)}`,
      `the old data directory is untouched; remove the partial copy ${dir} and retry`,
    )
}

/** pg_basebackup into a sibling directory, then swap: the old directory is moved aside, never deleted. */
export async function copyWithBasebackup(
  ctx: SystemContext,
  cfg: Config,
  src: SourceServer,
  sourceBytes: number | undefined,
  left: () => number,
  now?: () => Date,
): Promise<string> {
  const datadir = cfg.postgres.datadir
  const {incoming, aside} = asideDirs(datadir, (now ?? (() => new Date()))())
  if (statSync(datadir).dev !== statSync(dirname(datadir)).dev) {
    throw new StepFailedError(
      `${datadir} is a mount point, so it cannot be swapped with a fresh copy by rename`,
      'use --method rewind, or make postgres.datadir a directory inside the mounted filesystem',
    )
  }
  const need = await checkFreeSpace(ctx, cfg, sourceBytes)
  await basebackupInto(ctx, cfg, src, incoming, need, left())
  await mustChange(ctx, ['mv', '-T', datadir, aside], cfg, 60_000, `keep the old data directory aside as ${aside}`)
  await mustChange(ctx, ['mv', '-T', incoming, datadir], cfg, 60_000, `put the fresh copy in place as ${datadir}`)
  return aside
}

/** No data directory (or an empty one): copy straight into it. */
export async function copyIntoEmpty(
  ctx: SystemContext,
  cfg: Config,
  src: SourceServer,
  sourceBytes: number | undefined,
  left: () => number,
): Promise<void> {
  const need = await checkFreeSpace(ctx, cfg, sourceBytes)
  await basebackupInto(ctx, cfg, src, cfg.postgres.datadir, need, left())
}

/**
 * The host's own config files, which pg_rewind/pg_basebackup replace with the source's:
 * postgresql.conf, postgresql.auto.conf, pg_hba.conf, pg_ident.conf, and every file inside the
 * data directory that they include (include, include_if_exists, include_dir, followed a few
 * levels deep). A per-host include (port, listen_addresses in a conf.d file) would otherwise
 * come back with the source's values.
 */
export async function readHostConfig(ctx: SystemContext, cfg: Config): Promise<Map<string, string>> {
  const saved = new Map<string, string>()
  const read = async (f: string) => {
    const r = await ctx.probe(['cat', join(cfg.postgres.datadir, f)], {timeoutMs: 10_000, asUser: cfg.postgres.osUser})
    if (r.exitCode === 0) saved.set(f, r.stdout + (r.stdout.endsWith('\n') || r.stdout === '' ? '' : '\n'))
  }
  for (const f of HOST_CONFIG_FILES) await read(f)
  let pending = ['postgresql.conf', 'postgresql.auto.conf']
  for (let depth = 0; depth < MAX_INCLUDE_DEPTH && pending.length > 0; depth++) {
    const next: string[] = []
    for (const from of pending) {
      const text = saved.get(from)
      if (text === undefined) continue
      const {files, dirs} = includedPaths(text, cfg.postgres.datadir, from)
      for (const d of dirs) {
        const r = await ctx.probe(['ls', '-1', join(cfg.postgres.datadir, d)], {timeoutMs: 10_000, asUser: cfg.postgres.osUser})
        if (r.exitCode === 0)
          files.push(
            ...r.stdout
              .split('\n')
              .filter((n) => n.endsWith('.conf') && !n.startsWith('.'))
              .map((n) => posix.join(d, n)),
          )
      }
      for (const f of files) {
        if (saved.has(f)) continue
        await read(f)
        if (saved.has(f)) next.push(f)
      }
    }
    pending = next
  }
  return saved
}

/** PostgreSQL allows nesting 10 deep; a loop (a file including itself) stops here too. */
const MAX_INCLUDE_DEPTH = 10

async function writeDataFile(ctx: SystemContext, cfg: Config, name: string, content: string, why: string): Promise<void> {
  const path = join(cfg.postgres.datadir, name)
  if (!ctx.fileChange(path, why)) return
  if (name.includes('/')) {
    // An included file in a folder the source may lack (conf.d).
    const d = await ctx.exec.run(['mkdir', '-p', dirname(path)], {timeoutMs: 10_000, asUser: cfg.postgres.osUser})
    if (d.exitCode !== 0) throw new StepFailedError(`cannot create ${dirname(path)}: ${describeFailure(d)}`)
  }
  const r = await ctx.exec.run(['tee', path], {timeoutMs: 10_000, asUser: cfg.postgres.osUser, input: content})
  if (r.exitCode !== 0) throw new StepFailedError(`cannot write ${path}: ${describeFailure(r)}`)
}

/**
 * Restore the host's config files, then primary_conninfo / restore_command and standby.signal.
 * Without saved files (the data directory was missing) the copy brought the source's config:
 * this host's port and socket directory, which pgha knows, go into postgresql.auto.conf.
 */
export async function writeStandbyConfig(
  ctx: SystemContext,
  cfg: Config,
  src: SourceServer,
  saved: Map<string, string>,
  fresh: boolean,
): Promise<void> {
  for (const [f, text] of saved)
    if (f !== 'postgresql.auto.conf') await writeDataFile(ctx, cfg, f, text, `restore this host's ${f} (the copy brought the source's)`)
  const conninfo = primaryConninfo(cfg, src)
  const restore = peerRestoreCommand(cfg)
  const host = fresh ? {port: String(cfg.postgres.port), unix_socket_directories: cfg.postgres.socketDir} : {}
  const auto = withStandbySettings(saved.get('postgresql.auto.conf') ?? '', {primary_conninfo: conninfo, restore_command: restore, ...host})
  await writeDataFile(
    ctx,
    cfg,
    'postgresql.auto.conf',
    auto,
    `primary_conninfo '${conninfo}'${restore ? `, restore_command '${restore}'` : ' (archive.mode none: no restore_command)'}${fresh ? `, port ${cfg.postgres.port}, unix_socket_directories '${cfg.postgres.socketDir}'` : ''}`,
  )
  await writeDataFile(ctx, cfg, 'standby.signal', '', 'start as a standby')
  const rs = join(cfg.postgres.datadir, 'recovery.signal')
  if (exists(rs)) await mustChange(ctx, ['rm', '-f', rs], cfg, 10_000, 'remove recovery.signal: standby.signal decides')
}
