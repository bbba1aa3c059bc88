/**
 * Pure: commit latency from pgbench's per-transaction logs (`pgbench -l`), one line per
 * transaction: client_id transaction_no latency_us script_no epoch_s epoch_us [...].
 * Lines of failed or skipped transactions (latency not a number) are counted apart.
 */

export interface LatencySummary {
  transactions: number
  failed: number
  p50Ms: number
  p99Ms: number
  maxMs: number
}

/** Latencies (µs) of the transactions in one or more log texts; `failed` the rest. */
export function parsePgbenchLog(texts: string[]): {latenciesUs: number[]; failed: number} {
  const latenciesUs: number[] = []
  let failed = 0
  for (const text of texts) {
    for (const line of text.split('\n')) {
      const f = line.trim().split(/\s+/)
      if (f.length < 6) continue
      const us = Number(f[2])
      if (Number.isFinite(us) && /^\d+$/.test(f[2])) latenciesUs.push(us)
      else failed++
    }
  }
  return {latenciesUs, failed}
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const s = [...values].sort((a, b) => a - b)
  const rank = Math.max(1, Math.ceil((p / 100) * s.length))
  return s[Math.min(rank, s.length) - 1]
}

export function latencySummary(texts: string[]): LatencySummary {
  const {latenciesUs, failed} = parsePgbenchLog(texts)
  const ms = (us: number) => us / 1000
  return {
    transactions: latenciesUs.length,
    failed,
    p50Ms: ms(percentile(latenciesUs, 50)),
    p99Ms: ms(percentile(latenciesUs, 99)),
    maxMs: ms(latenciesUs.length ? latenciesUs.reduce((a, b) => Math.max(a, b), 0) : Number.NaN),
  }
}
