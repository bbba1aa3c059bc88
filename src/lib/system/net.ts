/**
 * The network layer: ip and arping behind small functions, plus a TCP probe.
 * Argv builders and output parsers are pure (unit-tested); the async functions run them
 * through the SystemContext, always privileged (sudo -n when pgha is not root), always bounded.
 */
import {Socket} from 'node:net'
import {StepFailedError} from '../errors.js'
import {describeFailure, type RunResult, type SystemContext} from './exec.js'

export type ArpState = 'free' | 'taken' | 'unknown'
export type VipWhich = 'primary' | 'standby'

/** Linux interface names and address labels are at most IFNAMSIZ-1 = 15 characters. */
export const IFNAME_MAX = 15

/** Time a process gets beyond arping's own deadline before it is killed (arping overshoots ~20 ms). */
const ARPING_GRACE_MS = 1000

// ---------------------------------------------------------------- pure: argv builders

/**
 * The label a VIP gets (`eth0:pgm` for VIP-M, `eth0:pgs` for VIP-S) so `ip addr` and
 * ifconfig show which address is which. The kernel requires a label to start with the
 * interface name and fit in 15 characters; when it would not fit we add no label
 * (pgha finds its VIPs by address, never by label).
 */
export function vipLabel(iface: string, which: VipWhich): string | undefined {
  const label = `${iface}:${which === 'primary' ? 'pgm' : 'pgs'}`
  return label.length <= IFNAME_MAX ? label : undefined
}

export function ipAddrAddArgv(iface: string, cidr: string, label?: string): string[] {
  return ['ip', 'addr', 'add', cidr, 'dev', iface, ...(label ? ['label', label] : [])]
}

export function ipAddrDelArgv(iface: string, cidr: string): string[] {
  return ['ip', 'addr', 'del', cidr, 'dev', iface]
}

export function ipAddrShowArgv(iface: string): string[] {
  return ['ip', '-j', 'addr', 'show', 'dev', iface]
}

/**
 * arping takes whole seconds only (-w and -i reject "0.5"), so a probe budget becomes
 * that many one-per-second probes and the same deadline; at least one second.
 */
export function arpingSeconds(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs / 1000))
}

/**
 * Duplicate address detection: probes from 0.0.0.0; exit 1 with replies = someone has the IP
 * (arping returns at the first reply). One probe a second by default; `probes` 2 with 1 s sends
 * the second probe at the deadline (arping's interval is whole seconds).
 */
export function arpingDadArgv(iface: string, ip: string, timeoutMs: number, probes?: number): string[] {
  const s = String(arpingSeconds(timeoutMs))
  return ['arping', '-D', '-I', iface, '-c', String(probes ?? s), '-w', s, ip]
}

/** Plain reachability probe (the gateway check); -f returns on the first reply. */
export function arpingProbeArgv(iface: string, ip: string, timeoutMs: number): string[] {
  const s = String(arpingSeconds(timeoutMs))
  return ['arping', '-f', '-I', iface, '-c', s, '-w', s, ip]
}

/** Gratuitous ARP after claiming: neighbours and switches learn the VIP's new MAC. Takes ~count s. */
export function arpingAnnounceArgv(iface: string, ip: string, count: number): string[] {
  const c = String(Math.max(1, count))
  return ['arping', '-U', '-I', iface, '-c', c, '-w', c, ip]
}

/** Process kill bound for an arping whose own deadline is `seconds`. */
export function arpingKillAfterMs(seconds: number): number {
  return seconds * 1000 + ARPING_GRACE_MS
}

// ---------------------------------------------------------------- pure: parsers

/** "Received 1 response(s)" → 1; undefined when arping never got that far (bad device, bad args). */
export function parseArpingReplies(stdout: string): number | undefined {
  const m = /Received (\d+) response/.exec(stdout)
  return m ? Number(m[1]) : undefined
}

