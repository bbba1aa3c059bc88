import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {labNames, labSpecProblems, namespaceExec, nsArgv} from '../../../src/lib/lab/netns.js'
import type {Exec, RunOptions, RunResult} from '../../../src/lib/system/exec.js'
import {
  bindMountArgv,
  bindSourceMatches,
  mountAt,
  mountErrorLine,
  nfsMountArgv,
  nfsMountOptions,
  nfsServer,
  nfsSourceMatches,
  normalizeMountpoint,
  parseMountinfo,
  umountArgv,
  unescapeMountinfo,
} from '../../../src/lib/system/mount.js'
import {
  arpingAnnounceArgv,
  arpingDadArgv,
  arpingKillAfterMs,
  arpingProbeArgv,
  arpingSeconds,
  classifyDad,
  classifyDadWindow,
  ipAddrAddArgv,
  ipAddrDelArgv,
  ipAddrShowArgv,
  parseArpingReplies,
  parseArpingResponders,
  parseIpAddrJson,
  vipLabel,
} from '../../../src/lib/system/net.js'

const result = (exitCode: number, stdout: string, extra: Partial<RunResult> = {}): RunResult => ({
  argv: ['arping'],
  exitCode,
  stdout,
  stderr: '',
  timedOut: false,
  durationMs: 5,
  ...extra,
})

describe('VIP labels', () => {
  it('labels VIP-M eth0:pgm and VIP-S eth0:pgs', () => {
    assert.equal(vipLabel('eth0', 'primary'), 'eth0:pgm')
    assert.equal(vipLabel('eth0', 'standby'), 'eth0:pgs')
  })
  it('keeps labels within 15 characters and drops them when the interface name is too long', () => {
    assert.equal(vipLabel('enp0s31f6abc', 'standby'), undefined) // 12 + 4 = 16
    assert.equal(vipLabel('enp0s31f6ab', 'standby'), 'enp0s31f6ab:pgs') // exactly 15
    assert.equal(vipLabel('enx001122334455', 'primary'), undefined)
    for (const iface of ['e', 'eth0', 'bond0.100', 'enp0s31f6ab']) assert.ok(vipLabel(iface, 'primary')!.length <= 15)
  })
})

describe('ip argv', () => {
  it('adds with a label, deletes and lists by device', () => {
    assert.deepEqual(ipAddrAddArgv('eth0', '192.0.2.100/24', 'eth0:pgm'), [
      'ip',
      'addr',
      'add',
      '192.0.2.100/24',
      'dev',
      'eth0',
      'label',
      'eth0:pgm',
    ])
    assert.deepEqual(ipAddrAddArgv('eth0', '192.0.2.100/24'), ['ip', 'addr', 'add', '192.0.2.100/24', 'dev', 'eth0'])
    assert.deepEqual(ipAddrDelArgv('eth0', '192.0.2.101/24'), ['ip', 'addr', 'del', '192.0.2.101/24', 'dev', 'eth0'])
    assert.deepEqual(ipAddrShowArgv('eth0'), ['ip', '-j', 'addr', 'show', 'dev', 'eth0'])
  })
  it('parses ip -j addr output (captured from a lab namespace)', () => {
    const out =
      '[{"ifindex":2,"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.11","prefixlen":24,"scope":"global","label":"eth0"},' +
      '{"family":"inet","local":"192.0.2.101","prefixlen":24,"scope":"global","secondary":true,"label":"eth0:pgs"},' +
      '{"family":"inet6","local":"fe80::605e:19ff:fe27:60b4","prefixlen":64,"scope":"link"}]}]'
    assert.deepEqual(parseIpAddrJson(out), [
      {family: 'inet', address: '192.0.2.11', prefix: 24, label: 'eth0', secondary: false},
      {family: 'inet', address: '192.0.2.101', prefix: 24, label: 'eth0:pgs', secondary: true},
      {family: 'inet6', address: 'fe80::605e:19ff:fe27:60b4', prefix: 64, label: undefined, secondary: false},
    ])
    assert.deepEqual(parseIpAddrJson('[{"ifname":"eth0","addr_info":[]}]'), [])
    assert.deepEqual(parseIpAddrJson(''), [])
    assert.throws(() => parseIpAddrJson('Device "eth9" does not exist.'))
  })
})

