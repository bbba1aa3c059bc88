import assert from 'node:assert/strict'
import {test} from 'node:test'
import fc from 'fast-check'
import {configSchema, type Config} from '../../../src/lib/config/schema.js'
import {hbaLines, nodeArgv, nodeSettings, passfileLine, pgNode} from '../../../src/lib/lab/pgcluster.js'
import {roleFromFiles} from '../../../src/lib/steps/detect-role.js'
import {makePromoteGuard, makeVipPrimaryTaken, type ArpState, type PowerState} from '../../../src/lib/steps/guards.js'
import {heartbeatEndpoint} from '../../../src/lib/steps/heartbeat.js'
import {passwordSql, passwordStdinPrefix, roleSql, schemaSql} from '../../../src/lib/steps/init-sql.js'
import {restoreCommandSteps} from '../../../src/lib/steps/promote.js'
import {parseServerState} from '../../../src/lib/steps/promote-access.js'
import {clientConfig, hostOf, lookupPgpass, parsePgpass} from '../../../src/lib/system/pg.js'
import {
  interpretStatus,
  parseControldata,
  parsePgVersionFile,
  parsePsqlRows,
  pgControldataArgv,
  pgCtlArgv,
  pgFailure,
  psqlArgv,
  psqlEnv,
  shQuote,
  sqlIdent,
  sqlLiteral,
} from '../../../src/lib/system/pgctl.js'

function cfg(over: {postgres?: Record<string, unknown>; fence?: Record<string, unknown>} = {}): Config {
  return configSchema.parse({
    cluster: 'prod',
    node: {name: 'node1', address: '192.0.2.11'},
    peer: {name: 'node2', address: '192.0.2.12'},
    network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
    postgres: {datadir: '/var/lib/postgresql/15/main', stepTimeout: '45s', ...over.postgres},
    fence: {agent: 'ipmitool', address: '192.0.2.202', user: 'admin', passwordFile: '/etc/pgha/fence.password', ...over.fence},
  })
}

test('pg_ctl argv: -D, -w -t from stepTimeout, -m for stop, -l and a shell-quoted config_file for start', () => {
  const pg = cfg({postgres: {configFile: '/etc/postgresql/15/main dir/postgresql.conf'}}).postgres
  const bin = '/usr/lib/postgresql/15/bin/pg_ctl'
  assert.deepEqual(pgCtlArgv(pg, 'status'), [bin, 'status', '-D', '/var/lib/postgresql/15/main'])
  assert.deepEqual(pgCtlArgv(pg, 'stop', {mode: 'immediate'}), [bin, 'stop', '-D', pg.datadir, '-w', '-t', '45', '-m', 'immediate'])
  assert.deepEqual(pgCtlArgv(pg, 'promote', {timeoutMs: 1500}), [bin, 'promote', '-D', pg.datadir, '-w', '-t', '2'])
  assert.deepEqual(pgCtlArgv(pg, 'start'), [
    bin,
    'start',
    '-D',
    pg.datadir,
    '-w',
    '-t',
    '45',
    '-l',
    '/var/lib/postgresql/15/main/pgha-server.log',
    '-o',
    "-c config_file='/etc/postgresql/15/main dir/postgresql.conf'",
  ])
  assert.deepEqual(pgCtlArgv(cfg({postgres: {logFile: '/var/log/pg.log'}}).postgres, 'restart').slice(4), [
    '-w',
    '-t',
    '45',
    '-m',
    'fast',
    '-l',
    '/var/log/pg.log',
  ])
  assert.deepEqual(pgControldataArgv(pg), ['/usr/lib/postgresql/15/bin/pg_controldata', '-D', pg.datadir])
})

test('psql argv: local socket, no psqlrc, ON_ERROR_STOP, and never any SQL', () => {
  const argv = psqlArgv(cfg().postgres, 'pgha')
  assert.deepEqual(argv, [
    '/usr/lib/postgresql/15/bin/psql',
    '-X',
    '-q',
    '-A',
    '-t',
    '-v',
    'ON_ERROR_STOP=1',
    '-F',
    '\t',
    '-h',
    '/var/run/postgresql',
    '-p',
    '5432',
    '-d',
    'pgha',
  ])
  assert.ok(!argv.includes('-c') && !argv.includes('-f'))
  assert.deepEqual(psqlEnv(2500), {
    PGCONNECT_TIMEOUT: '3',
    PGOPTIONS: '-c statement_timeout=2500 -c client_min_messages=warning',
    PGAPPNAME: 'pgha',
    LC_MESSAGES: 'C',
  })
})

