/**
 * Generated broken configs for the config fuzz tests: each variant is a valid base config with
 * one defect (a typo in a key name at any depth, a wrong type, a value just outside its limits,
 * a metacharacter or unicode in a constrained string, a required key removed) and the key path
 * a correct refusal must name. Every variant is invalid by construction.
 */
import {mkdirSync, readdirSync, statSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import fc from 'fast-check'
import {configKeyRows, type KeyRow} from '../../src/lib/config/describe.js'
import {formatKeyPath} from '../../src/lib/config/load.js'
import {parseDuration, parseSize} from '../../src/lib/config/units.js'

export type Raw = Record<string, any>
export interface Variant {
  kind: string
  /** Key path (as pgha prints it) the refusal must name. */
  key: string
  raw: Raw
}

/** A valid config whose paths all live under `dir` (datadir and bindir exist; stateDir and mountpoint do not). */
export function fuzzBase(dir: string): Raw {
  return {
    cluster: 'fuzz',
    node: {name: 'node1', address: '192.0.2.11', canPrimary: true},
    peer: {name: 'node2', address: '192.0.2.12'},
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24', arpCount: 3},
    postgres: {
      bindir: join(dir, 'bin'),
      datadir: join(dir, 'data'),
      port: 5432,
      osUser: 'postgres',
      socketDir: join(dir, 'run'),
      passfile: join(dir, 'pgpass'),
      heartbeat: {database: 'pgha', user: 'pgha'},
      replication: {user: 'replicator'},
      stepTimeout: '60s',
      logFile: join(dir, 'data', 'server.log'),
      configFile: join(dir, 'data', 'postgresql.conf'),
    },
    archive: {
      mode: 'nfs',
      source: '192.0.2.12:/var/lib/pgha/archive',
      mountpoint: join(dir, 'archive'),
      options: 'vers=4.2',
      timeout: '10s',
    },
    fence: {
      agent: 'ipmitool',
      address: '192.0.2.202',
      port: 623,
      user: 'admin',
      passwordFile: join(dir, 'fence.pw'),
      ipmi: {interface: 'lanplus', cipherSuite: 3},
      options: {lanplus: '1'},
      timeout: '20s',
      delay: '500ms',
      allowUnfencedPromotion: false,
    },
    timing: {interval: '250ms', checkTimes: 2, probeTimeout: '500ms', startupDelay: '45s'},
    lag: {
      promote: {maxAge: '600s', maxBytes: '160MB'},
      releaseStandbyVip: {maxAge: '400s', maxBytes: '80MB'},
      yield: {maxAge: '400s', maxBytes: '80MB'},
    },
    stateDir: join(dir, 'state'),
  }
}

/** The files the base config needs to be valid (pg_ctl, the data directory, private secrets). */
export function prepareFuzzDir(dir: string): void {
  mkdirSync(join(dir, 'bin'), {recursive: true})
  mkdirSync(join(dir, 'data'), {recursive: true})
  writeFileSync(join(dir, 'bin', 'pg_ctl'), '')
  writeFileSync(join(dir, 'pgpass'), '*:*:*:pgha:x\n', {mode: 0o600})
  writeFileSync(join(dir, 'fence.pw'), 'secret\n', {mode: 0o600})
}

/** Every path, size and mtime under dir: compared before and after to prove nothing was touched. */
export function snapshot(dir: string): string {
  const out: string[] = []
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name)
      const st = statSync(p)
      out.push(`${p} ${st.isDirectory() ? 'dir' : st.size} ${st.mtimeMs} ${(st.mode & 0o7777).toString(8)}`)
      if (st.isDirectory()) walk(p)
    }
  }
  walk(dir)
  return out.join('\n')
}

const clone = (r: Raw): Raw => structuredClone(r)
const getAt = (r: Raw, path: string[]): unknown => path.reduce<any>((o, p) => (o && typeof o === 'object' ? o[p] : undefined), r)
function setAt(r: Raw, path: string[], v: unknown): void {
  let o = r
  for (const p of path.slice(0, -1)) o = o[p] = o[p] && typeof o[p] === 'object' ? o[p] : {}
  o[path.at(-1)!] = v
}
function deleteAt(r: Raw, path: string[]): void {
  const parent = getAt(r, path.slice(0, -1)) as Raw
  delete parent[path.at(-1)!]
}

