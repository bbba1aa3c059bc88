/**
 * `pgha init` never strips an attribute from an existing role: heartbeat.user naming a
 * superuser, a role with CREATEDB/CREATEROLE/REPLICATION/BYPASSRLS, or a role that owns other
 * objects is refused (exit 2, the role named), real or --dry-run, and the cluster is unchanged
 * (real primary on 127.0.0.1:55600).
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, test} from 'node:test'
import YAML from 'yaml'
import {UsageError} from '../../../src/lib/errors.js'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {ensureInit} from '../../../src/lib/steps/init.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {runCli} from '../../helpers/cli.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, HB_PASSWORD, startPrimary, tempRoot, type TestNode, writePassfile} from '../../helpers/pg.js'

describe('init refuses a heartbeat role it would have to weaken', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let root = ''
  let passfile = ''
  let ready = false

  /** Everything init could change: role attributes, memberships, and who owns what. */
  const snapshot = async () =>
    [
      await nodePsql(
        primary.node,
        `SELECT string_agg(format('%s super=%s createrole=%s createdb=%s repl=%s bypassrls=%s login=%s member_of=%s', rolname, rolsuper, rolcreaterole,
      rolcreatedb, rolreplication, rolbypassrls, rolcanlogin, (SELECT string_agg(b.rolname, ',' ORDER BY b.rolname) FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid WHERE m.member = r.oid)), E'\\n' ORDER BY rolname)
      FROM pg_roles r WHERE rolname !~ '^pg_';`,
      ),
      await nodePsql(primary.node, "SELECT string_agg(datname || '=' || pg_get_userbyid(datdba), ',' ORDER BY datname) FROM pg_database;"),
      await nodePsql(
        primary.node,
        "SELECT string_agg(nspname || '=' || pg_get_userbyid(nspowner), ',' ORDER BY nspname) FROM pg_namespace;",
        'pgha',
      ),
      await nodePsql(
        primary.node,
        "SELECT string_agg(relname || '=' || pg_get_userbyid(relowner), ',' ORDER BY relname) FROM pg_class WHERE relnamespace = 'pgha'::regnamespace;",
        'pgha',
      ),
    ].join('\n')

  const configFor = (user: string) => {
    const file = join(root, `init-${user}.yaml`)
    const p = primary.cfg.postgres
    writeFileSync(
      file,
      YAML.stringify({
        cluster: 'hpginit',
        node: {name: 'node1', address: '192.0.2.11'},
        peer: {name: 'node2', address: '192.0.2.12'},
        network: {interface: 'hpgnone0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
        postgres: {
          bindir: p.bindir,
          datadir: p.datadir,
          port: p.port,
          socketDir: p.socketDir,
          passfile,
          heartbeat: {database: 'pgha', user},
          stepTimeout: '20s',
        },
        fence: {agent: 'none'},
        stateDir: join(root, 'state'),
      }),
    )
    return file
  }

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    root = tempRoot(c, 'hpg-init')
    passfile = writePassfile(root)
    primary = await startPrimary(c, root, passfile, 55600)
    // A normal install first: role pgha owns schema pgha in database pgha.
    await ensureInit(new SystemContext(), primary.cfg, {password: HB_PASSWORD})
    await nodePsql(
      primary.node,
      [
        'CREATE ROLE dba LOGIN SUPERUSER CREATEDB CREATEROLE REPLICATION;',
        'CREATE ROLE builder LOGIN CREATEDB;',
        'CREATE ROLE app LOGIN;',
        'CREATE TABLE public.orders (id int); ALTER TABLE public.orders OWNER TO app;',
      ].join('\n'),
    )
    ready = true
  })
  after(() => c.run())

  for (const user of ['postgres', 'dba']) {
    for (const dryRun of [true, false]) {
      test(`heartbeat.user = ${user} (a superuser)${dryRun ? ', --dry-run' : ''}: exit 2 naming the role, nothing changed`, async (t) => {
        if (!ready && !prerequisites(t, need)) return
        const before = await snapshot()
        const r = await runCli(configFor(user), ['init', '--json', ...(dryRun ? ['--dry-run'] : [])])
        assert.equal(r.code, 2, r.stdout + r.stderr)
        assert.equal(r.json?.exitCode, 2)
        const message = r.json?.error?.message ?? ''
        assert.match(message, new RegExp(`role "${user}", which is a superuser`))
        assert.match(message, /postgres\.heartbeat\.user/)
        assert.equal(await snapshot(), before)
      })
    }
  }

  test('a role with CREATEDB, and a role owning a table elsewhere, are refused too (exit 2)', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const before = await snapshot()
    for (const [user, why] of [
      ['builder', /has CREATEDB/],
      ['app', /owns 1 object .*table orders/],
    ] as const) {
      const cfg = {...primary.cfg, postgres: {...primary.cfg.postgres, heartbeat: {database: 'pgha', user}}}
      await assert.rejects(ensureInit(new SystemContext(), cfg), (e: unknown) => {
        assert.ok(e instanceof UsageError, String(e))
        assert.equal(e.exitCode, 2)
        assert.match(e.message, why)
        return true
      })
    }
    assert.equal(await snapshot(), before)
  })

  test('the proper role still passes: init is a no-op on the installed cluster', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    const r = await ensureInit(new SystemContext(), primary.cfg)
    assert.equal(r.changed, false, r.summary)
  })
})
