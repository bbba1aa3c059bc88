import type {Exec} from './exec.js'
import {realExec} from './exec.js'

/**
 * sd_notify through Debian's `systemd-notify` (Node's dgram has no Unix datagram sockets).
 * A no-op without NOTIFY_SOCKET (not under systemd). The unit needs NotifyAccess=all because
 * the message comes from a child process. Never throws: a failed notify is logged by the caller.
 */
export async function sdNotify(
  fields: string[],
  opts: {exec?: Exec; env?: NodeJS.ProcessEnv; timeoutMs?: number} = {},
): Promise<{sent: boolean; detail: string}> {
  const env = opts.env ?? process.env
  if (!env.NOTIFY_SOCKET) return {sent: false, detail: 'NOTIFY_SOCKET not set'}
  const exec = opts.exec ?? realExec
  // --no-block: don't wait for systemd's BARRIER acknowledgement (it can stall the loop).
  const argv = ['systemd-notify', '--no-block', ...fields]
  try {
    const r = await exec.run(argv, {timeoutMs: opts.timeoutMs ?? 2000, env: {NOTIFY_SOCKET: env.NOTIFY_SOCKET}})
    return r.exitCode === 0
      ? {sent: true, detail: fields.join(' ')}
      : {sent: false, detail: `systemd-notify exited ${r.exitCode}: ${r.stderr.trim()}`}
  } catch (error) {
    return {sent: false, detail: (error as Error).message}
  }
}

export function watchdogIntervalMs(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const usec = Number(env.WATCHDOG_USEC)
  if (!Number.isFinite(usec) || usec <= 0) return undefined
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== process.pid) return undefined
  return Math.floor(usec / 1000)
}