/** The MACs that answered, e.g. ["B6:54:40:2D:08:5E"], for messages that name the other host. */
export function parseArpingResponders(stdout: string): string[] {
  const macs = [...stdout.matchAll(/reply from \S+ \[([0-9A-Fa-f:]{17})\]/g)].map((m) => m[1].toUpperCase())
  return [...new Set(macs)]
}

/**
 * arping exits 1 both for "a reply came" (DAD) and for errors like a bad argument, so the
 * state comes from the reply count it prints, and the exit code must agree with it.
 */
export function classifyDad(r: RunResult): {state: ArpState; detail: string} {
  const replies = parseArpingReplies(r.stdout)
  if (r.timedOut) return {state: 'unknown', detail: `arping gave no verdict: ${describeFailure(r)}`}
  if (r.exitCode === 1 && replies !== undefined && replies > 0) {
    const who = parseArpingResponders(r.stdout)
    return {state: 'taken', detail: `answered by ${who.length > 0 ? who.join(', ') : 'another host'}`}
  }
  if (r.exitCode === 0 && replies === 0) return {state: 'free', detail: 'no host answered ARP'}
  return {state: 'unknown', detail: `arping gave no verdict: ${describeFailure(r)}`}
}

/** "Sent 1 probes (1 broadcast(s))" → 1: arping prints its totals on exit, on SIGTERM too. */
export function parseArpingSent(stdout: string): number | undefined {
  const m = /Sent (\d+) probe/.exec(stdout)
  return m ? Number(m[1]) : undefined
}

/**
 * Pure: a DAD probe we stop with SIGTERM at the end of a short window. arping -D exits at the
 * first reply, so stopped by us with a probe sent and 0 replies means nobody answered within
 * the window; no "Sent" line (it never got to send) gives no verdict.
 */
export function classifyDadWindow(r: RunResult, windowMs: number): {state: ArpState; detail: string} {
  const replies = parseArpingReplies(r.stdout)
  const sent = parseArpingSent(r.stdout) ?? 0
  if (r.timedOut && sent > 0 && replies === 0) {
    return {state: 'free', detail: `no host answered ARP within ${r.durationMs} ms (window ${windowMs} ms)`}
  }
  if (r.timedOut) return {state: 'unknown', detail: `arping sent no probe within ${windowMs} ms: ${describeFailure(r)}`}
  return classifyDad(r)
}

export interface AddrEntry {
  family: 'inet' | 'inet6'
  address: string
  prefix: number
  label?: string
  /** A secondary address: deleting it never takes others with it. */
  secondary: boolean
}

/** `ip -j addr show dev IFACE` → its addresses. Throws on output that is not ip's JSON. */
export function parseIpAddrJson(stdout: string): AddrEntry[] {
  const links = JSON.parse(stdout.trim() === '' ? '[]' : stdout) as Array<{addr_info?: Array<Record<string, unknown>>}>
  if (!Array.isArray(links)) throw new Error('ip -j addr: expected a JSON list')
  const out: AddrEntry[] = []
  for (const link of links) {
    for (const a of link.addr_info ?? []) {
      if ((a.family !== 'inet' && a.family !== 'inet6') || typeof a.local !== 'string') continue
      out.push({
        family: a.family,
        address: a.local,
        prefix: Number(a.prefixlen),
        label: typeof a.label === 'string' ? a.label : undefined,
        secondary: a.secondary === true,
      })
    }
  }
  return out
}

/** 192.0.2.100/24 → 192.0.2.100 (the config's one address parser does it). */
export {addressOf} from '../config/net.js'

// ---------------------------------------------------------------- I/O

/** Is `ip` held by another host on the link? Never throws; 'unknown' when arping gave no verdict. */
export async function arpDuplicateCheck(
  ctx: SystemContext,
  iface: string,
  ip: string,
  timeoutMs: number,
  probes?: number,
): Promise<{state: ArpState; detail: string}> {
  const argv = arpingDadArgv(iface, ip, timeoutMs, probes)
  const r = await ctx.probe(argv, {timeoutMs: arpingKillAfterMs(arpingSeconds(timeoutMs)), privileged: true})
  return classifyDad(r)
}

