import assert from 'node:assert/strict'
import {test} from 'node:test'
import {parseRoleGuard, roleGuardClusterSql, roleGuardDatabaseSql, roleGuardRefusal} from '../../../src/lib/steps/init-role-guard.js'
import {roleSql} from '../../../src/lib/steps/init-sql.js'

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex')

test('role guard: no row means the role does not exist yet (init may create it)', () => {
  assert.equal(parseRoleGuard(undefined, undefined), undefined)
  assert.equal(roleGuardRefusal('pgha', undefined), undefined)
  assert.equal(roleGuardRefusal('pgha', parseRoleGuard(['f', 'f', 'f', 'f', 'f', ''], [''])), undefined)
})

test('role guard: a superuser is refused naming the role, the key and every extra attribute', () => {
  const e = roleGuardRefusal('dba', parseRoleGuard(['t', 't', 't', 't', 'f', ''], undefined))!
  assert.equal(e.exitCode, 2)
  assert.match(e.message, /postgres\.heartbeat\.user names role "dba", which is a superuser \(also CREATEROLE, CREATEDB, REPLICATION\)/)
  assert.match(e.oneLine(), /dedicated role/)
})

test('role guard: lesser attributes and owned objects (both databases) are each named', () => {
  assert.match(roleGuardRefusal('b', parseRoleGuard(['f', 'f', 'f', 'f', 't', ''], undefined))!.message, /"b", which has BYPASSRLS;/)
  const owned = parseRoleGuard(['f', 'f', 'f', 'f', 'f', hex('table orders; an object in database app')], [hex('schema sales')])!
  assert.deepEqual(owned.owned, ['table orders', 'an object in database app', 'schema sales'])
  assert.match(
    roleGuardRefusal('app', owned)!.message,
    /owns 3 objects besides pgha's \(table orders; an object in database app; schema sales\)/,
  )
})

test('role guard SQL quotes the names; role SQL never strips attributes from an existing role', () => {
  const n = {database: "hb'db", user: "o'brien"}
  assert.match(roleGuardClusterSql(n), /rolname = 'o''brien'/)
  assert.match(roleGuardClusterSql(n), /datname = 'hb''db'/)
  assert.match(roleGuardDatabaseSql(n), /o\.schema = 'pgha'/)
  const sql = roleSql({database: 'pgha', user: 'pgha'})
  assert.doesNotMatch(sql, /ALTER ROLE [^;]*NO(SUPERUSER|CREATEDB|CREATEROLE|REPLICATION)/)
  assert.match(sql, /RAISE EXCEPTION/)
})