/** Object key paths at every depth of the base (not inside fence.options, whose names are free). */
function objectKeyPaths(r: Raw, prefix: string[] = []): string[][] {
  return Object.entries(r).flatMap(([k, v]) => {
    const p = [...prefix, k]
    const inner = v && typeof v === 'object' && !Array.isArray(v) && p.join('.') !== 'fence.options' ? objectKeyPaths(v, p) : []
    return [p, ...inner]
  })
}

const LOOKALIKE: Record<string, string> = {a: 'а', e: 'е', o: 'о', p: 'р', c: 'с', i: 'і'} // Cyrillic
function typo(k: string, op: number, at: number, letter: string): string {
  const i = at % k.length
  switch (op) {
    case 0:
      return k.slice(0, i) + k.slice(i + 1) // drop
    case 1:
      return k.slice(0, i) + k[i] + k.slice(i) // double
    case 2:
      return i + 1 < k.length ? k.slice(0, i) + k[i + 1] + k[i] + k.slice(i + 2) : k + letter // swap
    case 3:
      return k.slice(0, i) + letter + k.slice(i + 1) // replace
    case 4:
      return k[0].toUpperCase() === k[0] ? k.toLowerCase() : k[0].toUpperCase() + k.slice(1) // case
    case 5:
      return k + 's'
    default: {
      const j = [...k].findIndex((ch, n) => n >= i && LOOKALIKE[ch])
      const n = j >= 0 ? j : [...k].findIndex((ch) => LOOKALIKE[ch])
      return n >= 0 ? k.slice(0, n) + LOOKALIKE[k[n]] + k.slice(n + 1) : `${k}ü`
    }
  }
}

const WRONG_TYPES: Record<string, unknown[]> = {
  integer: ['3', true, [], {}, null, 1.5, -0.5],
  boolean: ['true', 'yes', 1, 0, null, []],
  duration: [true, [], {}, null, '10 s s', '-1s', 'ten seconds', '1e3', '0x10'],
  size: [true, [], {}, null, '1 PB', '-1MB', 'lots'],
  'list of strings': ['x', 1, {}, [], [1], [null]],
  'mapping of name: string': ['x', 1, [], null, {timeout: 5}, {flag: true}],
  'one of': [1, true, [], {}, null, 'NONE', 'ipmi', ''],
  'list of hooks': [
    'x',
    1,
    {},
    null,
    [1],
    [{run: 'x'}],
    [{run: ['relative/prog']}],
    [{run: ['/bin/true'], on: ['nope']}],
    [{run: ['/bin/true'], timeout: '0s'}],
    [{run: ['/bin/true'], extra: 1}],
  ],
}
const STRING_WRONG = [123, true, false, [], ['x'], {}, {a: 1}, null]
const SECTION_WRONG = ['x', 1, [], null, true]

/** Characters no constrained key accepts (names, addresses, interface, env names, mount options). */
const META = [
  '\n',
  '\t',
  '\u0000',
  '\u001b',
  ' ',
  '$(touch /tmp/PWNED)',
  '`id`',
  ';',
  '|',
  '&',
  '>',
  '*',
  '"',
  "'",
  '\\',
  'é',
  'Ω',
  '\u200b',
  '\uff11',
  '\u{1F642}',
  '%',
  '#',
  '!',
  '\u202e',
]
const CONTROL = ['\n', '\r', '\t', '\u0000', '\u0007', '\u001b', '\u007f']
const STRICT_KEYS = [
  'cluster',
  'node.name',
  'node.address',
  'peer.name',
  'peer.address',
  'network.interface',
  'network.gateway',
  'network.vipPrimary',
  'network.vipStandby',
  'postgres.osUser',
  'postgres.heartbeat.database',
  'postgres.heartbeat.user',
  'postgres.replication.user',
  'fence.address',
  'archive.options',
]
const CONTROL_KEYS = [
  'postgres.bindir',
  'postgres.datadir',
  'postgres.socketDir',
  'postgres.passfile',
  'postgres.logFile',
  'postgres.configFile',
  'archive.mountpoint',
  'archive.source',
  'stateDir',
  'fence.user',
  'fence.passwordFile',
]
/** Keys the base leaves out but that a broken value still must be refused for. */
const EXTRA_VALUES: Record<string, string> = {'fence.passwordEnv': 'IPMI_PASSWORD', 'fence.name': 'fence_ipmilan'}

