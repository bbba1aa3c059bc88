/**
 * A sealed lab network made of network namespaces (used by `pgha lab` and every test that
 * needs two hosts):
 *
 *   PREFIX-gw     owns bridge "labbr" with the gateway address, one veth port per host
 *   PREFIX-NAME   one per host: "eth0" (the veth's other end) with the host address
 *
 * Every link is created inside a lab namespace (`ip -n GW link add ... peer ... netns HOST`),
 * so nothing ever appears in the root namespace, which gets no lab address: no packet can
 * leave the lab and nothing outside can reach in. Because links only exist inside the
 * PREFIX-* namespaces, their short names (≤ 15 characters) cannot collide between runs;
 * the namespace names carry the prefix, and deleting them removes everything.
 */
import {parseIPv4, sameSubnet} from '../config/net.js'
import {StepFailedError, UsageError} from '../errors.js'
import {describeFailure, type Exec, realExec, type RunOptions, SystemContext, wrapArgv} from '../system/exec.js'
import {arpReachable, IFNAME_MAX} from '../system/net.js'

export interface LabHostSpec {
  name: string
  /** The host's address, e.g. 192.0.2.11 (RFC 5737 ranges only). */
  address: string
}

export interface LabNetworkSpec {
  /** Unique per run (tests: include process.pid). Letters, digits, "_"; no "-" (it separates the parts). */
  prefix: string
  hosts: LabHostSpec[]
  gateway?: string
  cidr?: number
  /** Interface name inside each host namespace. */
  iface?: string
}

export interface LabHost {
  name: string
  ns: string
  iface: string
  address: string
  /** address/prefix as configured on iface. */
  cidr: string
  /** The host's veth end in the gateway namespace (bridge port); down = host cut off. */
  bridgePort: string
}

export interface LabNetwork {
  prefix: string
  cidr: number
  gateway: {ns: string; address: string; bridge: string}
  hosts: Record<string, LabHost>
  /** argv that runs `argv` inside host `name`'s namespace. */
  argvIn(name: string, argv: string[]): string[]
  /** An Exec whose commands run inside host `name`'s namespace (for a SystemContext). */
  execIn(name: string): Exec
  /** Cut a host off the bridge (its link stays up, like a pulled cable upstream) or reconnect it. */
  setHostConnected(name: string, connected: boolean): Promise<void>
  destroy(): Promise<{namespaces: string[]; links: string[]}>
}

export const LAB_BRIDGE = 'labbr'
const IP_TIMEOUT_MS = 5000
/** RFC 5737 documentation ranges: never routed, so a lab can never touch a real host. */
const TEST_NETS = ['192.0.2.0', '198.51.100.0', '203.0.113.0'].map((a) => parseIPv4(a)!)

/** `ip netns exec NS argv…`: run a command inside a namespace. */
export function nsArgv(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv]
}

/**
 * An Exec that runs every command inside namespace `ns`. `ip netns exec` needs root, so
 * the namespace switch is the privileged part and a runuser/sudo -u for asUser goes inside it.
 */
export function namespaceExec(ns: string, base: Exec = realExec): Exec {
  return {
    run(argv, opts: RunOptions) {
      const inner = opts.asUser ? wrapArgv(argv, {asUser: opts.asUser}) : argv
      return base.run(nsArgv(ns, inner), {...opts, asUser: undefined, privileged: true})
    },
  }
}

/** Pure: the names a lab with this prefix uses. */
export function labNames(prefix: string, hostNames: string[]): {gateway: string; hosts: Record<string, {ns: string; bridgePort: string}>} {
  const hosts: Record<string, {ns: string; bridgePort: string}> = {}
  hostNames.forEach((h, i) => {
    hosts[h] = {ns: `${prefix}-${h}`, bridgePort: `v${i}${h}`.slice(0, IFNAME_MAX)}
  })
  return {gateway: `${prefix}-gw`, hosts}
}