describe('arping argv', () => {
  it('turns a millisecond budget into whole seconds (arping rejects fractions), at least one', () => {
    assert.equal(arpingSeconds(200), 1)
    assert.equal(arpingSeconds(1000), 1)
    assert.equal(arpingSeconds(2999), 2)
    assert.equal(arpingSeconds(3000), 3)
    assert.equal(arpingKillAfterMs(2), 3000)
  })
  it('builds duplicate-detection, reachability and announce commands', () => {
    assert.deepEqual(arpingDadArgv('eth0', '192.0.2.101', 2000), ['arping', '-D', '-I', 'eth0', '-c', '2', '-w', '2', '192.0.2.101'])
    // The switchover hand-over: still two probes, within one second.
    assert.deepEqual(arpingDadArgv('eth0', '192.0.2.100', 1000, 2), ['arping', '-D', '-I', 'eth0', '-c', '2', '-w', '1', '192.0.2.100'])
    assert.deepEqual(arpingProbeArgv('eth0', '192.0.2.1', 1000), ['arping', '-f', '-I', 'eth0', '-c', '1', '-w', '1', '192.0.2.1'])
    assert.deepEqual(arpingAnnounceArgv('eth0', '192.0.2.100', 3), ['arping', '-U', '-I', 'eth0', '-c', '3', '-w', '3', '192.0.2.100'])
    assert.deepEqual(arpingAnnounceArgv('eth0', '192.0.2.100', 0).slice(4, 6), ['-c', '1'])
  })
})

describe('arping output', () => {
  const taken =
    'ARPING 192.0.2.12 from 0.0.0.0 eth0\nUnicast reply from 192.0.2.12 [ee:11:de:d0:0a:36]  0.560ms\nSent 1 probes (1 broadcast(s))\nReceived 1 response(s)'
  const free = 'ARPING 192.0.2.50 from 0.0.0.0 eth0\nSent 2 probes (2 broadcast(s))\nReceived 0 response(s)'
  it('reads reply counts and responders', () => {
    assert.equal(parseArpingReplies(taken), 1)
    assert.equal(parseArpingReplies(free), 0)
    assert.equal(parseArpingReplies(''), undefined)
    assert.deepEqual(parseArpingResponders(taken), ['EE:11:DE:D0:0A:36'])
  })
  it('classifies DAD: exit 1 with replies is taken, exit 0 without is free', () => {
    assert.equal(classifyDad(result(1, taken)).state, 'taken')
    assert.match(classifyDad(result(1, taken)).detail, /EE:11:DE:D0:0A:36/)
    assert.equal(classifyDad(result(0, free)).state, 'free')
  })
  it('never mistakes an arping error for "taken" or "free"', () => {
    // exit 1 is also arping's code for "invalid argument"; exit 2 for a missing device.
    assert.equal(classifyDad(result(1, '', {stderr: "arping: invalid argument: '0.3'"})).state, 'unknown')
    assert.equal(classifyDad(result(2, '', {stderr: 'arping: Device eth9 not available.'})).state, 'unknown')
    assert.equal(classifyDad(result(127, '')).state, 'unknown')
    assert.equal(classifyDad(result(-1, free, {timedOut: true})).state, 'unknown')
    assert.equal(classifyDad(result(0, taken)).state, 'unknown')
  })
})

describe('a DAD probe stopped at the end of a short window', () => {
  const stopped = 'ARPING 192.0.2.100 from 0.0.0.0 eth0\nSent 1 probes (1 broadcast(s))\nReceived 0 response(s)'
  const taken =
    'ARPING 192.0.2.100 from 0.0.0.0 eth0\nUnicast reply from 192.0.2.100 [ee:11:de:d0:0a:36]  0.560ms\nSent 1 probes (1 broadcast(s))\nReceived 1 response(s)'
  it('stopped by us after sending a probe with no reply is free', () => {
    const r = classifyDadWindow(result(-1, stopped, {timedOut: true, durationMs: 402}), 400)
    assert.equal(r.state, 'free')
    assert.match(r.detail, /within 402 ms/)
  })
  it('a reply (arping exits at the first) is taken', () => {
    assert.equal(classifyDadWindow(result(1, taken), 400).state, 'taken')
  })
  it('stopped before it sent anything, or an arping error, gives no verdict', () => {
    assert.equal(classifyDadWindow(result(-1, '', {timedOut: true}), 400).state, 'unknown')
    assert.equal(classifyDadWindow(result(-1, 'ARPING 192.0.2.100 from 0.0.0.0 eth0', {timedOut: true}), 400).state, 'unknown')
    assert.equal(classifyDadWindow(result(2, '', {stderr: 'arping: Device eth9 not available.'}), 400).state, 'unknown')
    // a reply counted but stopped by us: never free
    assert.equal(classifyDadWindow(result(-1, taken, {timedOut: true}), 400).state, 'unknown')
  })
})