/** Values black-box testing found accepted once: each must stay refused. */
const KNOWN_BAD: [string, unknown, string?][] = [
  ['network.interface', '-h'],
  ['network.interface', '..'],
  ['network.interface', '.'],
  ['network.interface', 'a'.repeat(16)],
  ['network.interface', ''],
  ['network.interface', 'eth0:1'],
  ['network.vipPrimary', '192.0.2.010/24'],
  ['network.vipPrimary', '192.0.2.100/0'],
  ['network.vipPrimary', '192.0.2.100/024'],
  ['network.vipPrimary', '192.0.2.0/24'],
  ['network.vipStandby', '192.0.2.255/24'],
  ['network.vipStandby', '192.0.2.1/24'],
  ['network.vipStandby', '192.0.2.11/24'],
  ['network.vipStandby', '192.0.2.100/24'],
  ['network.gateway', '192.0.2.11'],
  ['network.gateway', '192.0.2.12'],
  ['network.gateway', '198.51.100.1'],
  ['node.address', '192.0.2.012'],
  ['peer.address', '192.0.2.11'],
  ['fence.options.action', 'on'],
  ['fence.options.option', 'on'],
  ['fence.timeout', '0s'],
  ['postgres.stepTimeout', 0],
  ['timing.interval', 0],
  ['timing.probeTimeout', 0],
  ['timing.probeTimeout', '3s'],
  ['postgres.stepTimeout', '1000h'],
  ['fence.address', '-H'],
  ['fence.address', '192.0.2.0202'],
  ['fence.allowUnfencedPromotion', true],
  ['fence.passwordFile', '/'],
  ['postgres.datadir', '/etc/hostname'],
  ['postgres.bindir', '/nonexistent'],
  ['fence.passwordEnv', 'UNSET_PGHA_FUZZ_VAR'],
  ['archive.source', 'not-host-path'],
  ['node.name', 'node2', 'peer.name'],
  ['archive.mode', 'NFS'],
  ['fence.command', ['/bin/true']],
  ['postgres.osUser', 'root\nx'],
]

/** Keys that must be present in the base (schema-required, or required by fence.agent ipmitool / archive.mode nfs). */
const CONDITIONALLY_REQUIRED = ['fence.address', 'fence.user', 'archive.source']

function outOfRange(r: KeyRow): unknown[] {
  const m = /^(\S+) to (\S+)$/.exec(r.limits[0] ?? '')
  if (!m) return []
  const [lo, hi] = [m[1], m[2]]
  if (r.type === 'duration') {
    const out: unknown[] = [`${parseDuration(hi)! + 1}ms`, '1000h', 2 ** 31, `${2 ** 31}ms`]
    if (parseDuration(lo)! > 0) out.push(`${parseDuration(lo)! - 1}ms`, 0, '0s')
    return out
  }
  if (r.type === 'size') return [parseSize(hi)! + 1, '2TB', -1]
  return [Number(hi) + 1, Number(lo) - 1, 2 ** 53]
}

/** Each KNOWN_BAD value applied to the base: run all of them, not only the sampled ones. */
export function knownBadVariants(base: Raw): Variant[] {
  return KNOWN_BAD.map(([key, v, named]) => {
    const raw = clone(base)
    setAt(raw, key.split('.'), v)
    if (key === 'fence.command') raw.fence.agent = 'command'
    if (key === 'fence.passwordEnv') delete raw.fence.passwordFile
    return {kind: 'known bad', key: named ?? key, raw}
  })
}