test('parsers: pg_ctl status, pg_controldata, psql rows, PG_VERSION, failures', () => {
  assert.deepEqual(
    interpretStatus({
      exitCode: 0,
      stdout: 'pg_ctl: server is running (PID: 4242)\n/usr/lib/postgresql/15/bin/postgres',
      stderr: '',
      timedOut: false,
    }),
    {running: true, pid: 4242, detail: 'pg_ctl status: server is running (PID 4242)'},
  )
  assert.equal(interpretStatus({exitCode: 3, stdout: 'pg_ctl: no server running', stderr: '', timedOut: false}).running, false)
  assert.match(
    interpretStatus({exitCode: 4, stdout: '', stderr: 'pg_ctl: directory "/x" does not exist', timedOut: false}).detail,
    /does not exist/,
  )
  const cd = parseControldata('pg_control version number:            1300\nDatabase cluster state:               shut down in recovery\n')
  assert.equal(cd['Database cluster state'], 'shut down in recovery')
  assert.deepEqual(parsePsqlRows('t\tf\n\nx\n'), [['t', 'f'], ['x']])
  assert.equal(parsePgVersionFile('15\n'), 15)
  assert.throws(() => parsePgVersionFile('garbage'), /not a version/)
  const failed = {
    argv: ['psql'],
    exitCode: 3,
    stdout: '',
    stderr: 'psql:<stdin>:1: ERROR:  pgha: DELETE on pgha.heartbeat is not allowed\nCONTEXT:  PL/pgSQL function',
    timedOut: false,
    durationMs: 5,
  }
  assert.equal(pgFailure(failed), 'psql exited 3: ERROR:  pgha: DELETE on pgha.heartbeat is not allowed')
})

test('quoting: shell, SQL literal and identifier', () => {
  assert.equal(shQuote('/plain/path.conf'), '/plain/path.conf')
  assert.equal(shQuote("it's"), `'it'\\''s'`)
  assert.equal(sqlLiteral("o'k"), "'o''k'")
  assert.equal(sqlIdent('we"ird'), '"we""ird"')
  assert.equal(hostOf('192.0.2.100/24'), '192.0.2.100')
})

test('pgpass: escapes, wildcards, comments, first match wins, localhost matches a socket', () => {
  const entries = parsePgpass(
    '# comment\n*:*:*:replicator:r\\:p\\\\w\nlocalhost:5432:pgha:pgha:sock\n192.0.2.100:5432:*:pgha:vip\n*:*:*:pgha:any\nbroken:line\n',
  )
  assert.equal(entries.length, 4)
  assert.equal(lookupPgpass(entries, {host: '10.0.0.1', port: 1, database: 'x', user: 'replicator'}), 'r:p\\w')
  assert.equal(lookupPgpass(entries, {host: '/var/run/postgresql', port: 5432, database: 'pgha', user: 'pgha', socket: true}), 'sock')
  assert.equal(lookupPgpass(entries, {host: '192.0.2.100', port: 5432, database: 'pgha', user: 'pgha'}), 'vip')
  assert.equal(lookupPgpass(entries, {host: '192.0.2.12', port: 5432, database: 'pgha', user: 'pgha'}), 'any')
  assert.equal(lookupPgpass(entries, {host: '192.0.2.12', port: 5432, database: 'pgha', user: 'nobody'}), undefined)
})

test('pgpass: any password written by passfileLine reads back unchanged (property)', () => {
  fc.assert(
    fc.property(
      fc.string({minLength: 1}).filter((s) => !/[\r\n]/.test(s)),
      fc.string({minLength: 1}).filter((s) => !/[\r\n:*\\]/.test(s)),
      (password, user) => {
        const [e] = parsePgpass(passfileLine({host: '*', port: '*', database: '*', user, password}) + '\n')
        return e !== undefined && e.password === password && e.user === user
      },
    ),
  )
})

test('client config: hard timeouts, heartbeat user and database, no password value in the object', () => {
  const c = clientConfig(cfg(), {kind: 'tcp', host: '192.0.2.100', port: 5432}, {timeoutMs: 1000})
  assert.equal(c.connectionTimeoutMillis, 1000)
  assert.equal(c.query_timeout, 1000)
  assert.equal(c.statement_timeout, 1000)
  assert.deepEqual([c.user, c.database, c.host], ['pgha', 'pgha', '192.0.2.100'])
  assert.equal(typeof c.password, 'function')
  const s = clientConfig(cfg(), {kind: 'socket', dir: '/run/pg', port: 5433}, {timeoutMs: 10})
  assert.deepEqual([s.host, s.port, s.connectionTimeoutMillis], ['/run/pg', 5433, 100])
})

