/**
 * The read-only HTTP API of `pgha watch`: Patroni-style health endpoints and /metrics.
 * Every answer is computed synchronously from the snapshot the loop last published (health.ts,
 * metrics.ts), so a request never waits for the loop and the loop never waits for a request.
 * Slow or idle clients are cut off by header/request/idle timeouts and a connection cap.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import type {Logger} from '../log.js'
import {type ApiSnapshot, HEALTH_PATHS, healthAnswer} from '../core/health.js'

export interface ApiSource {
  snapshot(): ApiSnapshot
  metrics(now: number): string
}

export interface ApiServerOptions {
  /** Per-request bound (headers and body); a client slower than this is disconnected. */
  requestTimeoutMs?: number
  /** Connections open at once; more are refused. */
  maxConnections?: number
  now?: () => number
}

/** "127.0.0.1:8008" / "[::1]:8008" → host and port. */
export function parseListen(listen: string): {host: string; port: number} {
  const i = listen.lastIndexOf(':')
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return {host, port: Number(listen.slice(i + 1))}
}

export class ApiServer {
  private readonly server: Server
  private readonly now: () => number
  requests = 0

  constructor(
    private readonly source: ApiSource,
    private readonly log: Logger,
    opts: ApiServerOptions = {},
  ) {
    this.now = opts.now ?? Date.now
    const t = opts.requestTimeoutMs ?? 5000
    this.server = createServer(
      {requestTimeout: t, headersTimeout: t, keepAliveTimeout: 2000, connectionsCheckingInterval: Math.min(1000, t)},
      (req, res) => this.answer(req, res),
    )
    // An idle socket (connected, sending nothing; or not reading) is closed after t.
    this.server.setTimeout(t, (socket) => socket.destroy())
    this.server.maxConnections = opts.maxConnections ?? 32
    this.server.maxHeadersCount = 50
  }

  /** Resolves with the bound address; rejects with one line when the port cannot be had. */
  listen(listen: string): Promise<AddressInfo> {
    const {host, port} = parseListen(listen)
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException) =>
        reject(new Error(`api.listen ${listen}: ${e.code === 'EADDRINUSE' ? 'the port is in use' : e.message}`))
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        this.server.on('error', (e) => this.log.warn(`HTTP API: ${e.message}`))
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private answer(req: IncomingMessage, res: ServerResponse): void {
    this.requests++
    try {
      const url = new URL(req.url ?? '/', 'http://pgha')
      const method = req.method ?? 'GET'
      const bodyless = method === 'HEAD' || method === 'OPTIONS'
      if (method !== 'GET' && !bodyless)
        return this.send(res, 405, {error: 'read-only API: use GET, HEAD or OPTIONS'}, false, {allow: 'GET, HEAD, OPTIONS'})
      const now = this.now()
      const path = url.pathname.replace(/\/+$/, '') || '/'
      if (path === '/metrics') {
        const text = this.source.metrics(now)
        res.writeHead(200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
          'content-length': bodyless ? 0 : Buffer.byteLength(text),
        })
        return void res.end(bodyless ? undefined : text)
      }
      const which = HEALTH_PATHS[path]
      if (!which)
        return this.send(res, 404, {error: `no such endpoint ${path}`, endpoints: [...Object.keys(HEALTH_PATHS), '/metrics']}, bodyless)
      const a = healthAnswer(which, url.searchParams, this.source.snapshot(), now)
      this.send(res, a.status, a.body, bodyless)
    } catch (error) {
      this.send(res, 500, {error: String((error as Error)?.message ?? error).split('\n')[0]}, false)
    }
  }

  private send(res: ServerResponse, status: number, body: unknown, bodyless: boolean, headers: Record<string, string> = {}): void {
    const text = JSON.stringify(body) + '\n'
    // No body on HEAD/OPTIONS, and say so: an OPTIONS answer may carry one, so a length would be awaited.
    res.writeHead(status, {'content-type': 'application/json', 'content-length': bodyless ? 0 : Buffer.byteLength(text), ...headers})
    res.end(bodyless ? undefined : text)
  }
}
