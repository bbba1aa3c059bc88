/**
 * Pure: the configuration reference (docs/configuration.md) rendered from the schema — every
 * key with its type, default, limits and meaning — so the document cannot drift from what
 * validation enforces. `npm run docs:config` writes it; a unit test compares.
 */
import {z} from 'zod'
import {KEY_DOCS} from './key-docs.js'
import {configSchema, limitsOf, TIMER_MAX_MS, typeLabelOf} from './schema.js'
import {formatBytes, formatDuration} from './units.js'

export interface KeyRow {
  key: string
  type: string
  /** Default as written in a config file; undefined when the key is required or optional. */
  default?: string
  required: boolean
  limits: string[]
  meaning: string
}

const code = (s: string) => '`' + s + '`'

function leafFacts(s: z.ZodTypeAny): {type: string; limits: string[]} {
  const limits: string[] = []
  if (s instanceof z.ZodString) {
    for (const c of s._def.checks) {
      if (c.kind === 'min') limits.push(`at least ${c.value} character${c.value === 1 ? '' : 's'}`)
      else if (c.kind === 'max') limits.push(`at most ${c.value} characters`)
      else if (c.kind === 'regex') limits.push((c.message ?? '').replace(/^expected /, ''))
    }
    return {type: 'string', limits}
  }
  if (s instanceof z.ZodNumber) {
    const int = s._def.checks.some((c) => c.kind === 'int')
    const min = s._def.checks.find((c) => c.kind === 'min')
    const max = s._def.checks.find((c) => c.kind === 'max')
    if (min && max && min.kind === 'min' && max.kind === 'max') limits.push(`${min.value} to ${max.value}`)
    return {type: int ? 'integer' : 'number', limits}
  }
  if (s instanceof z.ZodBoolean) return {type: 'boolean', limits}
  if (s instanceof z.ZodEnum) return {type: 'one of', limits: [(s.options as string[]).map(code).join(', ')]}
  if (s instanceof z.ZodArray) {
    const min = s._def.minLength?.value
    if (min) limits.push(`at least ${min} element${min === 1 ? '' : 's'}`)
    return {type: 'list of strings', limits}
  }
  if (s instanceof z.ZodRecord) return {type: 'mapping', limits}
  throw new Error(`describe: no rendering for schema type ${s.constructor.name}`)
}

function formatDefault(v: unknown): string {
  if (typeof v === 'string') return v
  return JSON.stringify(v)
}

/** Every leaf key of the schema, in schema order. Throws when a key has no entry in KEY_DOCS. */
export function configKeyRows(schema: z.ZodTypeAny = configSchema, path: string[] = []): KeyRow[] {
  let s = schema
  let label: string | undefined
  let unit = undefined as ReturnType<typeof limitsOf>
  let dflt: {value: unknown} | undefined
  let optional = false
  for (;;) {
    label ??= typeLabelOf(s)
    unit ??= limitsOf(s)
    if (s instanceof z.ZodDefault) {
      dflt ??= {value: s._def.defaultValue()}
      s = s._def.innerType
    } else if (s instanceof z.ZodOptional) {
      optional = true
      s = s.unwrap()
    } else if (s instanceof z.ZodEffects) s = s.innerType()
    else break
  }
  if (s instanceof z.ZodObject && !label) {
    return Object.entries(s.shape as Record<string, z.ZodTypeAny>).flatMap(([k, child]) => configKeyRows(child, [...path, k]))
  }
  const key = path.join('.')
  const doc = KEY_DOCS[key]
  if (!doc) throw new Error(`describe: config key ${key} has no entry in src/lib/config/key-docs.ts`)
  const facts = unit ? {type: unit.kind, limits: []} : leafFacts(s)
  const limits = [...facts.limits]
  if (unit?.kind === 'duration') limits.unshift(`${formatDuration(unit.min)} to ${formatDuration(unit.max)}`)
  if (unit?.kind === 'size') limits.unshift(`${formatBytes(unit.min)} to ${formatBytes(unit.max)}`)
  if (label && LABEL_RULES[label]) limits.push(LABEL_RULES[label])
  if (doc.rules) limits.push(doc.rules)
  return [
    {
      key,
      type: label ?? facts.type,
      default: dflt ? formatDefault(dflt.value) : undefined,
      required: !dflt && !optional,
      limits,
      meaning: doc.meaning,
    },
  ]
}

/** What the refined string types accept (their checks are code, not readable from the schema). */
const LABEL_RULES: Record<string, string> = {
  'IPv4 address': 'four numbers 0-255, no leading zeros',
  'IPv4 address/prefix': 'address as above, prefix 1-32',
  'absolute path': 'starts with `/`; no control characters',
}

