/** The layer rules in eslint.config.js bite: the pure core imports no I/O, only system/ runs processes or opens sockets. */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {test} from 'node:test'
import {ESLint} from 'eslint'
import {REPO_ROOT} from '../../helpers/paths.js'

const ROOT = REPO_ROOT
const eslint = new ESLint({cwd: ROOT})

/** The restricted-import messages ESLint reports for `code` as if it lived at `file`. */
async function restricted(file: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(code, {filePath: join(ROOT, file)})
  return r.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message)
}

const CORE_BAD = [
  "import {readFileSync} from 'node:fs'",
  "import fs from 'fs'",
  "import {execa} from 'execa'",
  "import pg from 'pg'",
  "import type {Exec} from '../system/exec.js'",
  "import {ensureVip} from '../steps/vip.js'",
]

for (const file of ['src/lib/core/decide.ts', 'src/lib/core/transitions.ts', 'src/lib/core/new-rule.ts']) {
  test(`${file}: every I/O import is refused`, async () => {
    for (const line of CORE_BAD)
      assert.ok((await restricted(file, `${line}\nexport const x = 1\n`)).length > 0, `${file} may import: ${line}`)
  })
}

test('the core may not import the loop, the probes, the status code, the lab or commands', async () => {
  for (const mod of [
    '../loop/loop',
    '../loop/actions',
    '../observe/observe',
    '../system/pg-probe',
    '../status/nagios',
    '../lab/lab',
    '../../base-command',
    '../../flags',
  ]) {
    assert.ok((await restricted('src/lib/core/decide.ts', `import * as m from '${mod}.js'\nexport const x = m\n`)).length > 0, mod)
  }
})

test('the core may import the config and its own modules', async () => {
  const ok =
    "import type {Config} from '../config/schema.js'\nimport {ROLES} from './types.js'\nexport const x: [Config?, unknown?] = [undefined, ROLES]\n"
  assert.deepEqual(await restricted('src/lib/core/decide.ts', ok), [])
})

test('outside system/, a step may not run processes or open sockets; system/, the lab and tests may', async () => {
  for (const mod of ['node:child_process', 'node:net', 'node:dgram', 'node:http', 'execa', 'pg']) {
    const code = `import * as m from '${mod}'\nexport const x = m\n`
    assert.ok((await restricted('src/lib/steps/new-step.ts', code)).length > 0, `a step may import ${mod}`)
    assert.ok((await restricted('src/commands/new-command.ts', code)).length > 0, `a command may import ${mod}`)
    assert.deepEqual(await restricted('src/lib/system/new-io.ts', code), [], `system/ may import ${mod}`)
    assert.deepEqual(await restricted('src/lib/lab/new-lab.ts', code), [], `the lab may import ${mod}`)
    assert.deepEqual(await restricted('test/unit/new.test.ts', code), [], `a test may import ${mod}`)
  }
  assert.deepEqual(
    await restricted('src/lib/steps/new-step.ts', "import {readFileSync} from 'node:fs'\nexport const x = readFileSync\n"),
    [],
    'steps may read files',
  )
  assert.deepEqual(
    await restricted('src/lib/steps/new-step.ts', "import type pg from 'pg'\nexport let x: pg.Client | undefined\n"),
    [],
    'a step may hold a client the system layer opened',
  )
})

test('system/ is the bottom layer: it may not import steps, the loop, observation or status code', async () => {
  for (const mod of ['../steps/heartbeat', '../loop/loop', '../observe/observe', '../status/nagios']) {
    assert.ok((await restricted('src/lib/system/new-io.ts', `import * as m from '${mod}.js'\nexport const x = m\n`)).length > 0, mod)
  }
  assert.deepEqual(
    await restricted(
      'src/lib/system/new-io.ts',
      "import {HEARTBEAT_CALL_SQL} from '../sql/heartbeat.js'\nexport const x = HEARTBEAT_CALL_SQL\n",
    ),
    [],
  )
})

test('sql/ is pure like the core', async () => {
  assert.ok((await restricted('src/lib/sql/new.ts', "import pg from 'pg'\nexport const x = pg\n")).length > 0)
})
