/**
 * The shipped example hooks (examples/hooks/) run through the real hook runner: mail-dba
 * pipes a mail to sendmail (a recording stand-in via SENDMAIL), webhook POSTs the event JSON
 * with the real curl to a local HTTP server (port 18620).
 */
import assert from 'node:assert/strict'
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {tickEvents} from '../../../src/lib/core/events.js'
import {createLogger} from '../../../src/lib/log.js'
import {HookRunner} from '../../../src/lib/system/hooks.js'
import {prerequisites} from '../../helpers/env.js'
import {REPO_ROOT} from '../../helpers/paths.js'

const EXAMPLES = join(REPO_ROOT, 'examples', 'hooks')
const failover = () =>
  tickEvents(
    {
      at: '2026-12-02T03:00:00.000Z',
      from: 'standby',
      role: 'primary_standby',
      committed: true,
      rule: 'standby.failover',
      reason: 'the primary failed 2 checks in a row',
      severity: 'alert',
      done: ['fencePeer', 'promote', 'claimVipPrimary', 'writeHeartbeat'],
    },
    'standby.fence-wait',
    {cluster: 'prod', node: 'node2', peer: 'node1'},
  ).filter((e) => e.event === 'failover')

test('examples/hooks/mail-dba sends one mail with the event to sendmail -t', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-mail-'))
  t.after(() => rmSync(dir, {recursive: true, force: true}))
  const fake = join(dir, 'sendmail')
  writeFileSync(fake, `#!/bin/sh\necho "argv: $*" > ${dir}/mail\ncat >> ${dir}/mail\n`)
  chmodSync(fake, 0o755)
  process.env.SENDMAIL = fake
  t.after(() => delete process.env.SENDMAIL)
  const lines: string[] = []
  const r = new HookRunner(
    [{run: [join(EXAMPLES, 'mail-dba'), 'dba@example.com'], timeout: 5000}],
    createLogger({format: 'json', sink: (l) => lines.push(l)}),
  )
  r.fire(failover())
  await r.idle()
  assert.equal(r.stats.succeeded, 1, lines.join('\n'))
  const mail = readFileSync(join(dir, 'mail'), 'utf8')
  assert.match(mail, /^argv: -t -oi\n/)
  assert.match(mail, /^To: dba@example.com$/m)
  assert.match(mail, /^Subject: \[pgha prod\] failover on node2: primary_standby$/m)
  assert.match(mail, /^role: standby -> primary_standby \(rule standby.failover, severity alert\)$/m)
  assert.equal(JSON.parse(mail.split('event:\n')[1]).event, 'failover')
})

test('examples/hooks/webhook POSTs the event JSON with curl; a failing endpoint is a logged failure', async (t) => {
  if (!prerequisites(t, {commands: ['curl']})) return
  const got: {headers: Record<string, unknown>; body: string}[] = []
  let status = 204
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (d) => (body += d))
    req.on('end', () => {
      got.push({headers: req.headers, body})
      res.writeHead(status).end()
    })
  })
  await new Promise<void>((res) => server.listen(18620, '127.0.0.1', res))
  t.after(() => server.close())
  const lines: {level: string; msg: string}[] = []
  const r = new HookRunner(
    [{run: [join(EXAMPLES, 'webhook'), 'http://127.0.0.1:18620/pgha'], timeout: 5000}],
    createLogger({format: 'json', sink: (l) => lines.push(JSON.parse(l))}),
  )
  r.fire(failover())
  await r.idle()
  assert.equal(r.stats.succeeded, 1, JSON.stringify(lines))
  assert.equal(got[0].headers['x-pgha-event'], 'failover')
  assert.equal(got[0].headers['content-type'], 'application/json')
  assert.equal(JSON.parse(got[0].body).rule, 'standby.failover')
  status = 500
  r.fire(failover())
  await r.idle()
  assert.equal(r.stats.failed, 1)
  assert.ok(
    lines.some((l) => l.level === 'error' && /webhook for event failover exited 22 .*500/.test(l.msg)),
    JSON.stringify(lines),
  )
})
