import * as Flags from '@oclif/core/flags'
import {formatDuration, parseDuration} from './lib/config/units.js'
import {UsageError} from './lib/errors.js'

/**
 * Typed flags every command shares, so a duration or HOST:PORT means the same everywhere and a
 * bad value gets the same one line (exit 2) whichever command it was given to.
 */

const MAX_TIMER_MS = 2_147_483_647 // Node's setTimeout fires at once above this

/** Pure: a flag's duration, or a UsageError naming the flag, the accepted range and the value. */
export function parseDurationFlag(name: string, input: string, limits: {min?: number; max?: number} = {}): number {
  const min = limits.min ?? 1
  const max = Math.min(limits.max ?? MAX_TIMER_MS, MAX_TIMER_MS)
  const ms = parseDuration(input)
  if (ms === undefined || ms < min || ms > max) {
    throw new UsageError(
      `--${name}: expected a duration from ${formatDuration(min)} to ${formatDuration(max)} (e.g. 500ms, 30s, 2m, 1h), found ${JSON.stringify(input)}`,
      `pass e.g. --${name} ${formatDuration(Math.min(max, Math.max(min, 30_000)))}`,
    )
  }
  return ms
}

/** A duration flag in milliseconds; `default` is written as a duration ("60s"). */
export function durationFlag(opts: {summary: string; default?: string; min?: number; max?: number; hidden?: boolean}) {
  const base = {summary: opts.summary, hidden: opts.hidden, helpValue: '<duration>'}
  const parse = async (input: string, _ctx: unknown, flag: {name: string}) => parseDurationFlag(flag.name, input, opts)
  if (opts.default === undefined) return Flags.custom<number>({...base, parse})()
  const ms = parseDuration(opts.default)
  if (ms === undefined) throw new Error(`bad default duration ${opts.default}`)
  return Flags.custom<number>({...base, parse, default: ms, defaultHelp: async () => opts.default})()
}

export interface HostPort {
  host: string
  port: number
}

/** Pure: "host:port", or a UsageError naming the flag. */
export function parseHostPortFlag(name: string, v: string): HostPort {
  const m = /^([A-Za-z0-9.:_-]+):(\d{1,5})$/.exec(v)
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw new UsageError(`--${name}: expected HOST:PORT, found ${JSON.stringify(v)}`, `e.g. --${name} 192.0.2.12:5432`)
  return {host: m[1], port: Number(m[2])}
}

export function hostPortFlag(opts: {summary: string; hidden?: boolean}) {
  return Flags.custom<HostPort>({
    summary: opts.summary,
    hidden: opts.hidden,
    helpValue: 'HOST:PORT',
    parse: async (input, _ctx, flag) => parseHostPortFlag(flag.name, input),
  })()
}
