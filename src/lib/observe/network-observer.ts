/**
 * The network half of an observation: the gateway's ARP answer (is this host isolated?), the
 * VIPs (held here, answered elsewhere) and whether network.interface exists. Either one
 * continuous ARP monitor (the loop) or one arping per probe per tick (--once, status).
 */
import {networkInterfaces} from 'node:os'
import type {Config} from '../config/schema.js'
import {ArpMonitor, ARP_PROBE_EVERY_MS} from '../system/arp-monitor.js'
import type {SystemContext} from '../system/exec.js'
import {arpDuplicateCheck, arpReachable} from '../system/net.js'
import {InterfaceCheck} from '../system/net-device.js'
import {hostOf} from '../system/pg.js'
import type {Probe, VipState} from '../core/types.js'
import {arpAnswer, bounded, heldOn, PROCESS_GRACE_MS} from './observe-probes.js'

/** How the VIPs' ARP answers are obtained: a continuous monitor (the loop) or one DAD probe per tick (--once). */
export type ArpMode = 'monitor' | 'probe'

export class NetworkObserver {
  private readonly arp?: ArpMonitor
  readonly arpWindowMs: number
  private arpReady = false
  /** Asked only when the gateway does not answer: is network.interface there at all? */
  private readonly iface: InterfaceCheck

  constructor(
    private readonly ctx: SystemContext,
    private readonly cfg: Config,
    arpMode: ArpMode,
  ) {
    this.iface = new InterfaceCheck(ctx, cfg.network.interface, cfg.timing.probeTimeout)
    this.arpWindowMs = ARP_PROBE_EVERY_MS + Math.max(500, cfg.timing.probeTimeout)
    if (arpMode === 'monitor') {
      this.arp = new ArpMonitor(
        cfg.network.interface,
        [
          {name: 'gateway', ip: cfg.network.gateway, mode: 'reach'},
          {name: 'primary', ip: hostOf(cfg.network.vipPrimary), mode: 'dad'},
          {name: 'standby', ip: hostOf(cfg.network.vipStandby), mode: 'dad'},
        ],
        this.arpWindowMs,
        ctx.log,
      )
      this.arp.start()
    }
  }

  get monitored(): boolean {
    return this.arp !== undefined
  }

  close(): void {
    this.arp?.stop()
  }

  /** The first tick waits (once, bounded) until the monitors have probed a whole window. */
  async ready(): Promise<void> {
    if (!this.arp || this.arpReady) return
    await this.arp.ready(this.arpWindowMs + 1000)
    this.arpReady = true
  }

  async vip(which: 'primary' | 'standby', probeMs: Record<string, number>): Promise<VipState> {
    const ip = hostOf(which === 'primary' ? this.cfg.network.vipPrimary : this.cfg.network.vipStandby)
    let answered: Probe
    if (this.arp) {
      answered = this.arp.verdict(which)
    } else {
      const t = this.cfg.timing.probeTimeout
      const started = performance.now()
      const arp = await bounded(
        arpDuplicateCheck(this.ctx, this.cfg.network.interface, ip, t),
        Math.max(1000, t) + PROCESS_GRACE_MS,
        (why) => ({state: 'unknown' as const, detail: why}),
      )
      probeMs[`arp-${which}`] = Math.round(performance.now() - started)
      answered = arpAnswer(arp.state)
    }
    // Read after the ARP answer so a VIP claimed meanwhile by this host is seen as ours.
    return {heldLocally: heldOn(networkInterfaces(), this.cfg.network.interface, ip) ? 'yes' : 'no', answeredElsewhere: answered}
  }

  /** A fresh ARP probe of the gateway (one process): every tick without a monitor, else before acting. */
  async probeGateway(probeMs: Record<string, number> = {}): Promise<Probe> {
    const t = this.cfg.timing.probeTimeout
    const started = performance.now()
    const r = await bounded(
      arpReachable(this.ctx, this.cfg.network.interface, this.cfg.network.gateway, t),
      Math.max(1000, t) + PROCESS_GRACE_MS,
      (why) => ({reachable: false, detail: `cannot probe: ${why}`}),
    )
    probeMs.gateway = Math.round(performance.now() - started)
    if (r.reachable) return 'yes'
    return /cannot probe/.test(r.detail) ? 'unknown' : 'no'
  }

  async gateway(probeMs: Record<string, number>): Promise<Probe> {
    return this.arp ? this.arp.verdict('gateway') : this.probeGateway(probeMs)
  }

  /**
   * A gateway that does not answer may be a device that does not exist: name it, do not guess
   * isolation. Bounded; at most every 10 s (InterfaceCheck).
   */
  interfaceMissing(gateway: Probe): Promise<boolean> {
    if (gateway === 'yes') return Promise.resolve(false)
    return bounded(this.iface.missing(), this.cfg.timing.probeTimeout + PROCESS_GRACE_MS, () => false)
  }

  /** What the monitors' answers this tick are worth a note for. */
  notes(gateway: Probe, vips: VipState[]): string[] {
    const notes: string[] = []
    if (this.arp && vips.some((v) => v.answeredElsewhere === 'unknown'))
      notes.push('the ARP monitors have not probed long enough yet: VIP answers unknown')
    if (this.arp && gateway !== 'yes')
      notes.push(
        `gateway monitor: ${gateway === 'no' ? `no ARP reply from ${this.cfg.network.gateway} within ${this.arpWindowMs} ms` : 'not running long enough yet'}`,
      )
    return notes
  }
}
