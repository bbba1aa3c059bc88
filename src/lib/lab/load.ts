import {spawn} from 'node:child_process'
import {closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {StepFailedError} from '../errors.js'
import {processRuns} from './bmc.js'
import {type LoadEntry, parseLoadLog} from './figures.js'
import {labModule, sleep} from './host.js'
import {type LabLayout, LOAD_DB, LOAD_USER, PG_PORT, VIP_PRIMARY} from './layout.js'
import {nsArgv} from './netns.js'

/**
 * `lab load start|stop`: the lab's application, a client in the gateway namespace writing
 * through VIP-M (load-client.ts). One log file per run, JSON lines; the pid file says which
 * run is going.
 */

export interface LoadRun {
  pid: number
  run: string
  log: string
  startedAt: number
}

function readLoadRun(lab: LabLayout): LoadRun | undefined {
  try {
    return JSON.parse(readFileSync(lab.loadPidFile, 'utf8')) as LoadRun
  } catch {
    return undefined
  }
}

function isLoadClient(pid: number): boolean {
  try {
    return processRuns(pid) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('load-client.js')
  } catch {
    return false
  }
}

export function loadRunning(lab: LabLayout): LoadRun | undefined {
  const r = readLoadRun(lab)
  return r && isLoadClient(r.pid) ? r : undefined
}

export interface LoadOptions {
  /** Names the run; its rows carry that name. */
  run?: string
  /** Pause between one connection's writes; 0 = the next as soon as the commit returns. */
  intervalMs?: number
  connections?: number
  queryTimeoutMs?: number
  /** 0: none (see load-client.ts on statement_timeout and synchronous commits). */
  statementTimeoutMs?: number
  maxSeconds?: number
}

/** Start a load run (one at a time). */
export async function startLoad(lab: LabLayout, opts: LoadOptions = {}): Promise<LoadRun> {
  const going = loadRunning(lab)
  if (going) return going
  const run =
    opts.run ??
    `run-${new Date()
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}`
  if (!/^[A-Za-z0-9_.-]{1,60}$/.test(run)) throw new StepFailedError(`load run name ${JSON.stringify(run)} is not usable`)
  const dir = join(lab.gwDir, 'load')
  mkdirSync(dir, {recursive: true, mode: 0o700})
  const log = join(dir, `${run}.jsonl`)
  const err = openSync(join(dir, `${run}.err`), 'a')
  const argv = nsArgv(lab.gatewayNetns, [
    process.execPath,
    labModule('load-client.js'),
    '--host',
    VIP_PRIMARY,
    '--port',
    String(PG_PORT),
    '--db',
    LOAD_DB,
    '--user',
    LOAD_USER,
    '--passfile',
    lab.loadPassfile,
    '--run',
    run,
    '--log',
    log,
    '--interval-ms',
    String(opts.intervalMs ?? 50),
    '--connections',
    String(opts.connections ?? 1),
    '--query-timeout-ms',
    String(opts.queryTimeoutMs ?? 1000),
    '--statement-timeout-ms',
    String(opts.statementTimeoutMs ?? 1000),
    '--max-seconds',
    String(opts.maxSeconds ?? 3600),
  ])
  const child = spawn(argv[0], argv.slice(1), {detached: true, stdio: ['ignore', err, err]})
  closeSync(err)
  child.unref()
  if (child.pid === undefined) throw new StepFailedError('cannot start the load client')
  const r: LoadRun = {pid: child.pid, run, log, startedAt: Date.now()}
  writeFileSync(lab.loadPidFile, JSON.stringify(r) + '\n')
  // Up = it has opened its log (node starts in well under a second, but allow for a busy
  // machine: ≤ 15 s); a client that dies at once is an error.
  const deadline = Date.now() + 15_000
  while (!existsSync(log) && Date.now() < deadline) {
    if (!isLoadClient(child.pid) && !existsSync(log)) {
      await sleep(200)
      if (!existsSync(log)) break
    }
    await sleep(50)
  }
  if (!existsSync(log)) {
    await stopLoad(lab)
    throw new StepFailedError('the load client did not start within 15 s', `see ${join(dir, `${run}.err`)}`)
  }
  return r
}

/** Stop the running load client (TERM, then KILL after 3 s). False when none ran. */
export async function stopLoad(lab: LabLayout): Promise<LoadRun | false> {
  const r = readLoadRun(lab)
  if (!r) return false
  if (isLoadClient(r.pid)) {
    try {
      process.kill(r.pid, 'SIGTERM')
    } catch {}
    for (let i = 0; i < 60 && isLoadClient(r.pid); i++) await sleep(50)
    if (isLoadClient(r.pid)) {
      try {
        process.kill(r.pid, 'SIGKILL')
      } catch {}
    }
  }
  rmSync(lab.loadPidFile, {force: true})
  return r
}

export function readLoadLog(file: string): LoadEntry[] {
  try {
    return parseLoadLog(readFileSync(file, 'utf8'))
  } catch {
    return []
  }
}
