/**
 * The server-side steps against every supported PostgreSQL major (ports 55870-55889, two per
 * major): start/stop, init, heartbeat on the primary and on a streaming standby, detect-role on
 * running and stopped servers, promote with restore_command switched off and put back.
 * The standby is a cold copy of the stopped primary (pg_basebackup refuses servers newer than
 * itself, and Debian's client tools are 15).
 */
import assert from 'node:assert/strict'
import {execFileSync} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, test} from 'node:test'
import {initPrimary, nodePsql, nodeSettings, pgNode, prepareDir, writeOwnedFile} from '../../../src/lib/lab/pgcluster.js'
import {ensureDbRunning, ensureDbStopped} from '../../../src/lib/steps/db.js'
import {detectRole} from '../../../src/lib/steps/detect-role.js'
import {heartbeat} from '../../../src/lib/steps/heartbeat.js'
import {ensureInit} from '../../../src/lib/steps/init.js'
import {ensurePromoted} from '../../../src/lib/steps/promote.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, FAST, HB_PASSWORD, nodeConfig, REPL_PASSWORD, REPL_USER, tempRoot, waitFor, writePassfile} from '../../helpers/pg.js'
import {bindirFor, SUPPORTED_MAJORS} from '../../helpers/pg-majors.js'

const RESTORE = "test -f '/nonexistent/%f'\tand cp /nonexistent/%f %p"
const ctx = () => new SystemContext()
const allow = async () => ({allowed: true, why: 'test: peer fenced'})
const vipFree = async () => false

describe('server-side steps on every supported PostgreSQL major', () => {
  const c = new Cleanups()
  after(() => c.run())

  SUPPORTED_MAJORS.forEach((major, i) => {
    test(`PostgreSQL ${major}: start/stop, init, heartbeat, detect-role, promote`, async (t) => {
      if (!(isRoot() && hasCommand('runuser')) && !prerequisites(t, {root: true, commands: ['runuser']})) return
      const mine = new Cleanups()
      try {
        const root = tempRoot(mine, `pgmajor${major}`)
        const bindir = bindirFor(major, root)
        const passfile = writePassfile(root)
        const port = 55870 + 2 * i
        const pNode = pgNode({
          name: `p${major}`,
          bindir,
          dataDir: join(root, 'primary'),
          port,
          listen: '127.0.0.1',
          socketDir: join(root, 'primary-sock'),
        })
        const sNode = pgNode({
          name: `s${major}`,
          bindir,
          dataDir: join(root, 'standby'),
          port: port + 1,
          listen: '127.0.0.1',
          socketDir: join(root, 'standby-sock'),
        })
        mine.add(() => ensureDbStopped(ctx(), nodeConfig(sNode, passfile), {mode: 'immediate'}).catch(() => undefined))
        mine.add(() => ensureDbStopped(ctx(), nodeConfig(pNode, passfile), {mode: 'immediate'}).catch(() => undefined))
        await initPrimary(
          pNode,
          {networks: ['127.0.0.1/32'], replicationUser: REPL_USER, replicationPassword: REPL_PASSWORD, heartbeatUser: 'pgha'},
          {settings: FAST},
        )
        const primary = nodeConfig(pNode, passfile)
        const standby = nodeConfig(sNode, passfile)
        assert.match(await nodePsql(pNode, 'SHOW server_version_num;'), new RegExp(`^${major}\\d{4}$`))

        assert.equal((await ensureInit(ctx(), primary, {password: HB_PASSWORD})).changed, true)
        assert.equal((await ensureInit(ctx(), primary)).changed, false, 'init twice is a no-op')
        const hb = await heartbeat(ctx(), primary, 'local')
        assert.equal(hb.ok, true, hb.error)
        assert.equal(hb.role, 'primary')

        // Cold copy: stop the primary with pgha's step, copy, make the copy a standby.
        assert.equal((await ensureDbStopped(ctx(), primary, {mode: 'fast'})).changed, true)
        const stopped = await detectRole(ctx(), primary)
        assert.deepEqual([stopped.role, stopped.running, stopped.pgMajor], ['primary', false, major])
        execFileSync('runuser', ['-u', 'postgres', '--', 'cp', '-a', pNode.dataDir, sNode.dataDir], {timeout: 60_000})
        writeOwnedFile(join(sNode.dataDir, 'pgha-node.conf'), nodeSettings(sNode, major, FAST))
        writeOwnedFile(join(sNode.dataDir, 'standby.signal'), '')
        const auto = join(sNode.dataDir, 'postgresql.auto.conf')
        writeOwnedFile(
          auto,
          readFileSync(auto, 'utf8') +
            `primary_conninfo = 'host=127.0.0.1 port=${port} user=${REPL_USER} passfile=${passfile} application_name=s${major}'\nrestore_command = '${RESTORE.replace(/'/g, "''")}'\n`,
        )
        writeOwnedFile(join(sNode.dataDir, 'postmaster.opts'), '')
        prepareDir(sNode.socketDir, 'postgres', 0o755)
        assert.equal((await ensureDbRunning(ctx(), primary, {vipPrimaryTaken: vipFree})).changed, true)
        assert.equal((await ensureDbRunning(ctx(), standby)).changed, true)
        assert.equal((await ensureDbRunning(ctx(), standby)).changed, false, 'start twice is a no-op')

        const s = await detectRole(ctx(), standby)
        assert.deepEqual([s.role, s.running, s.pgMajor], ['standby', true, major])
        assert.deepEqual([(await detectRole(ctx(), primary)).role], ['primary'])
        const written = await heartbeat(ctx(), primary, 'local')
        assert.equal(written.ok, true, written.error)
        const replicated = await waitFor(`the heartbeat row on the PG ${major} standby`, 15_000, async () => {
          const r = await heartbeat(ctx(), standby, 'local')
          return r.ok && r.lastAlive === written.lastAlive ? r : undefined
        })
        assert.equal(replicated.role, 'standby')
        assert.equal(await nodePsql(sNode, 'SHOW restore_command;'), RESTORE)

        const promoted = await ensurePromoted(ctx(), standby, {guard: allow})
        assert.equal(promoted.changed, true, promoted.summary)
        assert.equal(await nodePsql(sNode, 'SELECT pg_is_in_recovery();'), 'f')
        assert.equal(await nodePsql(sNode, 'SHOW restore_command;'), RESTORE, 'restore_command put back exactly (tab, quotes)')
        const after = await heartbeat(ctx(), standby, 'local')
        assert.equal(after.ok, true, after.error)
        assert.equal(after.role, 'primary')
        t.diagnostic(`PG ${major}: promotion took ${promoted.durationMs} ms`)

        assert.equal((await ensureDbStopped(ctx(), standby, {mode: 'fast'})).changed, true)
        assert.equal((await ensureDbStopped(ctx(), standby, {mode: 'fast'})).changed, false)
      } finally {
        await mine.run()
      }
    })
  })
})