export function variantArbitrary(base: Raw): fc.Arbitrary<Variant> {
  const rows = configKeyRows()
  const name = (path: string[]) => formatKeyPath(path)
  const split = (key: string) => key.split('.')

  const typos = fc
    .tuple(fc.constantFrom(...objectKeyPaths(base)), fc.nat(6), fc.nat(40), fc.constantFrom(...'qxzjkwv_9'))
    .map(([path, op, at, letter]) => {
      const k = path.at(-1)!
      let t = typo(k, op, at, letter)
      const siblings = Object.keys(getAt(base, path.slice(0, -1)) ?? base).concat(
        rows.filter((r) => r.key.startsWith(path.slice(0, -1).join('.'))).map((r) => r.key.split('.')[path.length - 1]),
      )
      if (t === '' || t === k || siblings.includes(t)) t = `${k}_x`
      const raw = clone(base)
      const parent = path.length === 1 ? raw : (getAt(raw, path.slice(0, -1)) as Raw)
      parent[t] = parent[k]
      delete parent[k]
      return {kind: 'typo', key: name([...path.slice(0, -1), t]), raw}
    })

  const wrongTypes = fc.constantFrom(...rows).chain((r) => {
    const pool = WRONG_TYPES[r.type] ?? STRING_WRONG
    return fc.constantFrom(...pool).map((v) => {
      const raw = clone(base)
      setAt(raw, split(r.key), v)
      return {kind: 'wrong type', key: r.key, raw}
    })
  })

  const sections = fc
    .tuple(fc.constantFrom(...Object.keys(base).filter((k) => typeof base[k] === 'object')), fc.constantFrom(...SECTION_WRONG))
    .map(([k, v]) => {
      const raw = clone(base)
      raw[k] = v
      return {kind: 'section type', key: k, raw}
    })

  const ranged = rows.filter((r) => outOfRange(r).length > 0)
  const boundaries = fc.constantFrom(...ranged).chain((r) =>
    fc.constantFrom(...outOfRange(r)).map((v) => {
      const raw = clone(base)
      setAt(raw, split(r.key), v)
      return {kind: 'boundary', key: r.key, raw}
    }),
  )

  const metaTargets = [
    ...STRICT_KEYS.map((k) => [k, META] as const),
    ...CONTROL_KEYS.map((k) => [k, CONTROL] as const),
    ...Object.keys(EXTRA_VALUES).map((k) => [k, META] as const),
  ]
  const metas = fc.tuple(fc.constantFrom(...metaTargets), fc.nat(64), fc.nat(64)).map(([[key, chars], c, at]) => {
    const raw = clone(base)
    const v = String(getAt(raw, split(key)) ?? EXTRA_VALUES[key])
    const i = at % (v.length + 1)
    setAt(raw, split(key), v.slice(0, i) + chars[c % chars.length] + v.slice(i))
    return {kind: 'metacharacter', key, raw}
  })

  const fenceOptions = fc.tuple(fc.constantFrom(...META, ...CONTROL), fc.boolean()).map(([ch, inKey]) => {
    const raw = clone(base)
    const optKey = inKey ? `ip${ch}port` : 'ipport'
    raw.fence.options = {...raw.fence.options, [optKey]: inKey ? '623' : `623${CONTROL.includes(ch) ? ch : '\n'}action=on`}
    return {kind: 'fence option', key: name(['fence', 'options', optKey]), raw}
  })

  const required = [
    ...rows.filter((r) => r.required).map((r) => r.key),
    ...CONDITIONALLY_REQUIRED,
    ...['node', 'peer', 'network', 'postgres', 'fence'],
  ]
  const removals = fc.constantFrom(...required).map((key) => {
    const raw = clone(base)
    deleteAt(raw, split(key))
    return {kind: 'removed', key, raw}
  })

  const knownBad = fc.constantFrom(...knownBadVariants(base))

  return fc.oneof(typos, wrongTypes, sections, boundaries, metas, fenceOptions, removals, knownBad)
}

/** Does one of the problem lines name `key` (the key itself, or a path below it)? */
export function namesKey(lines: string[], key: string): boolean {
  return lines.some((l) => l.startsWith(`${key}:`) || l.startsWith(`${key}.`))
}
