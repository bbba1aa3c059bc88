import {existsSync, readFileSync} from 'node:fs'
import {UsageError} from '../errors.js'
import {hasCommandOnPath} from './which.js'

/** Every program the lab runs, with the Debian package that provides it. */
const LAB_REQUIREMENTS: {command: string; pkg: string}[] = [
  {command: 'ip', pkg: 'iproute2'},
  {command: 'arping', pkg: 'iputils-arping'},
  {command: 'ipmitool', pkg: 'ipmitool'},
  {command: 'ipmi_sim', pkg: 'openipmi'},
  {command: 'unshare', pkg: 'util-linux'},
  {command: 'nsenter', pkg: 'util-linux'},
  {command: 'setsid', pkg: 'util-linux'},
  {command: 'runuser', pkg: 'util-linux'},
  {command: 'bash', pkg: 'bash'},
]

export interface PreflightFacts {
  uid: number
  has: (command: string) => boolean
  pgBindirOk: boolean
  postgresUser: boolean
}

/** Pure: the first problem that stops the lab, as a UsageError (exit 2), or undefined. */
export function preflightProblem(f: PreflightFacts): UsageError | undefined {
  if (f.uid !== 0)
    return new UsageError(
      'pgha lab needs root (network namespaces, PID namespaces, BMC simulators)',
      'run it as root, e.g. sudo pgha lab up',
    )
  for (const r of LAB_REQUIREMENTS) {
    if (!f.has(r.command))
      return new UsageError(
        `pgha lab needs ${r.command}, from the Debian package ${r.pkg}, which is missing`,
        'run scripts/setup.sh as root (it installs every package pgha needs)',
      )
  }
  if (!f.pgBindirOk)
    return new UsageError(
      'pgha lab needs the PostgreSQL server binaries (Debian package postgresql), which are missing',
      'run scripts/setup.sh as root',
    )
  if (!f.postgresUser)
    return new UsageError('pgha lab needs the OS user postgres (created by the Debian package postgresql)', 'run scripts/setup.sh as root')
  return undefined
}

export function preflight(bindir: string): void {
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1
  const problem = preflightProblem({
    uid,
    has: hasCommandOnPath,
    pgBindirOk: ['initdb', 'pg_ctl', 'pg_basebackup', 'psql'].every((b) => existsSync(`${bindir}/${b}`)),
    postgresUser: postgresUserExists(),
  })
  if (problem) throw problem
}

function postgresUserExists(): boolean {
  try {
    return /^postgres:/m.test(readPasswd())
  } catch {
    return false
  }
}

const readPasswd = () => readFileSync('/etc/passwd', 'utf8')
