import assert from 'node:assert/strict'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {test} from 'node:test'
import {probeExec} from '../../../src/lib/system/probe-exec.js'

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (!alive(pid)) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return !alive(pid)
}

test('probeExec: a timeout kills the whole process group, grandchildren included', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-probe-exec-'))
  t.after(() => rmSync(dir, {recursive: true, force: true}))
  const pidFile = join(dir, 'grandchild.pid')
  // The grandchild keeps none of our pipes, so killing only sh would return at once and leave it running.
  const r = await probeExec.run(['sh', '-c', `sleep 30 >/dev/null 2>&1 & echo $! > ${pidFile}; wait`], {timeoutMs: 300})
  assert.equal(r.timedOut, true)
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  assert.ok(pid > 0, 'grandchild pid recorded')
  const gone = await waitGone(pid, 3000)
  if (!gone) process.kill(pid, 'SIGKILL')
  assert.ok(gone, `grandchild ${pid} still running after the timeout`)
})

test('probeExec: a grandchild that ignores TERM is killed too', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pgha-probe-exec-'))
  t.after(() => rmSync(dir, {recursive: true, force: true}))
  const pidFile = join(dir, 'grandchild.pid')
  const r = await probeExec.run(
    // sh dies of the TERM (so the probe returns), the grandchild ignores it: the KILL must still come.
    ['sh', '-c', `(trap "" TERM; exec sleep 30) >/dev/null 2>&1 & echo $! > ${pidFile}; wait`],
    {timeoutMs: 300},
  )
  assert.equal(r.timedOut, true)
  const pid = Number(readFileSync(pidFile, 'utf8').trim())
  const gone = await waitGone(pid, 3000)
  if (!gone) process.kill(pid, 'SIGKILL')
  assert.ok(gone, `grandchild ${pid} still running after the timeout`)
})

test('probeExec: a command that finishes in time returns its output, not timed out', async () => {
  const r = await probeExec.run(['sh', '-c', 'echo ok; echo err >&2; exit 3'], {timeoutMs: 5000})
  assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.timedOut], [3, 'ok', 'err', false])
})

test('probeExec: a missing binary is exit 127 with one clear line', async () => {
  const r = await probeExec.run(['pgha-no-such-binary'], {timeoutMs: 5000})
  assert.deepEqual([r.exitCode, r.stderr], [127, 'pgha-no-such-binary: command not found'])
})
