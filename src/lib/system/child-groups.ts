/**
 * Children run in their own process group (exec.ts) so a timeout can kill all of it. The
 * price: a terminal's Ctrl-C or a TERM no longer reaches them by itself. This keeps the set
 * of live groups and kills them when pgha exits, or when a signal is about to end pgha
 * anyway (no one else handles it). A command that handles a signal itself (watch) decides
 * on its own; its children are killed at exit.
 */
const live = new Set<number>()
let hooked = false
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return
  try {
    process.kill(-pid, signal)
  } catch {
    // Already gone.
  }
}

function killLive(): void {
  for (const pid of live) signalGroup(pid, 'SIGKILL')
  live.clear()
}

function onSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return
  killLive()
  process.removeListener(signal, onSignal)
  process.kill(process.pid, signal) // default action: die as the signal says
}

/** Track a child's group until `done` settles. */
export function trackGroup(pid: number | undefined, done: Promise<unknown>): void {
  if (pid === undefined) return
  if (!hooked) {
    hooked = true
    process.on('exit', killLive)
    for (const s of SIGNALS) process.on(s, onSignal)
  }
  live.add(pid)
  done.finally(() => live.delete(pid)).catch(() => undefined)
}
