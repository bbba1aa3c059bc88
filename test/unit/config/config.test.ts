import assert from 'node:assert/strict'
import {chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {parse} from 'yaml'
import {readFileSync} from 'node:fs'
import {loadConfig, semanticProblems, validateConfig} from '../../../src/lib/config/load.js'
import {parseDuration, parseSize} from '../../../src/lib/config/units.js'
import {parseCidr, sameSubnet, parseIPv4} from '../../../src/lib/config/net.js'
import {didYouMean} from '../../../src/lib/config/suggest.js'
import {ConfigError, EXIT} from '../../../src/lib/errors.js'

const example = () => parse(readFileSync('examples/node1.yaml', 'utf8')) as Record<string, any>

function problemsOf(raw: unknown): string[] {
  try {
    validateConfig(raw, 'test.yaml', {checkFiles: false})
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`)
    assert.equal(error.exitCode, EXIT.USAGE)
    return error.details ?? []
  }
  return []
}

describe('units', () => {
  it('parses durations to ms', () => {
    assert.equal(parseDuration('500ms'), 500)
    assert.equal(parseDuration('10s'), 10_000)
    assert.equal(parseDuration('2m'), 120_000)
    assert.equal(parseDuration(3), 3000)
    assert.equal(parseDuration('1.5s'), 1500)
    assert.equal(parseDuration('ten'), undefined)
    assert.equal(parseDuration('-1s'), undefined)
  })
  it('parses sizes with PostgreSQL units', () => {
    assert.equal(parseSize('80MB'), 80 * 1024 * 1024)
    assert.equal(parseSize('1GB'), 1024 ** 3)
    assert.equal(parseSize('512kB'), 512 * 1024)
    assert.equal(parseSize(160192000), 160192000)
    assert.equal(parseSize('80 furlongs'), undefined)
  })
  it('does IPv4 and CIDR math', () => {
    assert.equal(parseIPv4('192.0.2.1'), 0xc0000201)
    assert.equal(parseIPv4('192.0.2.256'), undefined)
    assert.equal(parseIPv4('192.0.2'), undefined)
    assert.deepEqual(parseCidr('192.0.2.100/24'), {address: '192.0.2.100', prefix: 24, value: 0xc0000264})
    assert.equal(parseCidr('192.0.2.100'), undefined)
    assert.equal(parseCidr('192.0.2.100/33'), undefined)
    assert.ok(sameSubnet(parseIPv4('192.0.2.11')!, parseIPv4('192.0.2.100')!, 24))
    assert.ok(!sameSubnet(parseIPv4('192.0.3.11')!, parseIPv4('192.0.2.100')!, 24))
  })
  it('suggests close names only', () => {
    assert.equal(didYouMean('vipStandbx', ['vipPrimary', 'vipStandby']), 'vipStandby')
    assert.equal(didYouMean('zzzzzz', ['vipPrimary', 'vipStandby']), undefined)
  })
})

describe('config validation', () => {
  it('accepts the shipped example and fills defaults', () => {
    const cfg = validateConfig(example(), 'node1.yaml', {checkFiles: false})
    assert.equal(cfg.timing.interval, 250)
    assert.equal(cfg.lag.promote.maxBytes, 160 * 1024 * 1024)
    assert.equal(cfg.fence.delay, 500)
    assert.equal(cfg.node.canPrimary, true)
    // Not in the example: filled from the schema's defaults.
    assert.equal(cfg.network.arpCount, 3)
    assert.equal(cfg.postgres.stepTimeout, 60_000)
    assert.equal(cfg.fence.allowUnfencedPromotion, false)
  })
  it('accepts examples/node2.yaml (the mirror)', () => {
    const raw = parse(readFileSync('examples/node2.yaml', 'utf8'))
    const cfg = validateConfig(raw, 'node2.yaml', {checkFiles: false})
    assert.equal(cfg.node.name, 'node2')
    assert.equal(cfg.peer.name, 'node1')
  })
  it('names an unknown key with a did-you-mean', () => {
    const raw = example()
    raw.network.vipStandbx = raw.network.vipStandby
    delete raw.network.vipStandby
    const p = problemsOf(raw)
    assert.ok(
      p.some((l) => l.startsWith('network.vipStandbx: unknown key (did you mean "network.vipStandby"?)')),
      p.join('\n'),
    )
    assert.ok(
      p.some((l) => l.startsWith('network.vipStandby: required key is missing')),
      p.join('\n'),
    )
  })
  it('reports one line per problem with what was expected and found', () => {
    const raw = example()
    raw.network.vipPrimary = '192.0.2.300/24'
    raw.timing.interval = 'soon'
    raw.postgres.port = 'fivefourthreetwo'
    raw.fence.agent = 'ipmi'
    const p = problemsOf(raw)
    assert.equal(p.length, 4, p.join('\n'))
    assert.ok(p.some((l) => l.startsWith('network.vipPrimary: expected an IPv4 address with prefix') && l.includes('"192.0.2.300/24"')))
    assert.ok(p.some((l) => l.startsWith('timing.interval: expected a duration') && l.includes('"soon"')))
    assert.ok(p.some((l) => l.startsWith('postgres.port: expected number, found string "fivefourthreetwo"')))
    assert.ok(p.some((l) => l.startsWith('fence.agent: expected one of ipmitool | fence-agent | command | none')))
  })
  it('bounds probeTimeout by 10 × interval: a config that set only probeTimeout (≤ 2.5 s) stays valid', () => {
    const raw = example()
    delete raw.timing.interval
    raw.timing.probeTimeout = '2500ms'
    assert.deepEqual(problemsOf(raw), [])
    raw.timing.probeTimeout = '2600ms'
    assert.deepEqual(problemsOf(raw), ['timing.probeTimeout: must be at most 10 × timing.interval so one tick stays bounded'])
  })
  it('refuses VIP-M = VIP-S and VIPs outside the subnet', () => {
    const raw = example()
    raw.network.vipStandby = raw.network.vipPrimary
    assert.ok(problemsOf(raw).some((l) => l.startsWith('network.vipStandby: must differ from network.vipPrimary')))
    const raw2 = example()
    raw2.network.vipPrimary = '198.51.100.100/24'
    assert.ok(problemsOf(raw2).some((l) => l.includes('network.vipPrimary: 198.51.100.100/24 is outside the subnet of node.address')))
  })
  it('requires fence credentials for ipmitool and the placeholder for command', () => {
    const raw = example()
    delete raw.fence.passwordFile
    assert.ok(problemsOf(raw).some((l) => l.startsWith('fence.passwordFile: set fence.passwordFile or fence.passwordEnv')))
    const raw2 = example()
    raw2.fence = {agent: 'command', command: ['/usr/local/bin/power', 'node2']}
    assert.ok(problemsOf(raw2).some((l) => l === 'fence.command: must contain the {action} placeholder'))
    const raw3 = example()
    raw3.fence.allowUnfencedPromotion = true
    assert.ok(problemsOf(raw3).some((l) => l.startsWith('fence.allowUnfencedPromotion: only allowed with fence.agent none')))
  })
  it('semanticProblems is empty for a good config', () => {
    assert.deepEqual(semanticProblems(validateConfig(example(), 'x', {checkFiles: false})), [])
  })
})

describe('config files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-cfg-'))
  after(() => rmSync(dir, {recursive: true, force: true}))

  function write(name: string, mutate: (c: Record<string, any>) => void): string {
    const raw = example()
    mkdirSync(join(dir, 'data'), {recursive: true})
    raw.postgres.datadir = join(dir, 'data')
    raw.postgres.passfile = undefined
    raw.fence.passwordFile = join(dir, 'fence.pw')
    mutate(raw)
    const file = join(dir, name)
    writeFileSync(file, JSON.stringify(raw))
    return file
  }

  it('refuses a missing datadir and a group-readable secret, naming the fix', async () => {
    writeFileSync(join(dir, 'fence.pw'), 'secret\n', {mode: 0o644})
    chmodSync(join(dir, 'fence.pw'), 0o644)
    const file = write('a.json', (c) => {
      c.postgres.datadir = join(dir, 'nope')
    })
    await assert.rejects(loadConfig({path: file}), (e: ConfigError) => {
      const d = e.details!.join('\n')
      assert.match(d, /postgres\.datadir: .*nope does not exist/)
      assert.match(d, /fence\.passwordFile: .* is readable by group or others \(mode 644\); run chmod 600/)
      return e.exitCode === EXIT.USAGE
    })
  })
  it('loads a good file via PGHA_CONFIG', async () => {
    writeFileSync(join(dir, 'fence.pw'), 'secret\n')
    chmodSync(join(dir, 'fence.pw'), 0o600)
    const file = write('b.json', () => {})
    const {config, filepath} = await loadConfig({env: {PGHA_CONFIG: file}})
    assert.equal(filepath, file)
    assert.equal(config.node.name, 'node1')
  })
  it('says which file is missing', async () => {
    await assert.rejects(loadConfig({path: join(dir, 'missing.yaml')}), /missing\.yaml does not exist/)
  })
  it('reports YAML syntax errors as a config error', async () => {
    const file = join(dir, 'broken.yaml')
    writeFileSync(file, 'cluster: [unclosed\n')
    await assert.rejects(loadConfig({path: file}), (e: ConfigError) => e.exitCode === EXIT.USAGE && /cannot parse config/.test(e.message))
  })
})
