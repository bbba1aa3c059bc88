import assert from 'node:assert/strict'
import {test} from 'node:test'
import type {Envelope} from '../../../src/base-command.js'
import type {PromoteDetails} from '../../../src/lib/steps/promote.js'
import type {StepOutcome} from '../../../src/lib/steps/types.js'

// Checked by the compiler when the tests build: an index signature on StepOutcome would make
// the @ts-expect-error lines compile, and then the build (and so this test) fails.
test('a step result has exactly the fields its type names; --json envelopes keep them', () => {
  const promoted: StepOutcome<PromoteDetails> = {changed: true, summary: 'promoted', role: 'primary', durationMs: 12, guard: 'peer fenced'}
  const envelope: Envelope<StepOutcome<PromoteDetails>> = {status: 'ok', exitCode: 0, dryRun: false, result: promoted}
  const ms: number | undefined = envelope.result.durationMs
  assert.equal(ms, 12)
  const plain: StepOutcome = {changed: false, summary: 'nothing to do'}
  // @ts-expect-error a field no step type declares
  assert.equal(plain.anything, undefined)
  // @ts-expect-error role is 'primary' | 'standby', not any string
  const wrong: StepOutcome<PromoteDetails> = {changed: false, summary: '', role: 'leader'}
  assert.equal(wrong.role, 'leader')
})
