import assert from 'node:assert/strict'
import {test} from 'node:test'
import {configSchema} from '../../../src/lib/config/schema.js'
import {pgCtlPathProblem} from '../../../src/lib/config/pgctl-paths.js'

const base = {
  cluster: 'c',
  node: {name: 'n1', address: '192.0.2.11'},
  peer: {name: 'n2', address: '192.0.2.12'},
  network: {interface: 'eth0', gateway: '192.0.2.1', vipPrimary: '192.0.2.100/24', vipStandby: '192.0.2.101/24'},
  fence: {agent: 'none'},
}

test('pg_ctl paths: shell-active characters and control characters are refused, ordinary odd names pass', () => {
  for (const bad of ['/x/pg$(touch y).log', '/x/`id`', '/x/a"b', '/x/a\\b', '/x/${HOME}', '/x/a\nb', '/x/a\tb']) {
    assert.match(pgCtlPathProblem(bad) ?? '', /pg_ctl passes to \/bin\/sh/, JSON.stringify(bad))
  }
  for (const ok of ['/var/lib/postgresql/15/main', "/x/odd name's.log", '/x/ünï Δ', '/x/a;b|c&d<e>f(g)*?[h]!~#']) {
    assert.equal(pgCtlPathProblem(ok), undefined, ok)
  }
  assert.match(pgCtlPathProblem('/x/a\u0007')!, /control character U\+0007/)
})

test('config: postgres.logFile, datadir and bindir with $(...) are refused naming the key', () => {
  for (const key of ['logFile', 'datadir', 'bindir'] as const) {
    const r = configSchema.safeParse({...base, postgres: {datadir: '/var/lib/pg', [key]: '/tmp/x/pg$(touch /tmp/x/PWNED)'}})
    assert.equal(r.success, false, key)
    const issue = r.error!.issues.find((i) => i.path.join('.') === `postgres.${key}`)
    assert.ok(issue, `an issue names postgres.${key}`)
    assert.match(issue.message, /contains "\$"/)
  }
  assert.equal(configSchema.safeParse({...base, postgres: {datadir: '/var/lib/pg', logFile: "/var/log/it's fine.log"}}).success, true)
})