test('heartbeat endpoints: which address and which standby to report lag for', () => {
  const c = cfg()
  assert.deepEqual(heartbeatEndpoint(c, 'local'), {
    endpoint: {kind: 'socket', dir: '/var/run/postgresql', port: 5432},
    peerAddr: '192.0.2.12',
  })
  assert.deepEqual(heartbeatEndpoint(c, 'peer'), {endpoint: {kind: 'tcp', host: '192.0.2.12', port: 5432}, peerAddr: '192.0.2.11'})
  assert.deepEqual(heartbeatEndpoint(c, 'vip-primary'), {endpoint: {kind: 'tcp', host: '192.0.2.100', port: 5432}, peerAddr: null})
  assert.deepEqual(heartbeatEndpoint(c, 'vip-standby').endpoint, {kind: 'tcp', host: '192.0.2.101', port: 5432})
})

test('role from files: standby.signal, recovery.signal, legacy recovery.conf, none', () => {
  assert.equal(roleFromFiles(['PG_VERSION', 'standby.signal'], 15).role, 'standby')
  assert.equal(roleFromFiles(['recovery.signal'], 15).role, 'standby')
  const legacy = roleFromFiles(['recovery.conf'], 11)
  assert.deepEqual([legacy.role, legacy.legacy], ['standby', true])
  assert.match(roleFromFiles(['recovery.conf'], 15).evidence[0], /refuses it/)
  assert.equal(roleFromFiles(['PG_VERSION', 'postgresql.conf'], 15).role, 'primary')
})

test('restore_command around a promotion: reload on 14+, restart before on older, put back exactly', () => {
  assert.deepEqual(restoreCommandSteps(15, {value: '', fromAutoConf: false}), {restartBeforePromote: false})
  const auto = restoreCommandSteps(15, {value: "cp '/arch/%f' %p", fromAutoConf: true})
  assert.equal(auto.disable, "ALTER SYSTEM SET restore_command = '';\nSELECT pg_catalog.pg_reload_conf();")
  assert.equal(auto.restartBeforePromote, false)
  assert.equal(auto.restore, "ALTER SYSTEM SET restore_command = 'cp ''/arch/%f'' %p';\nSELECT pg_catalog.pg_reload_conf();")
  const old = restoreCommandSteps(13, {value: 'cp /arch/%f %p', fromAutoConf: false})
  assert.equal(old.disable, "ALTER SYSTEM SET restore_command = '';")
  assert.equal(old.restartBeforePromote, true)
  assert.equal(old.restore, 'ALTER SYSTEM RESET restore_command;\nSELECT pg_catalog.pg_reload_conf();')
  // restore_command comes hex-encoded: a tab, a newline or quotes in it survive psql's unaligned output.
  const odd = 'test -f \'/a/%f\'\tand\ncp "/a/%f" %p'
  assert.deepEqual(parseServerState(parsePsqlRows(`t\t16\t${Buffer.from(odd).toString('hex')}\tt\n`)[0]), {
    inRecovery: true,
    major: 16,
    restoreCommand: {value: odd, fromAutoConf: true},
    canPgPromote: true,
  })
  assert.deepEqual(parseServerState(['f', '15', '', 'f']).restoreCommand, {value: '', fromAutoConf: false})
  assert.throws(() => parseServerState(undefined), /no state row/)
})

test('init SQL: non-superuser role, guarded single-row tables, password only through a psql variable', () => {
  const n = {database: 'pgha', user: 'pgha'}
  const role = roleSql(n)
  assert.match(role, /NOSUPERUSER/)
  assert.match(role, /GRANT pg_monitor TO "pgha"/)
  assert.match(role, /GRANT EXECUTE ON FUNCTION pg_catalog\.pg_promote\(boolean, integer\)/)
  const schema = schemaSql(n)
  assert.match(schema, /^BEGIN;[\s\S]*COMMIT;$/)
  assert.equal(schema.match(/BEFORE DELETE OR TRUNCATE/g)?.length, 2)
  assert.match(schema, /CHECK \(id = 1\)/)
  assert.match(schema, /pgha\.cluster_state/)
  assert.match(passwordSql(n), /PASSWORD :'pgha_password';$/)
  assert.match(passwordSql(n), /log_statement = 'none'/)
  assert.equal(passwordStdinPrefix("a'b\\c"), "\\set pgha_password 'a''b\\\\c'\n")
  assert.throws(() => passwordStdinPrefix('two\nlines'), /line break/)
})

