import {cosmiconfig, defaultLoaders} from 'cosmiconfig'
import {existsSync, readFileSync, statSync} from 'node:fs'
import {resolve} from 'node:path'
import {z} from 'zod'
import {ConfigError} from '../errors.js'
import {parseCidr, parseIPv4, sameSubnet} from './net.js'
import {type Config, configSchema} from './schema.js'
import {didYouMean} from './suggest.js'

export const SEARCH_PLACES = [
  'pgha.config.yaml',
  'pgha.config.yml',
  'pgha.config.json',
  '.pgharc',
  '.pgharc.yaml',
  '.pgharc.yml',
  '.pgharc.json',
]
export const SYSTEM_CONFIG = '/etc/pgha/pgha.config.yaml'

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

const keyPath = (path: (string | number)[]) => (path.length === 0 ? '(top level)' : path.join('.'))

function describeFound(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  return `${typeof v} ${JSON.stringify(v)}`
}

function valueAt(raw: unknown, path: (string | number)[]): unknown {
  let v: unknown = raw
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined
  return v
}

/** Zod issues → one line each: key path, what was expected, what was found. */
export function formatIssues(issues: z.ZodIssue[], raw: unknown): string[] {
  const out: string[] = []
  for (const i of issues) {
    if (i.code === z.ZodIssueCode.unrecognized_keys) {
      const known = keysAt(i.path)
      for (const k of i.keys) {
        const guess = didYouMean(k, known)
        const where = keyPath([...i.path, k])
        out.push(`${where}: unknown key${guess ? ` (did you mean "${[...i.path, guess].join('.')}"?)` : ''}; expected one of: ${known.join(', ')}`)
      }
      continue
    }
    const found = valueAt(raw, i.path)
    if (i.code === z.ZodIssueCode.invalid_type) {
      out.push(found === undefined
        ? `${keyPath(i.path)}: required key is missing (expected ${i.expected})`
        : `${keyPath(i.path)}: expected ${i.expected}, found ${describeFound(found)}`)
    } else if (i.code === z.ZodIssueCode.invalid_enum_value) {
      const guess = typeof found === 'string' ? didYouMean(found, i.options.map(String)) : undefined
      out.push(`${keyPath(i.path)}: expected one of ${i.options.join(' | ')}, found ${describeFound(found)}${guess ? ` (did you mean "${guess}"?)` : ''}`)
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
  for (const [key, vip] of [['vipPrimary', vipM], ['vipStandby', vipS]] as const) {
    for (const [what, addr, text] of [['node.address', self, c.node.address], ['peer.address', peer, c.peer.address]] as const) {
      if (!sameSubnet(vip.value, addr, vip.prefix)) {
        p.push(`network.${key}: ${c.network[key]} is outside the subnet of ${what} ${text}; a VIP must be on the interface's subnet`)
      }
    }
    if (vip.value === self || vip.value === peer) p.push(`network.${key}: ${vip.address} is a host address; a VIP must be a separate address`)
  }
  if (!sameSubnet(gw, self, vipM.prefix)) p.push(`network.gateway: ${c.network.gateway} is outside the subnet of node.address ${c.node.address}`)
  if (c.archive.mode !== 'none' && !c.archive.source) p.push(`archive.source: required when archive.mode is ${c.archive.mode}`)
  if (c.archive.mode === 'nfs' && c.archive.source && !/^[^:\s]+:\/\S*$/.test(c.archive.source)) {
    p.push(`archive.source: expected HOST:/path for nfs, found "${c.archive.source}"`)
  }
  const f = c.fence
  if (f.agent === 'ipmitool' || f.agent === 'fence-agent') {
    if (!f.address) p.push(`fence.address: required for fence.agent ${f.agent}`)
    if (!f.user) p.push(`fence.user: required for fence.agent ${f.agent}`)
    if (!f.passwordFile && !f.passwordEnv) p.push(`fence.passwordFile: set fence.passwordFile or fence.passwordEnv for fence.agent ${f.agent}`)
  }
  if (f.agent === 'fence-agent' && !f.name) p.push('fence.name: required for fence.agent fence-agent (e.g. fence_ipmilan)')
  if (f.agent === 'command' && !f.command) p.push('fence.command: required for fence.agent command (an argv list with {action})')
  if (f.agent === 'command' && f.command && !f.command.some((a) => a.includes('{action}'))) {
    p.push('fence.command: must contain the {action} placeholder')
  }
  if (f.allowUnfencedPromotion && f.agent !== 'none') p.push('fence.allowUnfencedPromotion: only allowed with fence.agent none')
  if (c.timing.probeTimeout > c.timing.interval * 5) p.push('timing.probeTimeout: must be at most 5 × timing.interval so one tick stays bounded')
  return p
}

/** Checks that touch the filesystem (read-only): files exist, secrets are private. */
export function fileProblems(c: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const p: string[] = []
  if (!existsSync(c.postgres.datadir)) p.push(`postgres.datadir: ${c.postgres.datadir} does not exist; create the cluster (initdb or pg_basebackup) or fix the path`)
  if (!existsSync(c.postgres.bindir + '/pg_ctl')) p.push(`postgres.bindir: no pg_ctl in ${c.postgres.bindir}; install PostgreSQL or fix the path`)
  const secret = (key: string, path: string | undefined) => {
    if (!path) return
    if (!existsSync(path)) {
      p.push(`${key}: ${path} does not exist`)
      return
    }
    const mode = statSync(path).mode & 0o777
    if (mode & 0o077) p.push(`${key}: ${path} is readable by group or others (mode ${mode.toString(8)}); run chmod 600 ${path}`)
  }
  secret('fence.passwordFile', c.fence.passwordFile)
  secret('postgres.passfile', c.postgres.passfile)
  if (c.fence.passwordEnv && !env[c.fence.passwordEnv]) p.push(`fence.passwordEnv: environment variable ${c.fence.passwordEnv} is not set`)
  return p
}

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
    throw new ConfigError(`config ${filepath} has ${lines.length} problem${lines.length === 1 ? '' : 's'}`, lines, 'fix the keys named above; see README "Configuration"')
  }
  const problems = semanticProblems(parsed.data)
  if (opts.checkFiles !== false) problems.push(...fileProblems(parsed.data, opts.env))
  if (problems.length > 0) {
    throw new ConfigError(`config ${filepath} has ${problems.length} problem${problems.length === 1 ? '' : 's'}`, problems, 'fix the keys named above; see README "Configuration"')
  }
  return parsed.data
}

