/**
 * One switchover half per host at a time: stateDir/switchover.lock holds the PID of the
 * process running it and who that is ("cli" for `pgha switchover`, "watch" for a `pgha watch`
 * running the half it saw requested). A DBA who runs `pgha switchover` on a host whose watch
 * already runs the half follows that half instead of failing (see followWatchHalf).
 */
import {mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import type {Config} from '../config/schema.js'
import {UsageError} from '../errors.js'

export type HalfOwner = 'cli' | 'watch'

/** The lock is held by a live process; `owner` says whether that is this host's watch. */
export class HalfLockBusy extends UsageError {
  constructor(
    readonly pid: number,
    readonly owner: HalfOwner,
    file: string,
  ) {
    super(
      `another pgha switchover half runs on this host (PID ${pid}${owner === 'watch' ? ', pgha watch' : ''}, ${file})`,
      'wait for it to finish',
    )
    this.name = 'HalfLockBusy'
  }
}

const halfLockPath = (cfg: Config) => join(cfg.stateDir, 'switchover.lock')

/** Pure: the lock file's text → its holder (a file from before owners were written is a cli's). */
export function parseHalfLock(text: string): {pid: number; owner: HalfOwner} {
  const [pid, owner] = text.trim().split(/\s+/)
  return {pid: Number(pid), owner: owner === 'watch' ? 'watch' : 'cli'}
}

/** Take the lock or throw HalfLockBusy; returns the release. A lock left by a dead process is taken over. */
export function lockHalf(cfg: Config, owner: HalfOwner): () => void {
  const file = halfLockPath(cfg)
  mkdirSync(cfg.stateDir, {recursive: true, mode: 0o750})
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid} ${owner}\n`, {flag: 'wx', mode: 0o640})
      return () => rmSync(file, {force: true})
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      const holder = heldBy(cfg)
      if (holder) throw new HalfLockBusy(holder.pid, holder.owner, file)
      rmSync(file, {force: true}) // left by a process that died
    }
  }
  throw new UsageError(`cannot take ${file}`, 'remove it if no pgha switchover runs')
}

/** The live process holding the lock, if any. */
export function heldBy(cfg: Config): {pid: number; owner: HalfOwner} | undefined {
  let text: string
  try {
    text = readFileSync(halfLockPath(cfg), 'utf8')
  } catch {
    return undefined
  }
  const h = parseHalfLock(text)
  return h.pid > 0 && pidAlive(h.pid) ? h : undefined
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
