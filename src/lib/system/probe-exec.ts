/**
 * A lean Exec for the watch loop's per-tick probes (the gateway arping). execa costs the
 * loop ~20 ms of CPU per call, which once a second is 2 % of a core by itself; a bare
 * child_process.spawn costs ~6 ms. Same contract as realExec (exec.ts): argv only, wrapArgv
 * for runuser/sudo, a hard timeout, never throws. Like realExec the child gets its own
 * process group and a timeout kills all of it (TERM, then KILL 1 s later): runuser/sudo and a
 * grandchild would otherwise outlive the probe.
 */
import {spawn} from 'node:child_process'
import {signalGroup, trackGroup} from './child-groups.js'
import {type Exec, type RunOptions, type RunResult, wrapArgv} from './exec.js'

export const probeExec: Exec = {
  run(argv: string[], opts: RunOptions): Promise<RunResult> {
    const full = wrapArgv(argv, opts)
    const started = performance.now()
    let pid: number | undefined
    const done = new Promise<RunResult>((resolve) => {
      let stdout = ''
      let stderr = ''
      let timedOut = false
      let settled = false
      const finish = (exitCode: number, extraErr = '') => {
        if (settled) return
        settled = true
        clearTimeout(term)
        // After a timeout the KILL still goes out: a grandchild that ignored the TERM must not
        // outlive the probe just because the direct child did die.
        if (!timedOut) clearTimeout(kill)
        resolve({
          argv: full,
          exitCode,
          stdout: stdout.replace(/\n$/, ''),
          stderr: (stderr + extraErr).replace(/\n$/, ''),
          timedOut,
          durationMs: Math.round(performance.now() - started),
        })
      }
      const child = spawn(full[0], full.slice(1), {
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        env: opts.env ? {...process.env, ...opts.env} : process.env,
        cwd: opts.cwd,
        detached: true,
      })
      let kill: NodeJS.Timeout | undefined
      const term = setTimeout(
        () => {
          timedOut = true
          signalGroup(child.pid, 'SIGTERM')
          kill = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 1000).unref()
        },
        Math.max(1, opts.timeoutMs),
      )
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      if (opts.input !== undefined) child.stdin?.end(opts.input)
      child.on('error', (e: NodeJS.ErrnoException) =>
        finish(e.code === 'ENOENT' ? 127 : -1, e.code === 'ENOENT' ? `${full[0]}: command not found` : e.message),
      )
      child.on('close', (code) => finish(typeof code === 'number' ? code : -1))
      pid = child.pid
    })
    trackGroup(pid, done)
    return done
  },
}
