import {Socket} from 'node:net'
import {join} from 'node:path'
import type {Probe} from '../core/types.js'
import type {PgEndpoint} from './pg.js'

/** TCP (or Unix socket) connect; always resolves. 'no' when refused / no route, 'unknown' on silence. */
export function portProbe(endpoint: PgEndpoint, timeoutMs: number): Promise<Probe> {
  return new Promise((resolve) => {
    const socket = new Socket()
    let done = false
    const finish = (p: Probe) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      resolve(p)
    }
    const timer = setTimeout(() => finish('unknown'), Math.max(1, timeoutMs))
    socket.once('connect', () => finish('yes'))
    socket.once('error', (e: NodeJS.ErrnoException) =>
      finish(['ECONNREFUSED', 'ENOENT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL'].includes(e.code ?? '') ? 'no' : 'unknown'),
    )
    try {
      if (endpoint.kind === 'socket') socket.connect({path: join(endpoint.dir, `.s.PGSQL.${endpoint.port}`)})
      else socket.connect({host: endpoint.host, port: endpoint.port})
    } catch {
      finish('unknown')
    }
  })
}
