import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatMarker, newMarker, parseMarker, switchoverPlan} from '../../../src/lib/steps/switchover-plan.js'

describe('switchover marker and plan', () => {
  it('the marker keeps every phase of the protocol, and nothing else', () => {
    const m = newMarker('node1', 'node2', new Date(), 60_000)
    for (const phase of ['requested', 'primary-vip-free', 'promoted', 'standby-vip-free'] as const)
      assert.equal(parseMarker(formatMarker({...m, phase}))?.phase, phase)
    assert.equal(parseMarker(JSON.stringify({...m, phase: 'vip-gone'})), undefined)
  })

  it('VIP-M is released, and the marker says so, before the primary stops; the ARP check starts on that phase', () => {
    const steps = switchoverPlan('node1', 'node2', {vips: true, archive: false}).map((s) => `${s.side}: ${s.step}`)
    const at = (re: RegExp) => steps.findIndex((s) => re.test(s))
    const release = at(/^demote: release VIP-M/)
    const phase = at(/^demote: marker phase → primary-vip-free/)
    const arp = at(/^promote: on seeing that phase: start VIP-M's ARP/)
    const stop = at(/^demote: pg_ctl stop -m fast/)
    const promote = at(/^promote: promote \(/)
    assert.ok(release >= 0 && release < phase && phase < arp && arp < stop && stop < promote, steps.join('\n'))
    const noVips = switchoverPlan('node1', 'node2', {vips: false, archive: false}).map((s) => s.step)
    assert.ok(!noVips.some((s) => /VIP-M/.test(s)), noVips.join('\n'))
  })
})
