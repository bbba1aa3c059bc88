import {existsSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

/** The checkout's root (the folder with package.json), found from this compiled file. */
export const REPO_ROOT = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'run.js'))) return dir
  }
  throw new Error('cannot find the repository root above ' + fileURLToPath(import.meta.url))
})()

/** The CLI entry point, as the tests spawn it. */
export const RUN_JS = join(REPO_ROOT, 'bin', 'run.js')
