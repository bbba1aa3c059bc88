/** Run the real CLI (node bin/run.js, after the build) with a config file; parse --json output. */
import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {realExec} from '../../src/lib/system/exec.js'

export const RUN_JS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../bin/run.js')

export interface CliResult {
  code: number
  stdout: string
  stderr: string
  durationMs: number
  json?: {status: string; exitCode: number; dryRun?: boolean; plan?: unknown[]; result?: Record<string, unknown>; error?: {message: string}}
}

export async function runCli(configFile: string, args: string[], opts: {cwd?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  const r = await realExec.run([process.execPath, RUN_JS, ...args, '--config', configFile], {
    timeoutMs: opts.timeoutMs ?? 60_000,
    cwd: opts.cwd,
    env: {PGHA_CONFIG: undefined},
  })
  let json: CliResult['json']
  if (args.includes('--json')) {
    try {
      json = JSON.parse(r.stdout)
    } catch {
      json = undefined
    }
  }
  return {code: r.exitCode, stdout: r.stdout, stderr: r.stderr, durationMs: r.durationMs, json}
}
