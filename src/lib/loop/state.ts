import {closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync} from 'node:fs'
import {dirname, join} from 'node:path'

const STATE_FILE = 'state.json'

export function statePath(stateDir: string): string {
  return join(stateDir, STATE_FILE)
}

/**
 * Write JSON so that a reader (or a crash) sees either the old or the new file, never half:
 * write <file>.new, fsync it, rename over <file>, fsync the directory (pg_auto_failover does the same).
 */
export function writeJsonAtomic(file: string, value: unknown): void {
  mkdirSync(dirname(file), {recursive: true, mode: 0o750})
  const tmp = `${file}.new`
  const fd = openSync(tmp, 'w', 0o640)
  try {
    writeSync(fd, JSON.stringify(value, null, 2) + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, file)
  const dfd = openSync(dirname(file), 'r')
  try {
    fsyncSync(dfd)
  } finally {
    closeSync(dfd)
  }
}

/** undefined when missing or unreadable: the caller re-derives state from reality. */
export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T
  } catch {
    return undefined
  }
}
