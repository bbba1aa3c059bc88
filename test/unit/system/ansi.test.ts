import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ansi, colorOn, paintIf} from '../../../src/lib/ansi.js'
import {createLogger} from '../../../src/lib/log.js'

describe('colour without a library', () => {
  it('colours a terminal unless NO_COLOR or TERM=dumb; FORCE_COLOR decides first', () => {
    assert.equal(colorOn({isTTY: true}, {}), true)
    assert.equal(colorOn({isTTY: false}, {}), false)
    assert.equal(colorOn({}, {}), false)
    assert.equal(colorOn({isTTY: true}, {NO_COLOR: ''}), false)
    assert.equal(colorOn({isTTY: true}, {TERM: 'dumb'}), false)
    assert.equal(colorOn({isTTY: false}, {FORCE_COLOR: '1'}), true)
    assert.equal(colorOn({isTTY: true}, {FORCE_COLOR: '0'}), false)
  })

  it('wraps in the ANSI codes only when on', () => {
    assert.equal(ansi.red('x'), '\u001B[31mx\u001B[39m')
    assert.equal(ansi.bold('x'), '\u001B[1mx\u001B[22m')
    assert.equal(paintIf(true, ansi.yellow)('w'), '\u001B[33mw\u001B[39m')
    assert.equal(paintIf(false, ansi.yellow)('w'), 'w')
  })

  it('the logger colours warnings and errors only with color on', () => {
    const lines: string[] = []
    createLogger({color: true, sink: (l) => lines.push(l)}).warn('careful')
    createLogger({color: false, sink: (l) => lines.push(l)}).error('plain')
    const esc = '\u001B'
    assert.ok(lines[0].startsWith(`${esc}[33m`) && lines[0].endsWith(`WARN  careful${esc}[39m`), lines[0])
    assert.ok(!lines[1].includes(esc) && lines[1].endsWith('ERROR plain'), lines[1])
  })
})
