import {StepFailedError} from '../errors.js'
import {describeFailure, realExec, type Exec} from '../system/exec.js'
import {hostProcesses, postmasterPid, powerState} from './host.js'
import {LAB_NODES, type LabLayout, type LabNode} from './layout.js'
import {labNames, nsArgv, LAB_BRIDGE} from './netns.js'
import type {StepOutcome} from '../steps/types.js'

/**
 * The faults a drill injects, each one idempotent and each saying what it did:
 * crash-db (kill -9 the postmaster), isolate/heal (the host's bridge port down/up: its own
 * link stays up, like a cable pulled at the switch), freeze/thaw (SIGSTOP/SIGCONT every
 * PostgreSQL process: a hung database with an open port).
 */

export function bridgePort(lab: LabLayout, node: LabNode): string {
  return labNames(lab.prefix, [...LAB_NODES]).hosts[node].bridgePort
}

export function crashDb(lab: LabLayout, node: LabNode): StepOutcome<{pid?: number}> {
  const h = lab.hosts[node]
  const state = powerState(h)
  if (!state.on) throw new StepFailedError(`${node} is powered off`, `power it on first: pgha lab power ${node} on`)
  const pid = postmasterPid(h, state)
  if (pid === undefined) return {changed: false, summary: `${node}: PostgreSQL is not running; nothing to crash`}
  process.kill(pid, 'SIGKILL')
  return {changed: true, summary: `${node}: killed the postmaster (pid ${pid}) with SIGKILL`, pid}
}

export async function setIsolated(lab: LabLayout, node: LabNode, isolated: boolean, exec: Exec = realExec): Promise<StepOutcome> {
  const port = bridgePort(lab, node)
  const shown = await exec.run(nsArgv(lab.gatewayNetns, ['ip', '-o', 'link', 'show', port]), {timeoutMs: 5000})
  if (shown.exitCode !== 0) throw new StepFailedError(`lab ${lab.name}: no bridge port ${port} for ${node}`, 'is the lab up? pgha lab up')
  const isDown = !linkIsUp(shown.stdout)
  if (isDown === isolated) return {changed: false, summary: `${node} is already ${isolated ? 'isolated' : 'connected'}`}
  const r = await exec.run(nsArgv(lab.gatewayNetns, ['ip', 'link', 'set', port, isolated ? 'down' : 'up']), {timeoutMs: 5000})
  if (r.exitCode !== 0) throw new StepFailedError(`cannot ${isolated ? 'isolate' : 'reconnect'} ${node}: ${describeFailure(r)}`)
  if (!isolated) {
    // Re-attach to the bridge in case it was removed meanwhile (idempotent).
    await exec.run(nsArgv(lab.gatewayNetns, ['ip', 'link', 'set', port, 'master', LAB_BRIDGE]), {timeoutMs: 5000})
  }
  return {
    changed: true,
    summary: isolated
      ? `${node} is cut off from the lab network (bridge port ${port} down)`
      : `${node} is connected again (bridge port ${port} up)`,
  }
}

/** Pure: is the link administratively up, from `ip -o link show` output? */
export function linkIsUp(linkShow: string): boolean {
  return /[<,]UP[,>]/.test(linkShow)
}

export function setFrozen(lab: LabLayout, node: LabNode, frozen: boolean): StepOutcome<{pids?: number[]}> {
  const h = lab.hosts[node]
  const state = powerState(h)
  if (!state.on) throw new StepFailedError(`${node} is powered off`, `power it on first: pgha lab power ${node} on`)
  const pids = hostProcesses(h, 'postgres', state)
  if (pids.length === 0) return {changed: false, summary: `${node}: no PostgreSQL process to ${frozen ? 'freeze' : 'thaw'}`}
  for (const pid of pids) {
    try {
      process.kill(pid, frozen ? 'SIGSTOP' : 'SIGCONT')
    } catch {
      // exited meanwhile
    }
  }
  return {
    changed: true,
    summary: frozen
      ? `${node}: froze ${pids.length} PostgreSQL processes (SIGSTOP); the port still accepts connections`
      : `${node}: thawed ${pids.length} PostgreSQL processes (SIGCONT)`,
    pids,
  }
}