test('promote guard: power off, or VIP-M silent, or unfenced only when allowed; probe errors never allow', async () => {
  const warnings: string[] = []
  const guard = (c: Config, power: PowerState | Error, arp: ArpState | Error) =>
    makePromoteGuard(c, {
      powerStatus: async () => {
        if (power instanceof Error) throw power
        return power
      },
      vipPrimaryState: async () => {
        if (arp instanceof Error) throw arp
        return arp
      },
      warn: (m) => warnings.push(m),
    })()
  const c = cfg()
  assert.equal((await guard(c, {ok: true, power: 'off', detail: 'Chassis Power is off'}, {state: 'taken', detail: ''})).allowed, true)
  assert.equal((await guard(c, {ok: true, power: 'on', detail: 'on'}, {state: 'free', detail: 'no reply'})).allowed, true)
  const denied = await guard(c, {ok: true, power: 'on', detail: 'Chassis Power is on'}, {state: 'taken', detail: '1 reply'})
  assert.equal(denied.allowed, false)
  assert.match(denied.why, /peer power is on.*VIP-M 192\.0\.2\.100\/24 is taken/)
  assert.equal((await guard(c, new Error('ipmitool timed out'), {state: 'unknown', detail: 'arping failed'})).allowed, false)
  assert.equal((await guard(c, {ok: false, power: 'unknown', detail: 'x'}, new Error('boom'))).allowed, false)
  const none = cfg({fence: {agent: 'none', address: undefined, user: undefined, passwordFile: undefined}})
  assert.equal((await guard(none, new Error('not called'), {state: 'taken', detail: ''})).allowed, false)
  assert.equal(warnings.length, 0)
  const unfenced = cfg({fence: {agent: 'none', allowUnfencedPromotion: true, address: undefined, user: undefined, passwordFile: undefined}})
  assert.equal((await guard(unfenced, new Error('not called'), {state: 'taken', detail: ''})).allowed, true)
  assert.match(warnings[0], /WITHOUT FENCING/)
})

test('start-db VIP-M check: only "free" lets a primary start', async () => {
  const check = (a: ArpState | Error) =>
    makeVipPrimaryTaken(cfg(), async () => {
      if (a instanceof Error) throw a
      return a
    })()
  assert.deepEqual(await check({state: 'free', detail: 'no reply'}), {taken: false, detail: 'VIP-M 192.0.2.100/24 free: no reply'})
  assert.equal(((await check({state: 'taken', detail: '1 reply'})) as {taken: boolean}).taken, true)
  assert.equal(((await check({state: 'unknown', detail: 'no such device'})) as {taken: boolean}).taken, true)
  assert.equal(((await check(new Error('arping missing'))) as {taken: boolean}).taken, true)
})

test('lab harness: namespace wrap before the user switch, settings, pg_hba', () => {
  const node = pgNode({
    name: 'n1',
    bindir: '/usr/lib/postgresql/15/bin',
    dataDir: '/lab/n1/data',
    port: 5432,
    listen: '*',
    socketDir: '/lab/n1/run',
    wrap: ['ip', 'netns', 'exec', 'lab-n1'],
  })
  assert.deepEqual(nodeArgv(node, ['pg_ctl', 'status'], {uid: 0, name: 'root'}), [
    'ip',
    'netns',
    'exec',
    'lab-n1',
    'runuser',
    '-u',
    'postgres',
    '--',
    'pg_ctl',
    'status',
  ])
  assert.deepEqual(nodeArgv(pgNode({...node, wrap: undefined}), ['x'], {uid: 101, name: 'postgres'}), ['x'])
  const conf = nodeSettings(node, 15, {fsync: 'off'})
  assert.match(conf, /^wal_level = replica$/m)
  assert.match(conf, /^wal_log_hints = on$/m)
  assert.match(conf, /^unix_socket_directories = '\/lab\/n1\/run'$/m)
  assert.match(conf, /^wal_keep_size = '64MB'$/m)
  assert.match(nodeSettings(node, 12), /^wal_keep_segments = 4$/m)
  assert.match(conf, /^fsync = off$/m)
  const hba = hbaLines({networks: ['192.0.2.0/24'], replicationUser: 'replicator', heartbeatUser: 'pgha'})
  assert.match(hba, /^host {2}replication replicator 192\.0\.2\.0\/24 scram-sha-256$/m)
  assert.match(hba, /^host {2}all {9}pgha 192\.0\.2\.0\/24 scram-sha-256$/m)
  assert.ok(!/trust/.test(hba))
})
