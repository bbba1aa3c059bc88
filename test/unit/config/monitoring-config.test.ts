/** The hooks: and api: config keys: defaults, the documented shapes, one clear line per mistake. */
import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {test} from 'node:test'
import {parse} from 'yaml'
import {validateConfig} from '../../../src/lib/config/load.js'
import {ConfigError, EXIT} from '../../../src/lib/errors.js'
import {parseListen} from '../../../src/lib/system/http-api.js'

const example = () => parse(readFileSync('examples/node1.yaml', 'utf8')) as Record<string, unknown>
const load = (over: Record<string, unknown>) => validateConfig({...example(), ...over}, 'test.yaml', {checkFiles: false})
function problems(over: Record<string, unknown>): string[] {
  try {
    load(over)
  } catch (error) {
    assert.ok(error instanceof ConfigError)
    assert.equal(error.exitCode, EXIT.USAGE)
    return error.details ?? []
  }
  assert.fail('expected a config error')
}

test('defaults: no hooks, the API on 127.0.0.1:8008, liveness 30s', () => {
  const cfg = load({})
  assert.deepEqual(cfg.hooks, [])
  assert.deepEqual(cfg.api, {listen: '127.0.0.1:8008', livenessTimeout: 30_000})
})

test("the issue's hook contract parses as written; timeout defaults to 10s", () => {
  const cfg = load(
    parse(`
hooks:
  - on: [failover, fence, degrade]
    run: [/usr/local/bin/page-dba, --team, db]
    timeout: 10s
  - run: [/usr/local/lib/pgha/webhook, https://hooks.example.com/pgha]
`),
  )
  assert.deepEqual(cfg.hooks[0], {on: ['failover', 'fence', 'degrade'], run: ['/usr/local/bin/page-dba', '--team', 'db'], timeout: 10_000})
  assert.deepEqual(cfg.hooks[1], {run: ['/usr/local/lib/pgha/webhook', 'https://hooks.example.com/pgha'], timeout: 10_000})
})

test('api off, either way', () => {
  assert.equal(load({api: 'off'}).api.listen, 'off')
  assert.equal(load({api: {listen: 'off'}}).api.listen, 'off')
  assert.equal(load({api: {listen: '[::1]:9008'}}).api.listen, '[::1]:9008')
  assert.deepEqual(parseListen('[::1]:9008'), {host: '::1', port: 9008})
  assert.deepEqual(parseListen('192.0.2.11:8008'), {host: '192.0.2.11', port: 8008})
})

test('mistakes: one line each, naming the key and what is expected', () => {
  const shell = problems({hooks: [{run: ['page-dba --team db']}]})
  assert.equal(shell.length, 1)
  assert.match(shell[0], /hooks\.0\.run.*expected the program as an absolute path, found "page-dba --team db"/)
  const ev = problems({hooks: [{on: ['failovr'], run: ['/bin/true']}]})
  assert.equal(ev.length, 1)
  assert.match(ev[0], /hooks\.0\.on\.0.*failover/)
  assert.match(problems({hooks: [{run: '/bin/true'}]})[0], /hooks\.0\.run/)
  assert.match(problems({hooks: [{run: ['/bin/true'], timeout: 'soon'}]})[0], /hooks\.0\.timeout.*expected a duration/)
  assert.match(problems({api: {listen: '8008'}})[0], /api\.listen.*expected host:port like 127\.0\.0\.1:8008, or off, found "8008"/)
  assert.match(problems({api: {listen: '127.0.0.1:99999'}})[0], /api\.listen/)
  assert.match(problems({api: {port: 8008}})[0], /api/)
})
