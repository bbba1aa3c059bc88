import assert from 'node:assert/strict'
import {test} from 'node:test'
import {Deadline} from '../../../src/lib/steps/deadline.js'
import {realExec} from '../../../src/lib/system/exec.js'
import {StepFailedError} from '../../../src/lib/errors.js'

test('a timed-out command returns at its bound even when a grandchild holds its output open', async () => {
  // sh waits for sleep, which inherited stdout: killing only sh would leave the pipe open 30 s.
  const r = await realExec.run(['sh', '-c', 'sleep 30; echo never'], {timeoutMs: 300})
  assert.equal(r.timedOut, true)
  assert.ok(r.durationMs < 5000, `returned after ${r.durationMs} ms`)
  assert.doesNotMatch(r.stdout, /never/)
})

test('a grandchild that ignores TERM is killed too', async () => {
  const r = await realExec.run(['sh', '-c', 'trap "" TERM; sleep 30 & wait'], {timeoutMs: 300})
  assert.equal(r.timedOut, true)
  assert.ok(r.durationMs < 5000, `returned after ${r.durationMs} ms`)
})

test('a command that finishes in time is not marked timed out', async () => {
  const r = await realExec.run(['sh', '-c', 'echo ok'], {timeoutMs: 5000})
  assert.deepEqual([r.exitCode, r.stdout, r.timedOut], [0, 'ok', false])
})

test('Deadline: sub-calls share one budget; none is handed out after it ends', () => {
  let now = 1000
  const d = Deadline.after(10_000, 'postgres.stepTimeout 10000 ms', () => now)
  assert.equal(d.budget('first', 3000), 3000)
  now += 7000
  assert.equal(d.budget('second'), 3000)
  assert.equal(d.left(), 3000)
  now += 3000
  assert.equal(d.left(), 0)
  assert.throws(
    () => d.budget('pg_ctl promote'),
    (e: unknown) => e instanceof StepFailedError && /out of time before pg_ctl promote \(postgres\.stepTimeout 10000 ms\)/.test(e.message),
  )
})
