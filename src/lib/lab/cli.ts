import {Args, Flags} from '@oclif/core'
import {UsageError} from '../errors.js'
import {readManifest} from './lab.js'
import {DEFAULT_LAB_NAME, labLayout, type LabLayout, LAB_NODES} from './layout.js'

/** Flags every `pgha lab` command takes. */
export const labFlags = {
  name: Flags.string({
    summary: 'Lab name: prefix of every namespace and process of the lab (1-10 lower-case letters/digits).',
    default: DEFAULT_LAB_NAME,
  }),
  dir: Flags.string({summary: 'Lab directory (default /var/lib/pgha-lab/<name>).'}),
}

// Choices are checked by the command (UsageError, exit 2), not by oclif's options.
export const nodeArg = Args.string({description: `lab host: ${LAB_NODES.join(' or ')}`, required: true})

/** One of `choices`, else a UsageError (exit 2) naming them. */
export function choice<T extends string>(what: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T
  throw new UsageError(`${what} ${JSON.stringify(value)} is not one of ${choices.join(', ')}`, `use ${choices.join(' or ')}`)
}

export function layoutFromFlags(flags: {name: string; dir?: string}): LabLayout {
  return labLayout(flags.name, flags.dir)
}

/** Commands that act on a lab need one (root is checked too: every fault needs it). */
export function requireLab(lab: LabLayout): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new UsageError(
      'pgha lab needs root (network namespaces, PID namespaces, BMC simulators)',
      'run it as root, e.g. sudo pgha lab ...',
    )
  }
  if (!readManifest(lab))
    throw new UsageError(
      `lab ${lab.name} is not up (no ${lab.manifest})`,
      `run pgha lab up${lab.name === DEFAULT_LAB_NAME ? '' : ` --name ${lab.name}`}`,
    )
}
