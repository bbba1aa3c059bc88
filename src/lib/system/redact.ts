/**
 * The one secret-redaction layer. Whoever reads a secret (fence password, heartbeat or
 * replication password from a passfile, --password-file, a password handed to a child in its
 * env or stdin) registers it here; everything pgha prints that may carry a child's words —
 * stdout/stderr of every process (exec.ts), error lines, --json, plans and logs — passes
 * through redact(), which replaces the secret in the forms a child is likely to echo it
 * (raw, URL-encoded, JSON-escaped, shell-quoted) with ****.
 * Process-wide on purpose: a secret read once must not leak later through any path.
 */

export const MASK = '****'
/** Shorter strings are not masked: hiding every "ab" in a message would garble it and protect nothing. */
const MIN_SECRET_LENGTH = 4

const registered = new Set<string>()
/** Longest first, so a secret that contains another is masked whole. */
let forms: string[] = []

/** Pure: the spellings of `secret` worth masking. */
export function secretForms(secret: string): string[] {
  const out = new Set<string>([secret])
  out.add(encodeURIComponent(secret))
  out.add(JSON.stringify(secret).slice(1, -1))
  out.add(secret.replace(/'/g, `'\\''`))
  out.add(secret.replace(/\\/g, '\\\\').replace(/'/g, "''"))
  return [...out].filter((f) => f.length >= MIN_SECRET_LENGTH)
}

/** Remember a secret for the rest of this process; empty/short values are ignored. */
export function registerSecret(secret: string | undefined): void {
  if (secret === undefined || secret.length < MIN_SECRET_LENGTH || registered.has(secret)) return
  registered.add(secret)
  forms = [...new Set([...forms, ...secretForms(secret)])].sort((a, b) => b.length - a.length)
}

/** Environment variable names whose values are secrets (IPMI_PASSWORD, PGPASSWORD, PGHA_FENCE_PASSWORD…). */
function isSecretEnvName(name: string): boolean {
  return /PASS(WORD)?|SECRET|TOKEN/i.test(name)
}

/** Register the secret values of an env block a child receives. */
export function registerSecretEnv(env: Record<string, string | undefined> | undefined): void {
  for (const [k, v] of Object.entries(env ?? {})) if (isSecretEnvName(k)) registerSecret(v)
}

/** `text` with every registered secret (and `extra`) masked. */
export function redact(text: string, extra: readonly string[] = []): string {
  if (text === '') return text
  const all = extra.length === 0 ? forms : [...new Set([...forms, ...extra.flatMap(secretForms)])].sort((a, b) => b.length - a.length)
  let out = text
  for (const f of all) if (out.includes(f)) out = out.split(f).join(MASK)
  return out
}

/** redact() applied to every string inside a JSON-able value (the --json envelopes, log fields). */
export function redactDeep<T>(value: T): T {
  if (forms.length === 0) return value
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return redact(v)
    if (Array.isArray(v)) return v.map(walk)
    if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    }
    return v
  }
  return walk(value) as T
}

/** For tests: forget every registered secret. */
export function clearSecrets(): void {
  registered.clear()
  forms = []
}