/** Pure: every problem with a spec, one line each (empty = fine). */
export function labSpecProblems(spec: LabNetworkSpec): string[] {
  const p: string[] = []
  const cidr = spec.cidr ?? 24
  const gw = spec.gateway ?? '192.0.2.1'
  if (!/^[A-Za-z0-9][A-Za-z0-9_]{0,39}$/.test(spec.prefix))
    p.push(`prefix "${spec.prefix}": expected letters, digits or "_" (no "-"), at most 40`)
  if (!Number.isInteger(cidr) || cidr < 24 || cidr > 30) p.push(`cidr ${cidr}: expected 24..30 (the lab stays inside one RFC 5737 /24)`)
  const iface = spec.iface ?? 'eth0'
  if (!/^[A-Za-z0-9_.]{1,15}$/.test(iface)) p.push(`iface "${iface}": expected a name of at most 15 characters`)
  const gwValue = parseIPv4(gw)
  const inTestNet = (v: number) => TEST_NETS.some((n) => sameSubnet(v, n, 24))
  if (gwValue === undefined || !inTestNet(gwValue))
    p.push(`gateway ${gw}: expected an address in 192.0.2.0/24, 198.51.100.0/24 or 203.0.113.0/24`)
  const seen = new Set<string>()
  if (spec.hosts.length === 0) p.push('hosts: expected at least one host')
  for (const h of spec.hosts) {
    if (!/^[A-Za-z0-9][A-Za-z0-9_]{0,19}$/.test(h.name) || h.name === 'gw')
      p.push(`host name "${h.name}": expected letters, digits or "_" (at most 20, not "gw")`)
    if (seen.has(h.name)) p.push(`host name "${h.name}": used twice`)
    seen.add(h.name)
    const v = parseIPv4(h.address)
    if (v === undefined || gwValue === undefined || !sameSubnet(v, gwValue, cidr))
      p.push(`host ${h.name} address ${h.address}: expected an address in the gateway's /${cidr}`)
    else if (v === gwValue) p.push(`host ${h.name} address ${h.address}: same as the gateway`)
  }
  return p
}

async function must(ctx: SystemContext, argv: string[], why: string): Promise<void> {
  const r = await ctx.change(argv, {timeoutMs: IP_TIMEOUT_MS, privileged: true}, why)
  if (r.exitCode !== 0 || r.timedOut)
    throw new StepFailedError(`lab network: ${why} failed: ${describeFailure(r)}`, 'run as root with iproute2 installed')
}

/** Removes every namespace PREFIX-* (killing processes left in it) and root links named PREFIX-*. */
export async function destroyLabNetwork(
  prefix: string,
  ctx: SystemContext = new SystemContext(),
): Promise<{namespaces: string[]; links: string[]}> {
  if (!/^[A-Za-z0-9][A-Za-z0-9_]{0,39}$/.test(prefix))
    throw new UsageError(`lab prefix "${prefix}" is not a valid lab name`, 'use letters, digits or "_"')
  const opts = {timeoutMs: IP_TIMEOUT_MS, privileged: true}
  const list = await ctx.probe(['ip', 'netns', 'list'], opts)
  const namespaces = list.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0])
    .filter((n) => n && n.startsWith(`${prefix}-`))
  for (const ns of namespaces) {
    const pids = (await ctx.probe(['ip', 'netns', 'pids', ns], opts)).stdout
      .split(/\s+/)
      .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    // Our own lab's processes (postgres, ipmi_sim...): a namespace with live processes outlives its name.
    if (pids.length > 0) await ctx.change(['kill', '-KILL', ...pids], opts, `stop processes left in lab namespace ${ns}`)
    await ctx.change(['ip', 'netns', 'del', ns], opts, `remove lab namespace ${ns}`)
  }
  const links: string[] = []
  const shown = await ctx.probe(['ip', '-j', 'link', 'show'], opts)
  try {
    for (const l of JSON.parse(shown.stdout || '[]') as {ifname?: string}[]) {
      if (l.ifname && l.ifname.startsWith(`${prefix}-`)) links.push(l.ifname)
    }
  } catch {}
  for (const l of links) await ctx.change(['ip', 'link', 'del', l], opts, `remove leftover lab link ${l}`)
  return {namespaces, links}
}

