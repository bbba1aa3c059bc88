import {existsSync, readFileSync} from 'node:fs'
import {resolve} from 'node:path'
import {z} from 'zod'
import {ConfigError} from '../errors.js'
import {formatIPv4, parseCidr, parseIPv4, reservedAddresses, sameSubnet} from './net.js'
import {readConfigFile} from './read.js'
import {fileProblems} from './file-checks.js'
import {type Config, configSchema} from './schema.js'
import {didYouMean} from './suggest.js'
import {registerSecret} from '../system/redact.js'
import {quote} from './quote.js'

const SEARCH_PLACES = ['pgha.config.yaml', 'pgha.config.yml', 'pgha.config.json', '.pgharc', '.pgharc.yaml', '.pgharc.yml', '.pgharc.json']
const SYSTEM_CONFIG = '/etc/pgha/pgha.config.yaml'

/** Unwrap defaults/effects/optionals down to the object schema, if any. */
function unwrap(s: z.ZodTypeAny): z.ZodTypeAny {
  for (;;) {
    if (s instanceof z.ZodDefault) s = s._def.innerType
    else if (s instanceof z.ZodOptional || s instanceof z.ZodNullable) s = s.unwrap()
    else if (s instanceof z.ZodEffects) s = s.innerType()
    else return s
  }
}

function keysAt(path: (string | number)[]): string[] {
  let s: z.ZodTypeAny = configSchema
  for (const p of path) {
    s = unwrap(s)
    if (!(s instanceof z.ZodObject)) return []
    s = s.shape[p as string]
    if (!s) return []
  }
  s = unwrap(s)
  return s instanceof z.ZodObject ? Object.keys(s.shape) : []
}

const segment = (p: string | number) =>
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069]/.test(String(p)) ? quote(String(p)) : String(p)
/** A key path as printed: dotted, a segment with control characters JSON-quoted so a problem stays one line. */
export const formatKeyPath = (path: (string | number)[]) => (path.length === 0 ? '(top level)' : path.map(segment).join('.'))
const keyPath = formatKeyPath

function describeFound(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return `${typeof v} ${quote(v)}`
}

function valueAt(raw: unknown, path: (string | number)[]): unknown {
  let v: unknown = raw
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined
  return v
}

/** Zod issues → one line each: key path, what was expected, what was found. */
function formatIssues(issues: z.ZodIssue[], raw: unknown): string[] {
  const out: string[] = []
  for (const i of issues) {
    if (i.code === z.ZodIssueCode.unrecognized_keys) {
      const known = keysAt(i.path)
      for (const k of i.keys) {
        const guess = didYouMean(k, known)
        const where = keyPath([...i.path, k])
        out.push(
          `${where}: unknown key${guess ? ` (did you mean "${keyPath([...i.path, guess])}"?)` : ''}; expected one of: ${known.join(', ')}`,
        )
      }
      continue
    }
    const found = valueAt(raw, i.path)
    if (i.code === z.ZodIssueCode.invalid_type) {
      out.push(
        found === undefined
          ? `${keyPath(i.path)}: required key is missing (expected ${i.expected})`
          : `${keyPath(i.path)}: expected ${i.expected}, found ${describeFound(found)}`,
      )
    } else if (i.code === z.ZodIssueCode.invalid_enum_value) {
      const guess = typeof found === 'string' ? didYouMean(found, i.options.map(String)) : undefined
      out.push(
        `${keyPath(i.path)}: expected one of ${i.options.join(' | ')}, found ${describeFound(found)}${guess ? ` (did you mean "${guess}"?)` : ''}`,
      )
    } else if (i.code === z.ZodIssueCode.invalid_union) {
      out.push(`${keyPath(i.path)}: expected a string or number, found ${describeFound(found)}`)
    } else if (i.code === z.ZodIssueCode.custom || i.code === z.ZodIssueCode.invalid_string) {
      out.push(`${keyPath(i.path)}: ${i.message}`)
    } else {
      out.push(`${keyPath(i.path)}: ${i.message}, found ${describeFound(found)}`)
    }
  }
  return out
}

