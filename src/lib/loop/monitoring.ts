/**
 * Starts what runs beside `pgha watch` for monitoring and paging: the hook runner, the WAL
 * position reader and the HTTP API, and returns the loop's onTick listener that feeds them.
 * A failure here (the API port in use) is logged loudly and never stops the HA loop.
 */
import type {Config} from '../config/schema.js'
import type {Logger} from '../log.js'
import {WatchPublisher} from './watch-publish.js'
import type {TickReport} from './watch-state.js'
import {HookRunner} from '../system/hooks.js'
import {ApiServer} from '../system/http-api.js'
import {WalPositionReader} from '../system/wal-position.js'

export interface Monitoring {
  onTick: (r: TickReport, previousRule: string | undefined) => void
  publisher: WatchPublisher
  hooks: HookRunner
  api?: ApiServer
  /** Stop the API and the reader; wait (bounded by the hooks' timeouts) for queued hooks. */
  stop: () => Promise<void>
}

/** Secrets of pgha's own environment a hook must not inherit. */
function hookScrubList(cfg: Config): string[] {
  return ['PGPASSWORD', ...(cfg.fence.passwordEnv ? [cfg.fence.passwordEnv] : [])]
}

export async function startMonitoring(cfg: Config, log: Logger, opts: {api: boolean}): Promise<Monitoring> {
  const hooks = new HookRunner(cfg.hooks, log, {scrubEnv: hookScrubList(cfg)})
  const apiOn = opts.api && cfg.api.listen !== 'off'
  const wal = apiOn ? new WalPositionReader(cfg) : undefined
  const publisher = new WatchPublisher({
    cfg,
    startedAt: Date.now(),
    fire: (e) => hooks.fire(e),
    hookStats: () => hooks.stats,
    wal: () => wal?.last,
  })
  let api: ApiServer | undefined
  if (apiOn) {
    wal!.start(Math.max(1000, cfg.timing.interval))
    api = new ApiServer(publisher, log)
    try {
      const at = await api.listen(cfg.api.listen)
      log.info(`HTTP API listening on ${at.address}:${at.port} (health endpoints, /metrics)`)
    } catch (error) {
      log.error(`${(error as Error).message}: the HTTP API is off, the watch loop runs without it — free the port or change api.listen`)
      api = undefined
    }
  }
  const maxHookMs = cfg.hooks.reduce((m, h) => Math.max(m, h.timeout), 0)
  return {
    onTick: (r, prev) => void publisher.onTick(r, prev),
    publisher,
    hooks,
    api,
    stop: async () => {
      wal?.stop()
      await api?.close()
      if (hooks.running + hooks.queued > 0) {
        log.info(`waiting up to ${maxHookMs + 1000} ms for ${hooks.running + hooks.queued} hook run(s) to finish`)
        await Promise.race([hooks.idle(), new Promise((r) => setTimeout(r, maxHookMs + 1000).unref())])
      }
      await hooks.close()
    },
  }
}
