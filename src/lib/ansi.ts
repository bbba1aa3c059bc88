/**
 * The few ANSI styles the hot path uses (log lines, the error line, the dry-run header), without
 * a colour library: `pgha check …` runs every minute from Nagios and should load nothing it
 * does not need. Full-featured output (status tables, watch) keeps chalk.
 */
const wrap = (open: number, close: number) => (s: string) => `\u001B[${open}m${s}\u001B[${close}m`

export const ansi = {red: wrap(31, 39), yellow: wrap(33, 39), gray: wrap(90, 39), bold: wrap(1, 22)}

/** Colour on this stream? FORCE_COLOR (not "0") forces it; NO_COLOR, TERM=dumb or no terminal turn it off. */
export function colorOn(stream: {isTTY?: boolean}, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false'
  if (env.NO_COLOR !== undefined || env.TERM === 'dumb') return false
  return Boolean(stream.isTTY)
}

/** `style` applied when `on`, else the text as it is. */
export const paintIf = (on: boolean, style: (s: string) => string) => (on ? style : (s: string) => s)