/** Pure cross-field checks on a schema-valid config. */
export function semanticProblems(c: Config): string[] {
  const p: string[] = []
  const vipM = parseCidr(c.network.vipPrimary)!
  const vipS = parseCidr(c.network.vipStandby)!
  const self = parseIPv4(c.node.address)!
  const peer = parseIPv4(c.peer.address)!
  const gw = parseIPv4(c.network.gateway)!
  if (vipM.value === vipS.value) p.push(`network.vipStandby: must differ from network.vipPrimary, both are ${vipM.address}`)
  if (c.node.name === c.peer.name) p.push(`peer.name: must differ from node.name, both are "${c.node.name}"`)
  if (self === peer) p.push(`peer.address: must differ from node.address, both are ${c.node.address}`)
  for (const [key, vip] of [
    ['vipPrimary', vipM],
    ['vipStandby', vipS],
  ] as const) {
    for (const [what, addr, text] of [
      ['node.address', self, c.node.address],
      ['peer.address', peer, c.peer.address],
    ] as const) {
      if (!sameSubnet(vip.value, addr, vip.prefix)) {
        p.push(`network.${key}: ${c.network[key]} is outside the subnet of ${what} ${text}; a VIP must be on the interface's subnet`)
      }
    }
    if (vip.value === self || vip.value === peer)
      p.push(`network.${key}: ${vip.address} is a host address; a VIP must be a separate address`)
    if (vip.value === gw) p.push(`network.${key}: ${vip.address} is the gateway; a VIP must be a separate address`)
    const reserved = reservedAddresses(vip)
    if (reserved && vip.value === reserved.network)
      p.push(
        `network.${key}: ${vip.address} is the network address of /${vip.prefix}; pick a host address inside ${formatIPv4(reserved.network)}/${vip.prefix}`,
      )
    if (reserved && vip.value === reserved.broadcast)
      p.push(
        `network.${key}: ${vip.address} is the broadcast address of /${vip.prefix}; pick a host address inside ${formatIPv4(reserved.network)}/${vip.prefix}`,
      )
  }
  if (gw === self)
    p.push(`network.gateway: ${c.network.gateway} is node.address; the gateway must be another device (the router both hosts reach)`)
  if (gw === peer)
    p.push(`network.gateway: ${c.network.gateway} is peer.address; the gateway must be another device (the router both hosts reach)`)
  if (!sameSubnet(gw, self, vipM.prefix))
    p.push(`network.gateway: ${c.network.gateway} is outside the subnet of node.address ${c.node.address}`)
  if (c.archive.mode !== 'none' && !c.archive.source) p.push(`archive.source: required when archive.mode is ${c.archive.mode}`)
  if (c.archive.mode === 'nfs' && c.archive.source && !/^[^:\s]+:\/\S*$/.test(c.archive.source)) {
    p.push(`archive.source: expected HOST:/path for nfs, found "${c.archive.source}"`)
  }
  const f = c.fence
  if (f.agent === 'ipmitool' || f.agent === 'fence-agent') {
    if (!f.address) p.push(`fence.address: required for fence.agent ${f.agent}`)
    if (!f.user) p.push(`fence.user: required for fence.agent ${f.agent}`)
    if (!f.passwordFile && !f.passwordEnv)
      p.push(`fence.passwordFile: set fence.passwordFile or fence.passwordEnv for fence.agent ${f.agent}`)
  }
  if (f.agent === 'fence-agent' && !f.name) p.push('fence.name: required for fence.agent fence-agent (e.g. fence_ipmilan)')
  if (f.agent === 'command' && !f.command) p.push('fence.command: required for fence.agent command (an argv list with {action})')
  if (f.agent === 'command' && f.command && !f.command.some((a) => a.includes('{action}'))) {
    p.push('fence.command: must contain the {action} placeholder')
  }
  if (f.allowUnfencedPromotion && f.agent !== 'none') p.push('fence.allowUnfencedPromotion: only allowed with fence.agent none')
  // 10 ×, not 5 ×: the shipped interval went from 500 to 250 ms, and a config that sets only
  // probeTimeout (up to 2.5 s) must stay valid.
  if (c.timing.probeTimeout > c.timing.interval * 10)
    p.push('timing.probeTimeout: must be at most 10 × timing.interval so one tick stays bounded')
  return p
}

export {fileProblems} from './file-checks.js'

export interface LoadedConfig {
  config: Config
  filepath: string
}

/** Parse + validate a raw object. Throws ConfigError with one detail line per problem. */
export function validateConfig(raw: unknown, filepath = '(inline)', opts: {checkFiles?: boolean; env?: NodeJS.ProcessEnv} = {}): Config {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(`config ${filepath} is not a mapping of keys`, [], 'see examples/node1.yaml for the layout')
  }
  const parsed = configSchema.safeParse(raw)
  if (!parsed.success) {
    const lines = formatIssues(parsed.error.issues, raw)
    throw new ConfigError(
      `config ${filepath} has ${lines.length} problem${lines.length === 1 ? '' : 's'}`,
      lines,
      'fix the keys named above; see docs/configuration.md',
    )
  }
  const problems = semanticProblems(parsed.data)
  if (opts.checkFiles !== false) problems.push(...fileProblems(parsed.data, opts.env))
  if (problems.length > 0) {
    throw new ConfigError(
      `config ${filepath} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`,
      problems,
      'fix the keys named above; see docs/configuration.md',
    )
  }
  return parsed.data
}

/** --config > PGHA_CONFIG > search from cwd (cosmiconfig) > /etc/pgha/pgha.config.yaml. */
export async function loadConfig(
  opts: {path?: string; cwd?: string; checkFiles?: boolean; env?: NodeJS.ProcessEnv} = {},
): Promise<LoadedConfig> {
  const env = opts.env ?? process.env
  if (opts.path !== undefined && opts.path.trim() === '') {
    throw new ConfigError('--config is empty', [], 'pass --config FILE with a path, or leave --config out to search for pgha.config.yaml')
  }
  const explicit = opts.path ?? env.PGHA_CONFIG
  let filepath: string | undefined
  if (explicit) {
    filepath = resolve(opts.cwd ?? process.cwd(), explicit)
  } else {
    // cosmiconfig only finds the file; readConfigFile parses it so errors keep line and column.
    // Imported here: with --config or PGHA_CONFIG (Nagios checks) it is not loaded at all.
    const {cosmiconfig} = await import('cosmiconfig')
    const explorer = cosmiconfig('pgha', {
      searchPlaces: SEARCH_PLACES,
      cache: false,
      searchStrategy: 'global',
      loaders: {noExt: () => ({}), '.yaml': () => ({}), '.yml': () => ({}), '.json': () => ({})},
    })
    const found = await explorer.search(opts.cwd)
    filepath = found?.filepath ?? (existsSync(SYSTEM_CONFIG) ? SYSTEM_CONFIG : undefined)
  }
  if (!filepath) {
    throw new ConfigError(
      'no config file found',
      [],
      `pass --config FILE, set PGHA_CONFIG, or create ${SYSTEM_CONFIG} (see examples/node1.yaml)`,
    )
  }
  const raw = readConfigFile(filepath)
  return {config: validateConfig(raw, filepath, {checkFiles: opts.checkFiles, env}), filepath}
}

export function readSecretFile(path: string): string {
  const secret = readFileSync(path, 'utf8').split('\n')[0].trim()
  registerSecret(secret)
  return secret
}
