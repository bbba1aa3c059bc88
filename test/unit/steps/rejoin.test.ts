import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {configSchema, type Config} from '../../../src/lib/config/schema.js'
import {
  asideDirs,
  buildConninfo,
  conninfoValue,
  isCleanlyShutDown,
  lastRecordIsShutdownCheckpoint,
  lsnToBigInt,
  parseControlData,
  parseWalDump,
  parseRewindCopiedKb,
  pgBasebackupArgv,
  pgRewindArgv,
  primaryConninfo,
  requiredCopyBytes,
  rewindCapability,
  rewindSourceConninfo,
  singleUserRecoveryArgv,
} from '../../../src/lib/system/rewind.js'
import {confValue, includedPaths, peerRestoreCommand, withStandbySettings} from '../../../src/lib/steps/rejoin-settings.js'
import {msUntilWindow, parseQuietWindow, type QuietWindow} from '../../../src/lib/steps/quiet-window.js'

export function testConfig(over: Record<string, unknown> = {}): Config {
  return configSchema.parse({
    cluster: 'prod',
    node: {name: 'node1', address: '192.0.2.11'},
    peer: {name: 'node2', address: '192.0.2.12'},
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {datadir: '/var/lib/postgresql/15/main', passfile: '/etc/pgha/pgpass'},
    fence: {agent: 'none'},
    ...over,
  })
}

const CONTROLDATA = `pg_control version number:            1300
Database system identifier:           7300000000000000001
Database cluster state:               in production
Latest checkpoint location:           0/3000060
Latest checkpoint's REDO location:    0/3000028
Latest checkpoint's TimeLineID:       2
Minimum recovery ending location:     0/0
wal_log_hints setting:                off
Data page checksum version:           0
`

