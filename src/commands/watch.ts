import {Flags} from '@oclif/core'
import chalk from 'chalk'
import {BaseCommand, formatPlanned} from '../base-command.js'
import {SafetyRefusal, StepFailedError} from '../lib/errors.js'
import {actionBoundMs, runAction} from '../lib/loop/actions.js'
import {decide} from '../lib/core/decide.js'
import {type TickReport, WatchLoop} from '../lib/loop/loop.js'
import {Observer} from '../lib/observe/observe.js'
import {probeExec} from '../lib/system/probe-exec.js'
import {statePath, writeJsonAtomic} from '../lib/loop/state.js'
import {FRESH_MEMORY, type Role, ROLES} from '../lib/core/types.js'
import {readWatchState, watchProcessRuns} from '../lib/loop/watch-state.js'
import {SwitchoverPartner} from '../lib/loop/switchover-partner.js'
import {runSwitchover} from '../lib/steps/switchover.js'
import {silentLogger} from '../lib/log.js'
import {SystemContext} from '../lib/system/exec.js'
import {sdNotify, watchdogIntervalMs} from '../lib/system/sd-notify.js'
import {startMonitoring} from '../lib/loop/monitoring.js'

export default class Watch extends BaseCommand<typeof Watch> {
  static override summary = 'The automatic HA loop: observe → decide → act, once per timing.interval (runs under systemd on both hosts).'
  static override description = [
    'Every tick observes both hosts (gateway, local database, VIPs, the peer; every probe bounded by timing.probeTimeout),',
    'decides with the transition table (pgha fsm prints it), runs the chosen steps in order and logs one line with the reason.',
    'The role changes only after every step succeeded. State goes to <stateDir>/state.json every tick.',
    'A new loop starts in role "starting" and re-derives its role from reality. SIGTERM/SIGINT: the running step finishes, then exit 0.',
    'Under systemd (Type=notify) it sends READY=1, STATUS= and WATCHDOG=1; see examples/pgha.service.',
  ].join(' ')
  static override examples = [
    '<%= config.bin %> watch --config /etc/pgha/pgha.config.yaml',
    '<%= config.bin %> watch --once --dry-run',
    '<%= config.bin %> watch --once --json',
    '<%= config.bin %> watch --log-format json --log-level debug',
  ]
  static override flags = {
    once: Flags.boolean({summary: 'Run one tick, print the decision and what was done, exit (1 when a step failed).', default: false}),
    role: Flags.option({
      options: ROLES,
      summary: 'With --once: decide as if the loop were in this role (default: the role in state.json, else starting).',
    })(),
    'steady-log-every': Flags.integer({
      summary: 'Log an unchanged steady tick at info every N ticks (debug otherwise).',
      default: 60,
      min: 0,
    }),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const dry = this.dryRun
    const prev = readWatchState(cfg.stateDir)
    if (!dry && prev && watchProcessRuns(prev.pid)) {
      throw new SafetyRefusal(
        `another pgha watch (PID ${prev.pid}) runs on this host`,
        'two loops would act at once; stop it first (systemctl stop pgha), or add --dry-run to see what it decides',
      )
    }
    // Probes never change anything (a heartbeat under --dry-run is rolled back); their SQL is
    // not part of the printed plan, only the actions' commands are.
    const observeCtx = new SystemContext(probeExec, dry, silentLogger)
    // The loop watches the VIPs' ARP answers continuously; one tick (--once) asks once.
    const observer = new Observer(observeCtx, cfg, {arp: this.flags.once ? 'probe' : 'monitor', dryRun: dry})
    const actionCtx = this.system
    const log = this.logger
    // Hooks, the HTTP API and the WAL reader run beside the loop; the loop only publishes to them.
    const monitoring = await startMonitoring(cfg, log, {api: !this.flags.once && !dry})
    const fromState = this.flags.once && !this.flags.role && prev ? prev : undefined
    const role: Role = (this.flags.role as Role | undefined) ?? fromState?.role ?? 'starting'
    // A switchover started on the other host: this host's half runs beside the loop, never in a tick.
    const partner =
      dry || this.flags.once ? undefined : new SwitchoverPartner({cfg, log, run: (opts) => runSwitchover(actionCtx, cfg, opts)})
    const loop = new WatchLoop(
      {
        cfg,
        observe: async (memory) => {
          const seen = await observer.observe(memory)
          partner?.consider(seen.flags.marker)
          return seen
        },
        decide,
        confirmBeforeActing: (obs) => observer.confirmBeforeActing(obs),
        runAction: (action, decision, note, carry) =>
          runAction(actionCtx, cfg, action, decision, {onFenceAttempt: note, warn: (m) => log.warn(m)}, carry),
        persist: dry ? () => {} : (state) => writeJsonAtomic(statePath(cfg.stateDir), state),
        log,
        notify: dry || this.flags.once ? async () => {} : (fields) => sdNotify(fields),
        actionBoundMs: (action, decision) => actionBoundMs(cfg, action, decision),
        onOverrun: () => process.exit(1),
        onTick: monitoring.onTick,
      },
      {
        role,
        memory: fromState?.memory ?? {...FRESH_MEMORY},
        lastTransition: prev?.lastTransition,
        dryRun: dry,
        steadyLogEvery: this.flags['steady-log-every'],
        watchdogMs: dry || this.flags.once ? undefined : watchdogIntervalMs(),
      },
    )

    if (this.flags.once) {
      try {
        return this.printOnce(await loop.tick())
      } finally {
        observer.close()
        await monitoring.stop()
      }
    }

    const onSignal = (sig: string) => {
      log.info(`${sig} received: finishing the current step, then exiting`)
      loop.stop()
    }
    process.on('SIGTERM', () => onSignal('SIGTERM'))
    process.on('SIGINT', () => onSignal('SIGINT'))
    log.info(
      `pgha watch starting on ${cfg.node.name} (peer ${cfg.peer.name}): interval ${cfg.timing.interval} ms, checkTimes ${cfg.timing.checkTimes}, probeTimeout ${cfg.timing.probeTimeout} ms${dry ? ', DRY RUN: nothing is changed' : ''}`,
      {role},
    )
    try {
      await loop.run()
      if (partner?.busy) {
        log.info('a switchover half runs: letting it finish (bounded by its own timeout) before exiting')
        await partner.settle()
      }
    } finally {
      observer.close()
      await monitoring.stop()
    }
    if (dry) actionCtx.plan.length = 0
    // Probes still in flight (a dead peer's connect) must not hold the exit.
    setTimeout(() => process.exit(0), 3000).unref()
    return {
      status: 'ok',
      exitCode: 0,
      result: {changed: false, summary: `stopped after ${loop.ticks} ticks in role ${loop.role}`, role: loop.role},
    }
  }

