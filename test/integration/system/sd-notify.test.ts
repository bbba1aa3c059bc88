import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, it} from 'node:test'
import {sdNotify, watchdogIntervalMs} from '../../../src/lib/system/sd-notify.js'
import {prerequisites} from '../../helpers/env.js'

// A Unix datagram listener standing in for systemd (Node has no AF_UNIX dgram).
const LISTENER = `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(10)
print("bound", flush=True)
try:
    while True:
        data = s.recv(4096)
        print(data.decode().replace("\\n", " "), flush=True)
except socket.timeout:
    pass
`

it('delivers READY=1 and WATCHDOG=1 to NOTIFY_SOCKET', async (t) => {
  if (!prerequisites(t, {commands: ['systemd-notify', 'python3']})) return
  const dir = mkdtempSync(join(tmpdir(), 'pgha-notify-'))
  const sock = join(dir, 'notify.sock')
  const py = spawn('python3', ['-c', LISTENER, sock], {stdio: ['ignore', 'pipe', 'inherit']})
  after(() => {
    py.kill('SIGKILL')
    rmSync(dir, {recursive: true, force: true})
  })
  let out = ''
  py.stdout.on('data', (d) => (out += d))
  for (let i = 0; i < 50 && !out.includes('bound'); i++) await new Promise((r) => setTimeout(r, 100))
  assert.ok(existsSync(sock), 'listener socket exists')

  const ready = await sdNotify(['--ready', '--status=watching'], {env: {NOTIFY_SOCKET: sock}})
  assert.equal(ready.sent, true, ready.detail)
  const wd = await sdNotify(['WATCHDOG=1'], {env: {NOTIFY_SOCKET: sock}})
  assert.equal(wd.sent, true, wd.detail)
  for (let i = 0; i < 50 && !out.includes('WATCHDOG=1'); i++) await new Promise((r) => setTimeout(r, 100))
  assert.match(out, /READY=1/)
  assert.match(out, /STATUS=watching/)
  assert.match(out, /WATCHDOG=1/)
})

it('is a no-op without NOTIFY_SOCKET and reads WATCHDOG_USEC', async () => {
  const r = await sdNotify(['WATCHDOG=1'], {env: {}})
  assert.equal(r.sent, false)
  assert.equal(watchdogIntervalMs({WATCHDOG_USEC: '10000000'}), 10_000)
  assert.equal(watchdogIntervalMs({}), undefined)
  assert.equal(watchdogIntervalMs({WATCHDOG_USEC: '10000000', WATCHDOG_PID: '1'}), undefined)
})