const cell = (s: string) => s.replace(/\|/g, '\\|')

/** Cross-key rules (load.ts semanticProblems) in words; kept next to the renderer so the doc states them. */
const CROSS_KEY_RULES = [
  '`node.name` ≠ `peer.name`; `node.address` ≠ `peer.address`; `network.vipPrimary` ≠ `network.vipStandby`.',
  "Each VIP is inside the subnet (its own prefix) of both `node.address` and `peer.address`, and is not either host's address, the gateway, or the network or broadcast address of its prefix (prefixes /31 and /32 have none).",
  "`network.gateway` is inside the subnet of `node.address` (VIP-M's prefix) and is neither `node.address` nor `peer.address`.",
  '`archive.source` is required when `archive.mode` is `nfs` or `bind`; for `nfs` it is `HOST:/path`.',
  '`fence.agent: ipmitool` and `fence-agent` need `fence.address`, `fence.user` and one of `fence.passwordFile` / `fence.passwordEnv`; `fence-agent` also needs `fence.name`; `command` needs `fence.command` containing `{action}`.',
  '`fence.allowUnfencedPromotion: true` is only allowed with `fence.agent: none`.',
  '`timing.probeTimeout` ≤ 10 × `timing.interval`, so one tick stays bounded.',
]

const FILE_RULES = [
  '`postgres.datadir` exists and is a directory; `postgres.bindir` contains `pg_ctl`.',
  '`fence.passwordFile` and `postgres.passfile` exist, are regular files (not directories) and have no group or other permissions (`chmod 600`).',
  '`fence.passwordFile` is not empty and its first line (the password) is not blank.',
  "`fence.passwordEnv` names a variable set in pgha's environment.",
]

export function renderConfigurationDoc(): string {
  const rows = configKeyRows()
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated from src/lib/config/schema.ts and src/lib/config/key-docs.ts by `npm run docs:config`. Do not edit by hand. -->',
    '',
    "One YAML (or JSON, for `*.json`) file per host; the two hosts' files mirror each other (`node` and `peer` swapped,",
    "`fence` pointing at the other host's BMC). pgha reads `--config FILE`, else `$PGHA_CONFIG`, else the first",
    '`pgha.config.yaml` (`.yml`, `.json`, `.pgharc…`) searched from the current directory upwards, else `/etc/pgha/pgha.config.yaml`.',
    '',
    'Check a file with `pgha config --config FILE`: it prints the config with defaults filled in, or every problem',
    'at once, one line each naming the key, and exits 2. A file that is missing, a directory, unreadable, empty',
    '(only comments) or not valid YAML/JSON (reported with line, column and reason) also exits 2. Validation',
    'changes nothing on the host.',
    '',
    '**Durations**: `500ms`, `10s`, `2m`, `1h` (a bare number is seconds). Every duration has a minimum and a',
    `maximum; no maximum exceeds what a Node.js timer can hold (2^31-1 ms ≈ ${Math.floor((TIMER_MAX_MS / 86_400_000) * 10) / 10} days).`,
    '**Sizes**: PostgreSQL units `B`, `kB`, `MB`, `GB`, `TB` (powers of 1024; a bare number is bytes).',
    '**IPv4 addresses**: four decimal numbers 0-255 without leading zeros (`192.0.2.010` is refused: the kernel',
    'would read it as octal). A prefix is 1-32.',
    '',
    'A key marked *required* has no default; *unset* means the key is optional and has no default.',
    '',
    '## Keys',
  ]
  const groups = new Map<string, KeyRow[]>()
  for (const r of rows) {
    const g = r.key.includes('.') ? r.key.split('.')[0] : '(top level)'
    groups.set(g, [...(groups.get(g) ?? []), r])
  }
  for (const [group, list] of groups) {
    out.push(
      '',
      `### ${group === '(top level)' ? 'Top level' : code(group)}`,
      '',
      '| key | type | default | limits | meaning |',
      '| --- | --- | --- | --- | --- |',
    )
    for (const r of list) {
      const dflt = r.default !== undefined ? code(r.default) : r.required ? '*required*' : '*unset*'
      out.push(`| ${code(r.key)} | ${r.type} | ${cell(dflt)} | ${cell(r.limits.join('; ') || '—')} | ${cell(r.meaning)} |`)
    }
  }
  out.push('', '## Rules across keys', '', ...CROSS_KEY_RULES.map((r) => `- ${r}`))
  out.push(
    '',
    '## Checks on files',
    '',
    'Every command that reads the config also checks (read-only):',
    '',
    ...FILE_RULES.map((r) => `- ${r}`),
    '',
  )
  return out.join('\n')
}
