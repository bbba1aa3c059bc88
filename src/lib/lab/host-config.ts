import YAML from 'yaml'
import type {ConfigInput} from '../config/schema.js'
import {
  BMC_USER,
  LAB_GATEWAY,
  LAB_PREFIX_LEN,
  LAB_STARTUP_DELAY,
  PG_PORT,
  VIP_PRIMARY,
  VIP_STANDBY,
  type LabLayout,
  type LabNode,
} from './layout.js'

export const PG_BINDIR = '/usr/lib/postgresql/15/bin'

/**
 * The pgha config of one lab host, written like a real deployment's (see examples/node1.yaml):
 * archive.mode bind (the peer's archive directory bind-mounted, since this kernel has no NFS),
 * fence.agent ipmitool against the PEER's BMC with a password file, the shipped timing
 * defaults except a shorter startupDelay. Pure.
 */
export function hostConfig(lab: LabLayout, node: LabNode, bindir = PG_BINDIR): ConfigInput {
  const me = lab.hosts[node]
  const peer = lab.hosts[me.peer]
  return {
    cluster: lab.name,
    node: {name: node, address: me.address},
    peer: {name: me.peer, address: peer.address},
    network: {
      interface: 'eth0',
      gateway: LAB_GATEWAY,
      vipPrimary: `${VIP_PRIMARY}/${LAB_PREFIX_LEN}`,
      vipStandby: `${VIP_STANDBY}/${LAB_PREFIX_LEN}`,
    },
    postgres: {
      bindir,
      datadir: me.datadir,
      port: PG_PORT,
      osUser: 'postgres',
      socketDir: me.socketDir,
      passfile: me.passfile,
      logFile: me.pgLog,
      configFile: me.pgConf,
    },
    archive: {mode: 'bind', source: peer.archiveDir, mountpoint: me.peerArchiveMount},
    fence: {
      agent: 'ipmitool',
      address: peer.bmcAddress,
      port: peer.bmcPort,
      user: BMC_USER,
      passwordFile: me.fencePasswordFile,
      ipmi: {interface: 'lanplus', cipherSuite: 3},
    },
    timing: {startupDelay: LAB_STARTUP_DELAY},
    stateDir: me.stateDir,
  }
}

export function hostConfigYaml(lab: LabLayout, node: LabNode, bindir = PG_BINDIR): string {
  const header = [
    `# pgha config of lab host ${node} (lab ${lab.name}), written by \`pgha lab up\`.`,
    `# Like a real deployment's, except: archive.mode bind (no NFS in the lab) and`,
    `# timing.startupDelay ${LAB_STARTUP_DELAY} (shipped default 45s) to keep cold starts short.`,
  ]
  return header.join('\n') + '\n' + YAML.stringify(hostConfig(lab, node, bindir))
}
