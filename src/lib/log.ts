import {ansi, colorOn} from './ansi.js'
import {redact, redactDeep} from './system/redact.js'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFormat = 'human' | 'json'
const ORDER: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

/**
 * Logs go to stderr so stdout stays the command's result (tables, --json envelopes).
 * `sink` is injectable so tests can read what was logged.
 */
export function createLogger(
  opts: {
    level?: LogLevel
    format?: LogFormat
    sink?: (line: string) => void
    color?: boolean
  } = {},
): Logger {
  const level = opts.level ?? 'info'
  const format = opts.format ?? 'human'
  const sink = opts.sink ?? ((line: string) => process.stderr.write(line + '\n'))
  const color = opts.color ?? colorOn(process.stderr)
  const paint: Record<LogLevel, (s: string) => string> = color
    ? {debug: ansi.gray, info: (s) => s, warn: ansi.yellow, error: ansi.red}
    : {debug: (s) => s, info: (s) => s, warn: (s) => s, error: (s) => s}
  const emit = (lvl: LogLevel, rawMsg: string, rawFields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[level]) return
    // Log lines quote children's output (stderr excerpts): registered secrets never reach the sink.
    const msg = redact(rawMsg)
    const fields = rawFields && redactDeep(rawFields)
    if (format === 'json') {
      sink(JSON.stringify({ts: new Date().toISOString(), level: lvl, msg, ...fields}))
      return
    }
    const extra =
      fields && Object.keys(fields).length > 0
        ? ' ' +
          Object.entries(fields)
            .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
            .join(' ')
        : ''
    sink(paint[lvl](`${new Date().toISOString()} ${lvl.toUpperCase().padEnd(5)} ${msg}${extra}`))
  }
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  }
}

export const silentLogger: Logger = {debug() {}, info() {}, warn() {}, error() {}}