  private printOnce(r: TickReport) {
    const plan = this.dryRun ? [...this.system.plan] : []
    const summary = `${r.reason}`
    const outcome = {
      changed: !this.dryRun && r.done.length > 0,
      summary,
      role: r.role,
      from: r.from,
      next: r.next,
      committed: r.committed,
      rule: r.rule,
      severity: r.severity,
      actions: r.actions,
      done: r.done,
      ...(r.failed ? {failed: r.failed} : {}),
      steps: r.steps,
      notes: r.notes,
      ms: r.ms,
      probeMs: r.probeMs,
      observations: r.obs,
      flags: r.flags,
    }
    if (!this.jsonEnabled()) {
      const arrow = r.next === r.from ? r.from : `${r.from} → ${r.next}${r.committed ? '' : ' (not committed)'}`
      this.log(`${chalk.bold('role')}     ${arrow}`)
      this.log(`${chalk.bold('rule')}     ${r.rule} (${r.severity})`)
      this.log(`${chalk.bold('reason')}   ${r.reason}`)
      this.log(
        `${chalk.bold('actions')}  ${r.actions.length === 0 ? 'none' : r.actions.join(', ')}${this.dryRun && r.actions.length > 0 ? ' (dry run: not done)' : ''}`,
      )
      for (const s of r.steps) this.log(`  ${s}`)
      if (this.dryRun && plan.length > 0) {
        this.log(chalk.bold('dry run — nothing was changed. Would run:'))
        for (const a of plan) this.log('  ' + formatPlanned(a))
      }
      for (const n of r.notes) this.log(`note: ${n}`)
      this.log(`timing   observe ${r.ms.observe} ms, actions ${r.ms.actions} ms, tick ${r.ms.tick} ms`)
    }
    if (r.failed) {
      throw new StepFailedError(
        `${r.failed.action} failed: ${r.failed.error}`,
        `the role stays ${r.role}; the next tick retries (see the reason above)`,
      )
    }
    return {status: 'ok', exitCode: 0, dryRun: this.dryRun, ...(this.dryRun ? {plan} : {}), result: outcome}
  }
}