describe('mount argv and mountinfo', () => {
  it('builds a soft NFS mount bounded by the timeout, extra options last', () => {
    assert.equal(nfsMountOptions(10_000), 'soft,timeo=16,retrans=2,retry=0')
    assert.equal(nfsMountOptions(500), 'soft,timeo=1,retrans=2,retry=0')
    assert.deepEqual(nfsMountArgv('192.0.2.12:/var/lib/pgha/archive', '/var/lib/pgha/peer_archive', 10_000, 'vers=4.2,ro'), [
      'mount',
      '-t',
      'nfs',
      '-o',
      'soft,timeo=16,retrans=2,retry=0,vers=4.2,ro',
      '192.0.2.12:/var/lib/pgha/archive',
      '/var/lib/pgha/peer_archive',
    ])
    assert.deepEqual(bindMountArgv('/srv/a', '/mnt/b'), ['mount', '--bind', '/srv/a', '/mnt/b'])
    assert.deepEqual(umountArgv('/mnt/b', 'nfs4'), ['umount', '-f', '-l', '/mnt/b'])
    assert.deepEqual(umountArgv('/mnt/b', 'ext4'), ['umount', '/mnt/b'])
  })
  it('finds the NFS server and port to check first', () => {
    assert.deepEqual(nfsServer('192.0.2.12:/arch'), {host: '192.0.2.12', port: 2049})
    assert.deepEqual(nfsServer('192.0.2.12:/arch', 'vers=3,port=20490'), {host: '192.0.2.12', port: 20490})
    assert.deepEqual(nfsServer('[2001:db8::1]:/arch', 'mountport=5,port=0'), {host: '2001:db8::1', port: 2049})
  })
  const info = [
    '26 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
    '21 26 0:20 / /proc rw,relatime - proc proc rw',
    '40 26 0:30 / /tmp rw - tmpfs tmpfs rw',
    '41 26 254:0 /srv/archive /var/lib/pgha/peer_archive rw,relatime - ext4 /dev/vda rw',
    '42 26 0:30 /a\\040b /mnt/with\\040space rw - tmpfs tmpfs rw',
    '43 26 0:44 / /mnt/nfs rw shared:5 - nfs4 192.0.2.12:/var/lib/pgha/archive/ rw,vers=4.2',
    '44 43 0:30 /x /mnt/nfs rw - tmpfs tmpfs rw',
  ].join('\n')
  const entries = parseMountinfo(info)
  it('parses mountinfo, unescaping \\040, skipping optional fields', () => {
    assert.equal(entries.length, 7)
    assert.equal(unescapeMountinfo('a\\040b\\011c'), 'a b\tc')
    assert.deepEqual(entries[4], {majorMinor: '0:30', root: '/a b', mountpoint: '/mnt/with space', fstype: 'tmpfs', source: 'tmpfs'})
    assert.deepEqual(entries[5], {
      majorMinor: '0:44',
      root: '/',
      mountpoint: '/mnt/nfs',
      fstype: 'nfs4',
      source: '192.0.2.12:/var/lib/pgha/archive/',
    })
    assert.deepEqual(parseMountinfo('garbage\n\n'), [])
  })
  it('takes the topmost mount at a path, without touching the filesystem', () => {
    assert.equal(mountAt(entries, '/mnt/nfs/')!.fstype, 'tmpfs')
    assert.equal(mountAt(entries, '/mnt/none'), undefined)
    assert.equal(normalizeMountpoint('/var/lib/../lib/pgha/'), '/var/lib/pgha')
  })
  it('matches an NFS source ignoring a trailing slash, and bind sources by device and root', () => {
    assert.equal(nfsSourceMatches(entries[5], '192.0.2.12:/var/lib/pgha/archive'), true)
    assert.equal(nfsSourceMatches(entries[5], '192.0.2.13:/var/lib/pgha/archive'), false)
    assert.equal(nfsSourceMatches(entries[3], '/dev/vda'), false)
    assert.equal(bindSourceMatches(entries, entries[3], '/srv/archive'), true)
    assert.equal(bindSourceMatches(entries, entries[3], '/srv/other'), false)
    assert.equal(bindSourceMatches(entries, entries[4], '/tmp/a b'), true) // source on tmpfs at /tmp: root is /a b
    assert.equal(bindSourceMatches(entries, entries[4], '/a b'), false) // same root, but / is another device
  })
  it("reports mount's own error line, not the dmesg hint", () => {
    assert.equal(
      mountErrorLine(
        "mount: /x: unknown filesystem type 'nfs'.\n       dmesg(1) may have more information after failed mount system call.",
      ),
      "mount: /x: unknown filesystem type 'nfs'.",
    )
    assert.equal(mountErrorLine(''), '')
  })
})