describe('pg_controldata', () => {
  it('parses the fields rejoin decides on', () => {
    const c = parseControlData(CONTROLDATA)
    assert.equal(c.state, 'in production')
    assert.equal(c.timeline, 2)
    assert.equal(c.latestCheckpoint, '0/3000060')
    assert.equal(c.walLogHints, false)
    assert.equal(c.systemIdentifier, '7300000000000000001')
    assert.equal(isCleanlyShutDown(c), false)
    assert.equal(isCleanlyShutDown({...c, state: 'shut down in recovery'}), true)
  })
  it('names the missing line', () => {
    assert.throws(() => parseControlData('Database cluster state: shut down\n'), /has no "/)
  })
  it('says which rejoin path and why', () => {
    const c = parseControlData(CONTROLDATA)
    assert.deepEqual(rewindCapability(c).possible, false)
    assert.match(rewindCapability(c).why, /wal_log_hints is off and data checksums are off/)
    assert.match(rewindCapability({...c, walLogHints: true}).why, /wal_log_hints is on/)
    assert.match(rewindCapability({...c, checksumVersion: 1}).why, /data checksums are on/)
  })
})

describe('conninfo and argv', () => {
  const cfg = testConfig()
  it('quotes conninfo values like libpq and never carries a password', () => {
    assert.equal(conninfoValue('a b'), "'a b'")
    assert.equal(conninfoValue("it's\\"), "'it\\'s\\\\'")
    const ci = primaryConninfo(cfg, {host: '192.0.2.100', port: 5432})
    assert.equal(ci, 'host=192.0.2.100 port=5432 user=replicator passfile=/etc/pgha/pgpass application_name=node1 connect_timeout=2')
    assert.doesNotMatch(ci, /password=/)
    assert.equal(buildConninfo({host: 'h', port: 1, user: 'u', dbname: ''}), 'host=h port=1 user=u')
  })
  it('builds pg_rewind, single-user and pg_basebackup argv', () => {
    const src = {host: '192.0.2.100', port: 5432}
    assert.deepEqual(pgRewindArgv(cfg, rewindSourceConninfo(cfg, src)), [
      '/usr/lib/postgresql/15/bin/pg_rewind',
      '--target-pgdata',
      '/var/lib/postgresql/15/main',
      '--source-server',
      'host=192.0.2.100 port=5432 user=replicator dbname=postgres passfile=/etc/pgha/pgpass application_name=pgha-rewind-node1 connect_timeout=10',
      '--progress',
    ])
    assert.deepEqual(singleUserRecoveryArgv(cfg), [
      '/usr/lib/postgresql/15/bin/postgres',
      '--single',
      '-F',
      '-D',
      '/var/lib/postgresql/15/main',
      '-c',
      'archive_mode=off',
      '-c',
      'wal_keep_size=1048576',
      'template1',
    ])
    assert.ok(singleUserRecoveryArgv(cfg, 12).includes('wal_keep_segments=65536'), 'PostgreSQL 12 names it wal_keep_segments')
    const deb = testConfig({postgres: {datadir: '/d', configFile: '/etc/postgresql/15/main/postgresql.conf'}})
    assert.deepEqual(singleUserRecoveryArgv(deb).slice(5, 7), ['-c', 'config_file=/etc/postgresql/15/main/postgresql.conf'])
    const bb = pgBasebackupArgv(cfg, 'host=x', '/d.new')
    assert.deepEqual(bb.slice(0, 5), ['/usr/lib/postgresql/15/bin/pg_basebackup', '--pgdata', '/d.new', '--dbname', 'host=x'])
    assert.ok(!bb.includes('-R') && !bb.includes('--write-recovery-conf'), '-R would copy the password into the config')
  })
  it('reads how much pg_rewind copied', () => {
    assert.equal(
      parseRewindCopiedKb('pg_rewind: reading source file list\r12/3400 kB (0%) copied\r3400/3400 kB (100%) copied\npg_rewind: Done!'),
      3400,
    )
    assert.equal(parseRewindCopiedKb('pg_rewind: no rewind required'), undefined)
  })
  it('places the fresh copy and the old directory next to the data directory', () => {
    const d = asideDirs('/var/lib/postgresql/15/main', new Date('2026-03-04T05:06:07Z'))
    assert.equal(d.incoming, '/var/lib/postgresql/15/main.pgha-new-20260304-050607')
    assert.equal(d.aside, '/var/lib/postgresql/15/main.pgha-old-20260304-050607')
    assert.equal(requiredCopyBytes(1024 ** 3), Math.ceil(1024 ** 3 * 1.1) + 64 * 1024 ** 2)
  })
})

describe('standby settings in postgresql.auto.conf', () => {
  it('replaces our keys, keeps the others, escapes like ALTER SYSTEM', () => {
    const before = "# Do not edit\nwork_mem = '8MB'\nprimary_conninfo = 'host=old'\nrestore_command='x'\n"
    const after = withStandbySettings(before, {
      primary_conninfo: "host=192.0.2.100 application_name='a b'",
      restore_command: 'cp "/m/%f" "%p"',
    })
    assert.equal(
      after,
      "# Do not edit\nwork_mem = '8MB'\nprimary_conninfo = 'host=192.0.2.100 application_name=''a b'''\nrestore_command = 'cp \"/m/%f\" \"%p\"'\n",
    )
    assert.equal(confValue(after, 'primary_conninfo'), "host=192.0.2.100 application_name='a b'")
    assert.equal(withStandbySettings(after, {primary_conninfo: 'host=h'}).includes('restore_command'), false)
    // A fresh copy also gets this host's port and socket directory; other copies keep theirs.
    const fresh = withStandbySettings("port = '5433'\n", {primary_conninfo: 'host=h', port: '5432', unix_socket_directories: '/run/pg'})
    assert.equal(
      fresh,
      "# Do not edit this file manually!\n# It will be overwritten by the ALTER SYSTEM command.\nprimary_conninfo = 'host=h'\nport = '5432'\nunix_socket_directories = '/run/pg'\n",
    )
    assert.match(withStandbySettings("port = '5433'\n", {primary_conninfo: 'host=h'}), /^port = '5433'$/m)
  })
  it('fetches WAL from the peer archive unless archive.mode is none', () => {
    assert.equal(peerRestoreCommand(testConfig()), undefined)
    assert.equal(
      peerRestoreCommand(testConfig({archive: {mode: 'bind', source: '/a', mountpoint: '/var/lib/pgha/peer_archive/'}})),
      'cp "/var/lib/pgha/peer_archive/%f" "%p"',
    )
    assert.throws(() => peerRestoreCommand(testConfig({archive: {mode: 'bind', source: '/a', mountpoint: '/m/$x'}})), /unsafe/)
  })
})

describe('quiet window', () => {
  const w = (s: string) => parseQuietWindow(s) as QuietWindow
  const at = (h: number, m: number) => new Date(2026, 0, 10, h, m, 0, 0)
  it('rejects bad input with one sentence', () => {
    assert.match((parseQuietWindow('1-5') as {error: string}).error, /not HH:MM-HH:MM/)
    assert.match((parseQuietWindow('24:00-01:00') as {error: string}).error, /above 23/)
    assert.match((parseQuietWindow('01:00-01:00') as {error: string}).error, /empty/)
  })
  it('is 0 inside, the time to the start outside, and wraps past midnight', () => {
    assert.equal(msUntilWindow(w('01:00-05:00'), at(2, 0)), 0)
    assert.equal(msUntilWindow(w('01:00-05:00'), at(0, 30)), 30 * 60_000)
    assert.equal(msUntilWindow(w('01:00-05:00'), at(5, 0)), 20 * 3_600_000)
    assert.equal(msUntilWindow(w('22:30-04:00'), at(23, 0)), 0)
    assert.equal(msUntilWindow(w('22:30-04:00'), at(3, 59)), 0)
    assert.equal(msUntilWindow(w('22:30-04:00'), at(12, 0)), 10.5 * 3_600_000)
  })
})

describe('WAL dump', () => {
  const dump = `rmgr: Heap        len (rec/tot):     54/    54, tx:        735, lsn: 0/03000028, prev 0/02000110, desc: INSERT off 3 flags 0x00, blkref #0: rel 1663/5/16384 blk 0
rmgr: Transaction len (rec/tot):     34/    34, tx:        735, lsn: 0/03000060, prev 0/03000028, desc: COMMIT 2026-01-10 10:00:00.000000 UTC
rmgr: XLOG        len (rec/tot):    114/   114, tx:          0, lsn: 0/03000088, prev 0/03000060, desc: CHECKPOINT_SHUTDOWN redo 0/3000088; tli 1; prev tli 1; fpw true
pg_waldump: error: error in WAL record at 0/3000088: invalid record length at 0/3000100: wanted 24, got 0`
  it('finds the shutdown checkpoint as the last record', () => {
    const recs = parseWalDump(dump)
    assert.equal(recs.length, 3)
    assert.equal(lastRecordIsShutdownCheckpoint(recs)?.lsn, '0/03000088')
    assert.equal(lastRecordIsShutdownCheckpoint(recs.slice(0, 2)), undefined)
    assert.ok(lsnToBigInt('1/0') > lsnToBigInt('0/FFFFFFFF'))
    assert.throws(() => lsnToBigInt('nope'))
  })
})

describe('includedPaths: the per-host files a rejoin must keep', () => {
  const D = '/var/lib/postgresql/16/main'
  it('finds include, include_if_exists and include_dir, with or without "=", relative to the including file', () => {
    const conf = [
      'port = 5433',
      "include 'host.conf'",
      "include_if_exists = 'pgha-node.conf'   # lab",
      "  include_dir 'conf.d'",
      "#include 'commented.conf'",
      "include_if_exists 'sub/../other''s.conf'",
    ].join('\n')
    assert.deepEqual(includedPaths(conf, D), {files: ['host.conf', 'pgha-node.conf', "other's.conf"], dirs: ['conf.d']})
    assert.deepEqual(includedPaths("include 'x.conf'", D, 'conf.d/a.conf'), {files: ['conf.d/x.conf'], dirs: []})
  })
  it('keeps absolute paths inside the data directory (made relative) and drops those outside it', () => {
    const conf = [
      `include '${D}/abs.conf'`,
      "include '/etc/postgresql/16/main/site.conf'",
      "include '../escape.conf'",
      `include_dir '${D}'`,
    ].join('\n')
    assert.deepEqual(includedPaths(conf, D), {files: ['abs.conf'], dirs: []})
  })
})
