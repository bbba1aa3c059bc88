/**
 * Where this pgha is installed: the directory holding its package.json, bin/run.js and
 * scripts/. Found by walking up from this module, because the module itself may sit in
 * dist/src/lib/lab (compiled) or in a chunk of dist/bundle (bundled): a fixed "../../.."
 * would be right for one layout only.
 */
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

let found: string | undefined

export function pghaRoot(): string {
  if (found) return found
  const start = dirname(fileURLToPath(import.meta.url))
  for (let dir = start; dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json')
    if (existsSync(pkg) && existsSync(join(dir, 'bin', 'run.js')) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'pgha')
      return (found = dir)
  }
  throw new Error(`pgha's package.json (with bin/run.js) not found above ${start}`)
}