/** Builds the lab (removing leftovers of the same prefix first) and checks ARP from each host to the gateway. */
export async function createLabNetwork(spec: LabNetworkSpec, ctx: SystemContext = new SystemContext()): Promise<LabNetwork> {
  const problems = labSpecProblems(spec)
  if (problems.length > 0)
    throw new UsageError(`lab network spec has ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.join('; ')}`)
  const cidr = spec.cidr ?? 24
  const gwAddress = spec.gateway ?? '192.0.2.1'
  const iface = spec.iface ?? 'eth0'
  const names = labNames(
    spec.prefix,
    spec.hosts.map((h) => h.name),
  )
  const gwNs = names.gateway
  const hosts: Record<string, LabHost> = {}
  for (const h of spec.hosts) {
    hosts[h.name] = {
      name: h.name,
      ns: names.hosts[h.name].ns,
      iface,
      address: h.address,
      cidr: `${h.address}/${cidr}`,
      bridgePort: names.hosts[h.name].bridgePort,
    }
  }
  const hostOf = (name: string) => {
    const h = hosts[name]
    if (!h) throw new UsageError(`no host "${name}" in lab ${spec.prefix}`, `hosts are: ${Object.keys(hosts).join(', ')}`)
    return h
  }
  const lab: LabNetwork = {
    prefix: spec.prefix,
    cidr,
    gateway: {ns: gwNs, address: gwAddress, bridge: LAB_BRIDGE},
    hosts,
    argvIn: (name, argv) => nsArgv(hostOf(name).ns, argv),
    execIn: (name) => namespaceExec(hostOf(name).ns, ctx.exec),
    async setHostConnected(name, connected) {
      await must(
        ctx,
        ['ip', '-n', gwNs, 'link', 'set', hostOf(name).bridgePort, connected ? 'up' : 'down'],
        `${connected ? 'reconnect' : 'cut off'} host ${name}`,
      )
    },
    destroy: () => destroyLabNetwork(spec.prefix, ctx),
  }

  await destroyLabNetwork(spec.prefix, ctx)
  try {
    await must(ctx, ['ip', 'netns', 'add', gwNs], 'create the gateway namespace')
    await must(ctx, ['ip', '-n', gwNs, 'link', 'set', 'lo', 'up'], 'bring up loopback in the gateway namespace')
    // No STP, no forward delay: ports forward the moment they are up.
    await must(
      ctx,
      ['ip', '-n', gwNs, 'link', 'add', LAB_BRIDGE, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'],
      'create the lab bridge',
    )
    await must(ctx, ['ip', '-n', gwNs, 'addr', 'add', `${gwAddress}/${cidr}`, 'dev', LAB_BRIDGE], 'give the bridge the gateway address')
    await must(ctx, ['ip', '-n', gwNs, 'link', 'set', LAB_BRIDGE, 'up'], 'bring up the lab bridge')
    for (const h of Object.values(hosts)) {
      await must(ctx, ['ip', 'netns', 'add', h.ns], `create namespace for host ${h.name}`)
      await must(ctx, ['ip', '-n', h.ns, 'link', 'set', 'lo', 'up'], `bring up loopback of host ${h.name}`)
      await must(
        ctx,
        ['ip', '-n', gwNs, 'link', 'add', h.bridgePort, 'type', 'veth', 'peer', 'name', iface, 'netns', h.ns],
        `create the veth pair of host ${h.name}`,
      )
      await must(ctx, ['ip', '-n', gwNs, 'link', 'set', h.bridgePort, 'master', LAB_BRIDGE], `plug host ${h.name} into the bridge`)
      await must(ctx, ['ip', '-n', gwNs, 'link', 'set', h.bridgePort, 'up'], `bring up the bridge port of host ${h.name}`)
      await must(ctx, ['ip', '-n', h.ns, 'addr', 'add', h.cidr, 'dev', iface], `address host ${h.name}`)
      await must(ctx, ['ip', '-n', h.ns, 'link', 'set', iface, 'up'], `bring up ${iface} of host ${h.name}`)
    }
    if (!ctx.dryRun) {
      for (const h of Object.values(hosts)) {
        const inHost = new SystemContext(namespaceExec(h.ns, ctx.exec), false, ctx.log)
        const r = await arpReachable(inHost, iface, gwAddress, 2000)
        if (!r.reachable)
          throw new StepFailedError(
            `lab network: host ${h.name} cannot reach the gateway by ARP: ${r.detail}`,
            'check bridge and veth state with ip -n ' + gwNs + ' link',
          )
      }
    }
  } catch (error) {
    await destroyLabNetwork(spec.prefix, ctx).catch(() => undefined)
    throw error
  }
  return lab
}
