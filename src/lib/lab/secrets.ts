import {randomBytes} from 'node:crypto'
import {chmodSync, existsSync, readFileSync, writeFileSync} from 'node:fs'
import {passfileLine, writeOwnedFile} from './pgcluster.js'
import {type LabLayout, LAB_NODES, LOAD_USER} from './layout.js'

/**
 * The lab's secrets, each in a mode-600 file (never in argv, logs or --json output):
 * one admin password per BMC (the peer's fence.password is a copy), the replication and
 * heartbeat passwords in each host's pgpass (owned by postgres), the load user's password.
 */
export const REPLICATION_USER = 'replicator'
export const HEARTBEAT_USER = 'pgha'

export interface LabSecrets {
  replication: string
  heartbeat: string
  load: string
  bmc: Record<(typeof LAB_NODES)[number], string>
}

// 16 characters: IPMI BMCs take at most 16 (ipmi_sim's lan.conf) or 20.
const newSecret = () => randomBytes(12).toString('base64url')

function rootFile(path: string, content: string): void {
  writeFileSync(path, content, {mode: 0o600})
  chmodSync(path, 0o600)
}

export function heartbeatPasswordFile(lab: LabLayout): string {
  return `${lab.gwDir}/heartbeat.password`
}

/** Create every secret file of a fresh lab; returns the values for the build steps. */
export function writeLabSecrets(lab: LabLayout): LabSecrets {
  const s: LabSecrets = {replication: newSecret(), heartbeat: newSecret(), load: newSecret(), bmc: {node1: newSecret(), node2: newSecret()}}
  for (const node of LAB_NODES) {
    const h = lab.hosts[node]
    rootFile(h.bmcPasswordFile, s.bmc[node] + '\n')
    rootFile(h.fencePasswordFile, s.bmc[h.peer] + '\n')
    const pgpass = [
      passfileLine({host: '*', port: '*', database: '*', user: REPLICATION_USER, password: s.replication}),
      passfileLine({host: '*', port: '*', database: '*', user: HEARTBEAT_USER, password: s.heartbeat}),
      passfileLine({host: '*', port: '*', database: '*', user: LOAD_USER, password: s.load}),
    ]
    writeOwnedFile(h.passfile, pgpass.join('\n') + '\n')
  }
  rootFile(lab.loadPassfile, s.load + '\n')
  rootFile(heartbeatPasswordFile(lab), s.heartbeat + '\n')
  return s
}

export function readSecretFile(path: string): string | undefined {
  if (!existsSync(path)) return undefined
  return readFileSync(path, 'utf8').split('\n')[0] || undefined
}