/** --config > PGHA_CONFIG > search from cwd (cosmiconfig) > /etc/pgha/pgha.config.yaml. */
export async function loadConfig(opts: {path?: string; cwd?: string; checkFiles?: boolean; env?: NodeJS.ProcessEnv} = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env
  // '.example': the package's /etc/pgha/pgha.config.yaml.example, checked with pgha config -c.
  const explorer = cosmiconfig('pgha', {searchPlaces: SEARCH_PLACES, cache: false, searchStrategy: 'global', loaders: {'.example': defaultLoaders['.yaml']}})
  const explicit = opts.path ?? env.PGHA_CONFIG
  let result: {config: unknown; filepath: string; isEmpty?: boolean} | null
  try {
    if (explicit) {
      const file = resolve(opts.cwd ?? process.cwd(), explicit)
      if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist`, [], 'pass --config with the right path, or set PGHA_CONFIG')
      result = await explorer.load(file)
    } else {
      result = await explorer.search(opts.cwd)
      if (!result && existsSync(SYSTEM_CONFIG)) result = await explorer.load(SYSTEM_CONFIG)
    }
  } catch (error) {
    if (error instanceof ConfigError) throw error
    const msg = (error as Error).message.split('\n')[0]
    throw new ConfigError(`cannot parse config: ${msg}`, [], 'fix the YAML/JSON syntax at the place named')
  }
  if (!result) {
    throw new ConfigError('no config file found', [], `pass --config FILE, set PGHA_CONFIG, or create ${SYSTEM_CONFIG} (see examples/node1.yaml)`)
  }
  if (result.isEmpty) throw new ConfigError(`config ${result.filepath} is empty`, [], 'see examples/node1.yaml')
  return {config: validateConfig(result.config, result.filepath, {checkFiles: opts.checkFiles, env}), filepath: result.filepath}
}

export function readSecretFile(path: string): string {
  return readFileSync(path, 'utf8').split('\n')[0].trim()
}
