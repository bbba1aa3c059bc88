/**
 * A TCP proxy that behaves like a network link of a given bandwidth (one shared budget per
 * direction, like a full-duplex Ethernet link), for benchmarks on one machine: over loopback a
 * full copy runs at disk speed, which no real link between two hosts offers.
 */
import net from 'node:net'

export interface LinkProxy {
  port: number
  close(): Promise<void>
}

/** Pure: when a chunk of `bytes` may leave, given when the link is next free. */
export function schedule(nextFreeMs: number, nowMs: number, bytes: number, bytesPerSec: number): {sendAt: number; nextFree: number} {
  const start = Math.max(nextFreeMs, nowMs)
  const done = start + (bytes / bytesPerSec) * 1000
  return {sendAt: done, nextFree: done}
}

export async function startLinkProxy(targetPort: number, mbit: number, listenPort = 0): Promise<LinkProxy> {
  const bytesPerSec = (mbit * 1_000_000) / 8
  const nextFree = {up: 0, down: 0}
  const sockets = new Set<net.Socket>()
  const pump = (from: net.Socket, to: net.Socket, dir: 'up' | 'down') => {
    from.on('data', (chunk: Buffer) => {
      const s = schedule(nextFree[dir], performance.now(), chunk.length, bytesPerSec)
      nextFree[dir] = s.nextFree
      const delay = s.sendAt - performance.now()
      if (delay > 1) {
        from.pause()
        setTimeout(() => {
          to.write(chunk)
          from.resume()
        }, delay)
      } else {
        to.write(chunk)
      }
    })
    from.on('end', () => to.end())
    from.on('error', () => to.destroy())
  }
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1')
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
    }
    pump(client, upstream, 'up')
    pump(upstream, client, 'down')
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listenPort, '127.0.0.1', () => resolve())
  })
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      }),
  }
}
