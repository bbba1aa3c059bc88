/**
 * A TCP proxy that delays every byte by a fixed time in each direction, like a long network
 * link (latency, not bandwidth: see link-proxy.ts for that). Order is kept: one queue per
 * direction, released by one timer. Run inside a lab host by bench/loss.ts:
 *   node delay-proxy.js --listen HOST:PORT --target HOST:PORT --delay-ms N
 * It prints "listening" once it accepts connections and runs until its stdin closes (so it
 * never outlives the bench that started it) or its host loses power.
 */
import net from 'node:net'

/** Pure: the chunks due at `now` (removed from the queue) and when the next one is due. */
export function due<T>(queue: {at: number; item: T}[], now: number): {ready: T[]; nextAt?: number} {
  let i = 0
  while (i < queue.length && queue[i].at <= now) i++
  const ready = queue.splice(0, i).map((q) => q.item)
  return {ready, nextAt: queue[0]?.at}
}

function delayedPipe(from: net.Socket, to: net.Socket, delayMs: number): void {
  const queue: {at: number; item: Buffer | null}[] = [] // null: the sender ended
  let timer: NodeJS.Timeout | undefined
  const release = () => {
    timer = undefined
    const {ready, nextAt} = due(queue, performance.now())
    for (const chunk of ready) {
      if (chunk === null) to.end()
      else to.write(chunk)
    }
    if (nextAt !== undefined) timer = setTimeout(release, Math.max(0, nextAt - performance.now()))
  }
  const push = (item: Buffer | null) => {
    queue.push({at: performance.now() + delayMs, item})
    timer ??= setTimeout(release, delayMs)
  }
  from.on('data', (chunk: Buffer) => push(chunk))
  from.on('end', () => push(null))
  from.on('error', () => to.destroy())
  from.on('close', () => {
    if (!from.readableEnded) to.destroy()
  })
}

export async function startDelayProxy(
  listen: {host: string; port: number},
  target: {host: string; port: number},
  delayMs: number,
): Promise<net.Server> {
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host)
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    delayedPipe(client, upstream, delayMs)
    delayedPipe(upstream, client, delayMs)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(listen.port, listen.host, () => resolve())
  })
  return server
}

function hostPort(s: string | undefined): {host: string; port: number} {
  const m = /^(.+):(\d+)$/.exec(s ?? '')
  if (!m) throw new Error(`expected HOST:PORT, got ${JSON.stringify(s)}`)
  return {host: m[1], port: Number(m[2])}
}

if (process.argv[1]?.endsWith('delay-proxy.js')) {
  const arg = (n: string) => process.argv[process.argv.indexOf(`--${n}`) + 1]
  startDelayProxy(hostPort(arg('listen')), hostPort(arg('target')), Number(arg('delay-ms')))
    .then(() => {
      process.stdout.write('listening\n')
      process.stdin.on('end', () => process.exit(0))
      process.stdin.on('close', () => process.exit(0))
      process.stdin.resume()
    })
    .catch((e) => {
      process.stderr.write(`delay-proxy: ${(e as Error).message}\n`)
      process.exit(1)
    })
}
