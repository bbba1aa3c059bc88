import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {StepFailedError} from '../errors.js'
import type {FenceConfig} from '../system/fence-argv.js'
import {buildIpmitoolArgv, parseIpmitoolPower} from '../system/fence-argv.js'
import {realExec, type Exec, type RunResult} from '../system/exec.js'
import {labChassisProgram, processRuns, startBmc, stopBmc} from './bmc.js'
import {nsArgv} from './netns.js'
import {BMC_USER, LAB_PREFIX_LEN, type LabLayout, type LabNode} from './layout.js'
import {readSecretFile} from './secrets.js'

/**
 * The lab's two BMCs: ipmi_sim in the gateway namespace on 192.0.2.201 / .202, udp 623,
 * each driving its host through the chassis program. Thin wrapper over bmc.ts that knows
 * the lab layout, plus the operator's client (`lab power` = the real ipmitool).
 */

const IP_TIMEOUT_MS = 5000

export async function startLabBmc(lab: LabLayout, node: LabNode, exec: Exec = realExec): Promise<number> {
  const h = lab.hosts[node]
  const password = readSecretFile(h.bmcPasswordFile)
  if (!password)
    throw new StepFailedError(`BMC password file ${h.bmcPasswordFile} is missing`, 'rebuild the lab: pgha lab down && pgha lab up')
  // The BMC's own address on the gateway namespace (idempotent: "exists" is fine).
  const add = await exec.run(nsArgv(lab.gatewayNetns, ['ip', 'addr', 'replace', `${h.bmcAddress}/${LAB_PREFIX_LEN}`, 'dev', 'labbr']), {
    timeoutMs: IP_TIMEOUT_MS,
  })
  if (add.exitCode !== 0) throw new StepFailedError(`cannot give BMC ${node} its address ${h.bmcAddress}: ${add.stderr.trim()}`)
  const bmc = await startBmc({
    name: `${lab.name}-${node}`,
    stateDir: h.bmcDir,
    listenAddress: h.bmcAddress,
    port: h.bmcPort,
    user: BMC_USER,
    password,
    chassisProgram: [labChassisProgram(), h.powerDir],
    wrap: ['ip', 'netns', 'exec', lab.gatewayNetns],
  })
  return bmc.pid
}

export function stopLabBmc(lab: LabLayout, node: LabNode): Promise<boolean> {
  return stopBmc(lab.hosts[node].bmcDir)
}

export function labBmcRuns(lab: LabLayout, node: LabNode): boolean {
  const file = join(lab.hosts[node].bmcDir, 'ipmi_sim.pid')
  if (!existsSync(file)) return false
  const pid = Number(readFileSync(file, 'utf8').trim())
  return Number.isInteger(pid) && pid > 0 && processRuns(pid)
}

/** The fence settings an operator's ipmitool uses to reach `node`'s BMC. */
export function bmcClientConfig(lab: LabLayout, node: LabNode): FenceConfig {
  const h = lab.hosts[node]
  return {
    agent: 'ipmitool',
    address: h.bmcAddress,
    port: h.bmcPort,
    user: BMC_USER,
    passwordFile: h.bmcPasswordFile,
    ipmi: {interface: 'lanplus', cipherSuite: 3},
    options: {},
    timeout: 10_000,
    delay: 0,
    allowUnfencedPromotion: false,
  }
}

export type IpmiAction = 'on' | 'off' | 'status'

/** The real ipmitool from the gateway namespace against `node`'s BMC (password via IPMI_PASSWORD). */
export async function ipmiPower(
  lab: LabLayout,
  node: LabNode,
  action: IpmiAction,
  exec: Exec = realExec,
): Promise<{power: 'on' | 'off' | 'unknown'; result: RunResult}> {
  const fence = bmcClientConfig(lab, node)
  const password = readSecretFile(lab.hosts[node].bmcPasswordFile) ?? ''
  const argv = nsArgv(lab.gatewayNetns, buildIpmitoolArgv(fence, action, fence.timeout))
  const result = await exec.run(argv, {timeoutMs: fence.timeout, env: {IPMI_PASSWORD: password}})
  if (action === 'status') return {power: parseIpmitoolPower(result.stdout), result}
  return {power: result.exitCode === 0 ? action : 'unknown', result}
}
