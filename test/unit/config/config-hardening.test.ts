/** Defects from black-box testing: each config that passed validation but should not, and each file error reported as the wrong thing. */
import assert from 'node:assert/strict'
import {spawnSync} from 'node:child_process'
import {chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {parse} from 'yaml'
import {loadConfig, validateConfig} from '../../../src/lib/config/load.js'
import {addressOf, parseCidr, parseIPv4} from '../../../src/lib/config/net.js'
import {readError} from '../../../src/lib/config/read.js'
import {ConfigError, EXIT} from '../../../src/lib/errors.js'
import {addressOf as netAddressOf} from '../../../src/lib/system/net.js'
import {hostOf} from '../../../src/lib/system/pg.js'
import {RUN_JS} from '../../helpers/paths.js'

const example = () => parse(readFileSync('examples/node1.yaml', 'utf8')) as Record<string, any>

function problemsOf(mutate: (c: Record<string, any>) => void): string[] {
  const raw = example()
  mutate(raw)
  try {
    validateConfig(raw, 'test.yaml', {checkFiles: false})
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`)
    assert.equal(error.exitCode, EXIT.USAGE)
    return error.details ?? []
  }
  return []
}

/** The config is refused with a line that starts with `key:` (and matches `re` when given). */
function refused(key: string, mutate: (c: Record<string, any>) => void, re?: RegExp): void {
  const p = problemsOf(mutate)
  assert.ok(
    p.some((l) => l.startsWith(`${key}:`) && (!re || re.test(l))),
    `expected a problem on ${key}${re ? ` matching ${re}` : ''}, got:\n${p.join('\n') || '(accepted)'}`,
  )
}
const accepted = (mutate: (c: Record<string, any>) => void) => assert.deepEqual(problemsOf(mutate), [])

describe('one IPv4 parser (issue 9 item 3)', () => {
  it('rejects leading zeros, out-of-range octets and bad prefixes', () => {
    for (const bad of [
      '127.0.0.010',
      '010.0.0.1',
      '1.2.3.00',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      '1.2.3.-1',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '1.2.3.0x1',
      '١.2.3.4',
    ]) {
      assert.equal(parseIPv4(bad), undefined, bad)
    }
    assert.equal(parseIPv4('0.0.0.0'), 0)
    assert.equal(parseIPv4('10.0.0.1'), 0x0a000001)
    for (const bad of ['192.0.2.1/024', '192.0.2.1/0', '192.0.2.1/33', '192.0.2.1/', '192.0.2.010/24', '192.0.2.1/24/1'])
      assert.equal(parseCidr(bad), undefined, bad)
  })
  it('is the one prefix stripper everywhere', () => {
    assert.equal(addressOf('192.0.2.100/24'), '192.0.2.100')
    assert.equal(addressOf('192.0.2.100'), '192.0.2.100')
    assert.equal(hostOf, addressOf)
    assert.equal(netAddressOf, addressOf)
  })
  it('refuses VIP-M 127.0.0.010 that the kernel would read as 127.0.0.8', () => {
    refused(
      'network.vipPrimary',
      (c) => {
        c.network.vipPrimary = '192.0.2.010/24'
        c.network.vipStandby = '192.0.2.8/24'
      },
      /no leading zeros/,
    )
    refused('node.address', (c) => void (c.node.address = '192.0.2.011'))
    refused('network.gateway', (c) => void (c.network.gateway = '192.0.2.01'))
  })
})

describe('duration limits (item 5)', () => {
  it('refuses durations Node timers cannot hold, naming key and maximum', () => {
    refused('postgres.stepTimeout', (c) => void (c.postgres.stepTimeout = '1000h'), /above the maximum 24h/)
    refused('fence.timeout', (c) => void (c.fence.timeout = '600h'), /above the maximum 10m/)
    refused('timing.startupDelay', (c) => void (c.timing.startupDelay = 2 ** 31), /above the maximum/)
    refused('lag.promote.maxAge', (c) => void (c.lag.promote.maxAge = '597h'), /above the maximum 168h/)
  })
  it('accepts each key at its bounds and refuses just outside', () => {
    const cases: [string, string, string, string, string][] = [
      ['postgres', 'stepTimeout', '1s', '24h', '999ms'],
      ['timing', 'interval', '100ms', '10m', '99ms'],
      ['timing', 'probeTimeout', '10ms', '500ms', '9ms'],
      ['fence', 'timeout', '1s', '10m', '999ms'],
      ['fence', 'delay', '0s', '5m', '301s'],
      ['archive', 'timeout', '1s', '10m', '601s'],
    ]
    for (const [section, key, lo, hi, out] of cases) {
      accepted((c) => void (c[section][key] = lo))
      accepted((c) => void (c[section][key] = hi))
      refused(`${section}.${key}`, (c) => void (c[section][key] = out))
    }
  })
  it('refuses zero where zero is absurd (item 11)', () => {
    refused('postgres.stepTimeout', (c) => void (c.postgres.stepTimeout = 0), /below the minimum 1s/)
    const p = problemsOf((c) => {
      c.timing.interval = 0
      c.timing.probeTimeout = 0
    })
    assert.ok(p.some((l) => l.startsWith('timing.interval:')) && p.some((l) => l.startsWith('timing.probeTimeout:')), p.join('\n'))
  })
})

describe('fencing must stay possible (item 6)', () => {
  it('refuses fence.options that set the action', () => {
    refused('fence.options.action', (c) => void (c.fence.options = {action: 'on'}), /pgha sets the action itself/)
  })
  it('refuses control characters where the fence protocol or argv would break', () => {
    refused('fence.user', (c) => void (c.fence.user = 'admin\nrole=x'), /control characters/)
    refused('fence.address', (c) => void (c.fence.address = '192.0.2.202\n'))
    refused('fence.options.ipport', (c) => void (c.fence.options = {ipport: '623\naction=on'}), /control characters/)
    refused('fence.options.a b', (c) => void (c.fence.options = {'a b': 'x'}))
    refused('fence.options."x\\ny"', (c) => void (c.fence.options = {'x\ny': 'x'}))
    refused('fence.address', (c) => void (c.fence.address = '192.0.2.0202'), /IPv4/)
    accepted((c) => void (c.fence.address = 'bmc-node2.example.net'))
  })
  it('refuses fence.timeout 0s', () => refused('fence.timeout', (c) => void (c.fence.timeout = '0s')))
})

describe('network.interface (item 7)', () => {
  it('refuses names Linux would refuse or ip would read as options', () => {
    for (const bad of ['-h', '..', '.', 'eth/0', 'eth 0', 'eth0\n', '', 'abcdefghijklmnop', 'eth0:1'])
      refused('network.interface', (c) => void (c.network.interface = bad))
    for (const good of ['eth0', 'enp3s0f1', 'br-lan.10', 'bond0.100', 'veth@x']) accepted((c) => void (c.network.interface = good))
  })
})

describe('absurd addresses (item 11)', () => {
  it('refuses a VIP that is the network, broadcast or gateway address', () => {
    refused('network.vipPrimary', (c) => void (c.network.vipPrimary = '192.0.2.0/24'), /network address/)
    refused('network.vipStandby', (c) => void (c.network.vipStandby = '192.0.2.255/24'), /broadcast address/)
    refused('network.vipStandby', (c) => void (c.network.vipStandby = '192.0.2.1/24'), /is the gateway/)
    accepted((c) => void (c.network.vipStandby = '192.0.2.127/24'))
  })
  it('refuses a gateway that is one of the two hosts', () => {
    refused('network.gateway', (c) => void (c.network.gateway = c.node.address), /is node\.address/)
    refused('network.gateway', (c) => void (c.network.gateway = c.peer.address), /is peer\.address/)
  })
})

describe('config files are reported as what they are (items 6, 10, 11)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-hcf-'))
  after(() => rmSync(dir, {recursive: true, force: true}))
  mkdirSync(join(dir, 'data'))
  mkdirSync(join(dir, 'bin'))
  writeFileSync(join(dir, 'bin', 'pg_ctl'), '')
  writeFileSync(join(dir, 'fence.pw'), 'secret\n', {mode: 0o600})

  function write(name: string, mutate: (c: Record<string, any>) => void = () => {}): string {
    const raw = example()
    raw.postgres.datadir = join(dir, 'data')
    raw.postgres.bindir = join(dir, 'bin')
    delete raw.postgres.passfile
    raw.fence.passwordFile = join(dir, 'fence.pw')
    mutate(raw)
    const file = join(dir, name)
    writeFileSync(file, JSON.stringify(raw))
    return file
  }
  const rejectsWith = (p: Promise<unknown>, re: RegExp) =>
    assert.rejects(p, (e: ConfigError) => {
      assert.equal(e.exitCode, EXIT.USAGE)
      assert.match([e.message, ...(e.details ?? [])].join('\n'), re)
      return true
    })

  it('loads the good base file', async () => {
    const {config} = await loadConfig({path: write('good.json')})
    assert.equal(config.postgres.datadir, join(dir, 'data'))
  })
  it('keeps line, column and reason of a YAML error', async () => {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'cluster: prod\nnode: [name: node1\npeer: x\n')
    await rejectsWith(loadConfig({path: file}), /cannot parse config .*bad\.yaml: line \d+, column \d+: \S+/)
    writeFileSync(file, 'cluster: prod\ncluster: again\n')
    await rejectsWith(loadConfig({path: file}), /line 2, column 1: .*[Mm]ap keys must be unique/)
  })
  it('keeps line, column and reason of a JSON error', async () => {
    const file = join(dir, 'bad.json')
    writeFileSync(file, '{\n  "cluster": "prod",\n}\n')
    await rejectsWith(loadConfig({path: file}), /bad\.json: line 3, column 1: \S+/)
  })
  it('says a directory is a directory', async () => {
    await rejectsWith(loadConfig({path: join(dir, 'data')}), /data is a directory, not a file/)
  })
  it('says an unreadable file cannot be read', () => {
    assert.match(readError('/etc/pgha/x.yaml', 'EACCES').message, /cannot be read: permission denied/)
  })
  it('says a comment-only or blank --config file is empty', async () => {
    const file = join(dir, 'comments.yaml')
    writeFileSync(file, '# nothing yet\n\n')
    await rejectsWith(loadConfig({path: file}), /comments\.yaml is empty/)
    writeFileSync(file, '')
    await rejectsWith(loadConfig({path: file}), /comments\.yaml is empty/)
  })
  it('refuses -c "" instead of searching', async () => {
    await rejectsWith(loadConfig({path: '', cwd: dir, env: {}}), /--config is empty/)
  })
  it('refuses a datadir that is a file, in one line', async () => {
    await rejectsWith(
      loadConfig({path: write('df.json', (c) => void (c.postgres.datadir = join(dir, 'fence.pw')))}),
      /postgres\.datadir: .*fence\.pw is a file, not a directory/,
    )
  })
  it('refuses a fence.passwordFile that is a directory or empty', async () => {
    await rejectsWith(
      loadConfig({path: write('pd.json', (c) => void (c.fence.passwordFile = join(dir, 'data')))}),
      /fence\.passwordFile: .* is a directory/,
    )
    writeFileSync(join(dir, 'empty.pw'), '', {mode: 0o600})
    chmodSync(join(dir, 'empty.pw'), 0o600)
    await rejectsWith(
      loadConfig({path: write('pe.json', (c) => void (c.fence.passwordFile = join(dir, 'empty.pw')))}),
      /fence\.passwordFile: .*empty\.pw is empty/,
    )
    writeFileSync(join(dir, 'blank.pw'), '\nsecret\n', {mode: 0o600})
    chmodSync(join(dir, 'blank.pw'), 0o600)
    await rejectsWith(
      loadConfig({path: write('pb.json', (c) => void (c.fence.passwordFile = join(dir, 'blank.pw')))}),
      /fence\.passwordFile: .*empty first line/,
    )
  })
})

describe('check alive flags (item 11)', () => {
  it('refuses --warn-age not below --max-age', () => {
    const r = spawnSync(process.execPath, [RUN_JS, 'check', 'alive', '--warn-age', '2m', '--max-age', '1m'], {
      encoding: 'utf8',
      timeout: 30_000,
      env: {...process.env, PGHA_CONFIG: '/nonexistent/pgha.yaml'},
    })
    assert.equal(r.status, 3, r.stdout + r.stderr) // check commands answer UNKNOWN for usage errors
    assert.match(r.stdout + r.stderr, /--warn-age 2m must be less than --max-age 1m/)
  })
})
