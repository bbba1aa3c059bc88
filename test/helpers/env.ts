import type {TestContext} from 'node:test'
import {execFileSync} from 'node:child_process'

/** True under CI (CI=true): there a missing prerequisite fails the test instead of skipping it. */
export const inCI = process.env.CI === 'true' || process.env.CI === '1'

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0
}

export function hasCommand(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

/**
 * Check a test's prerequisites (root, commands). Returns false after t.skip() locally;
 * under CI it throws so the run goes red instead of silently skipping.
 */
export function prerequisites(t: TestContext, opts: {root?: boolean; commands?: string[]}): boolean {
  const missing: string[] = []
  if (opts.root && !isRoot()) missing.push('root')
  for (const c of opts.commands ?? []) if (!hasCommand(c)) missing.push(c)
  if (missing.length === 0) return true
  const msg = `missing prerequisites: ${missing.join(', ')} (run scripts/setup.sh as root)`
  if (inCI) throw new Error(msg)
  t.skip(msg)
  return false
}