/** Is `ip` held by another host? One DAD probe, the verdict after at most windowMs (sub-second). Never throws. */
export async function arpDuplicateWithin(
  ctx: SystemContext,
  iface: string,
  ip: string,
  windowMs: number,
): Promise<{state: ArpState; detail: string}> {
  const r = await ctx.probe(arpingDadArgv(iface, ip, 1000, 1), {timeoutMs: windowMs, privileged: true})
  return classifyDadWindow(r, windowMs)
}

/** Does `ip` answer ARP (the gateway probe)? Never throws. */
export async function arpReachable(
  ctx: SystemContext,
  iface: string,
  ip: string,
  timeoutMs: number,
): Promise<{reachable: boolean; detail: string}> {
  const r = await ctx.probe(arpingProbeArgv(iface, ip, timeoutMs), {
    timeoutMs: arpingKillAfterMs(arpingSeconds(timeoutMs)),
    privileged: true,
  })
  const replies = parseArpingReplies(r.stdout)
  if (r.exitCode === 0 && replies !== undefined && replies > 0) {
    return {reachable: true, detail: `${ip} answered ARP on ${iface} in ${r.durationMs} ms`}
  }
  if (replies === 0) return {reachable: false, detail: `${ip} did not answer ARP on ${iface} within ${arpingSeconds(timeoutMs)} s`}
  return {reachable: false, detail: `cannot probe ${ip}: ${describeFailure(r)}`}
}

/** All addresses on `iface` with their flags. Throws StepFailedError (exit 1) when ip fails. */
export async function localAddressEntries(ctx: SystemContext, iface: string, timeoutMs: number): Promise<AddrEntry[]> {
  const r = await ctx.probe(ipAddrShowArgv(iface), {timeoutMs, privileged: true})
  if (r.exitCode !== 0 || r.timedOut) {
    throw new StepFailedError(
      `cannot list addresses of ${iface}: ${describeFailure(r)}`,
      'check network.interface in the config (ip link shows the names)',
    )
  }
  try {
    return parseIpAddrJson(r.stdout)
  } catch (error) {
    throw new StepFailedError(
      `cannot read the output of ${r.argv.join(' ')}: ${(error as Error).message}`,
      'iproute2 with JSON output (-j) is needed',
    )
  }
}

/** IPv4 addresses on `iface` as CIDRs, e.g. ['192.0.2.11/24', '192.0.2.101/24']. */
export async function localAddresses(ctx: SystemContext, iface: string, timeoutMs: number): Promise<string[]> {
  const entries = await localAddressEntries(ctx, iface, timeoutMs)
  return entries.filter((e) => e.family === 'inet').map((e) => `${e.address}/${e.prefix}`)
}

/** Does host:port accept a TCP connection within timeoutMs? Always resolves. */
export async function tcpPortOpen(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return (await tcpProbe(host, port, timeoutMs)).open
}

/** tcpPortOpen with the reason, for messages: "refused", "no answer within 3000 ms", ... Always resolves. */
export function tcpProbe(host: string, port: number, timeoutMs: number): Promise<{open: boolean; detail: string}> {
  return new Promise((resolve) => {
    const socket = new Socket()
    const started = Date.now()
    let done = false
    const finish = (open: boolean, detail: string) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve({open, detail})
    }
    const timer = setTimeout(() => finish(false, `${host}:${port} gave no answer within ${timeoutMs} ms`), Math.max(1, timeoutMs))
    socket.once('connect', () => finish(true, `${host}:${port} accepted a connection in ${Date.now() - started} ms`))
    socket.once('error', (e: NodeJS.ErrnoException) =>
      finish(false, `${host}:${port} ${e.code === 'ECONNREFUSED' ? 'refused the connection' : `failed: ${e.code ?? e.message}`}`),
    )
    try {
      socket.connect({host, port})
    } catch (error) {
      finish(false, `${host}:${port} failed: ${(error as Error).message}`)
    }
  })
}