describe('lab network names and specs', () => {
  it('prefixes namespaces and keeps bridge ports within 15 characters', () => {
    const n = labNames('pgtB12345', ['node1', 'averyveryverylonghostname'])
    assert.equal(n.gateway, 'pgtB12345-gw')
    assert.equal(n.hosts.node1.ns, 'pgtB12345-node1')
    assert.equal(n.hosts.node1.bridgePort, 'v0node1')
    assert.equal(n.hosts.averyveryverylonghostname.bridgePort.length, 15)
    assert.deepEqual(nsArgv('pgtB1-a', ['ip', 'addr']), ['ip', 'netns', 'exec', 'pgtB1-a', 'ip', 'addr'])
  })
  it('rejects specs that could leave the documentation range or collide', () => {
    assert.deepEqual(labSpecProblems({prefix: 'pgtB1', hosts: [{name: 'a', address: '192.0.2.11'}]}), [])
    const p = labSpecProblems({
      prefix: 'pgt-B',
      gateway: '10.0.0.1',
      hosts: [
        {name: 'gw', address: '10.0.0.2'},
        {name: 'b', address: '192.0.2.1'},
        {name: 'b', address: '192.0.2.12'},
      ],
    })
    assert.ok(p.some((l) => l.startsWith('prefix "pgt-B"')))
    assert.ok(p.some((l) => l.startsWith('gateway 10.0.0.1')))
    assert.ok(p.some((l) => l.startsWith('host name "gw"')))
    assert.ok(p.some((l) => l.includes('"b": used twice')))
    assert.ok(labSpecProblems({prefix: 'x', hosts: [{name: 'a', address: '192.0.2.1'}]}).some((l) => l.includes('same as the gateway')))
    assert.ok(labSpecProblems({prefix: 'x', hosts: [{name: 'a', address: '198.51.100.2'}]}).some((l) => l.includes("gateway's /24")))
  })
  it('runs commands inside the namespace, switching user inside it', async () => {
    const calls: {argv: string[]; opts: RunOptions}[] = []
    const recorder: Exec = {
      async run(argv, opts) {
        calls.push({argv, opts})
        return {argv, exitCode: 0, stdout: '', stderr: '', timedOut: false, durationMs: 0}
      },
    }
    const ex = namespaceExec('pgtB1-a', recorder)
    await ex.run(['arping', '-D'], {timeoutMs: 1000, privileged: true})
    await ex.run(['pg_ctl', 'status'], {timeoutMs: 1000, asUser: 'postgres'})
    assert.deepEqual(calls[0].argv, ['ip', 'netns', 'exec', 'pgtB1-a', 'arping', '-D'])
    assert.equal(calls[0].opts.privileged, true)
    assert.equal(calls[1].argv.slice(0, 4).join(' '), 'ip netns exec pgtB1-a')
    assert.ok(calls[1].argv.includes('postgres') && calls[1].argv.at(-2) === 'pg_ctl')
    assert.equal(calls[1].opts.asUser, undefined)
  })
})
