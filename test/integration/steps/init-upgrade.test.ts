/**
 * `pgha init` upgrades an older heartbeat schema in place on a real primary (port 56004): a v1
 * table (no sync_with, no sync_since) and v1 function, with a row in it, become the current
 * schema; the row is kept, the heartbeat works and records sync_with/sync_since, and a second
 * init changes nothing.
 */
import assert from 'node:assert/strict'
import {after, before, describe, test} from 'node:test'
import {nodePsql} from '../../../src/lib/lab/pgcluster.js'
import {heartbeat} from '../../../src/lib/steps/heartbeat.js'
import {ensureInit} from '../../../src/lib/steps/init.js'
import {SystemContext} from '../../../src/lib/system/exec.js'
import {hasCommand, isRoot, prerequisites} from '../../helpers/env.js'
import {Cleanups, HB_PASSWORD, startPrimary, tempRoot, type TestNode, writePassfile} from '../../helpers/pg.js'

/** What init created before synchronous replication: the heartbeat function returned five columns. */
const V1_HEARTBEAT = `BEGIN;
DROP FUNCTION pgha.heartbeat(text, text);
ALTER TABLE pgha.heartbeat DROP COLUMN sync_with, DROP COLUMN sync_since;
CREATE FUNCTION pgha.heartbeat(peer_addr text DEFAULT NULL, writer text DEFAULT NULL)
RETURNS TABLE (role text, last_alive timestamptz, age_ms double precision, lag_bytes bigint, written_by text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
  lag bigint;
BEGIN
  IF pg_is_in_recovery() THEN
    RETURN QUERY
      SELECT 'standby'::text, h.last_alive, (extract(epoch FROM now() - h.last_alive) * 1000)::double precision, h.rep_lag, h.written_by
        FROM pgha.heartbeat h WHERE h.id = 1;
    RETURN;
  END IF;
  SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), COALESCE(r.replay_lsn, r.flush_lsn, r.write_lsn, r.sent_lsn)))::bigint
    INTO lag FROM pg_stat_replication r;
  RETURN QUERY
    INSERT INTO pgha.heartbeat AS h (id, last_alive, rep_lag, written_by)
    VALUES (1, now(), lag, writer)
    ON CONFLICT (id) DO UPDATE
      SET last_alive = EXCLUDED.last_alive, rep_lag = EXCLUDED.rep_lag, written_by = EXCLUDED.written_by
    RETURNING 'primary'::text, h.last_alive, 0::double precision, h.rep_lag, h.written_by;
END
$fn$;
ALTER FUNCTION pgha.heartbeat(text, text) OWNER TO pgha;
REVOKE ALL ON FUNCTION pgha.heartbeat(text, text) FROM PUBLIC;
COMMENT ON FUNCTION pgha.heartbeat(text, text) IS 'pgha heartbeat v1';
COMMIT;`

describe('init upgrades a v1 heartbeat schema', () => {
  const c = new Cleanups()
  const need = {root: true, commands: ['runuser']}
  let primary: TestNode
  let ready = false
  const ctx = () => new SystemContext()
  const columns = () =>
    nodePsql(
      primary.node,
      "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_schema = 'pgha' AND table_name = 'heartbeat';",
      'pgha',
    )

  before(async () => {
    if (!isRoot() || !hasCommand('runuser')) return
    const root = tempRoot(c, 'jainit')
    primary = await startPrimary(c, root, writePassfile(root), 56004, 'jainit')
    await ensureInit(ctx(), primary.cfg, {password: HB_PASSWORD})
    await nodePsql(primary.node, V1_HEARTBEAT, 'pgha')
    ready = true
  })
  after(() => c.run())

  test('v1 → current: columns added, the row kept, the heartbeat works; twice is a no-op', async (t) => {
    if (!ready && !prerequisites(t, need)) return
    assert.equal(await columns(), 'id,last_alive,rep_lag,written_by', 'the v1 table')
    // A v1 row, as a v1 watch wrote it.
    const v1Row = await nodePsql(primary.node, "SELECT last_alive, written_by FROM pgha.heartbeat(NULL, 'v1-writer');", 'pgha')
    // Today's heartbeat against the v1 function fails: why init must upgrade.
    const stale = await heartbeat(ctx(), primary.cfg, 'local')
    assert.equal(stale.ok, false)
    assert.match(stale.error ?? '', /sync_with/)

    const up = await ensureInit(ctx(), primary.cfg)
    assert.equal(up.changed, true, up.summary)
    assert.equal(await columns(), 'id,last_alive,rep_lag,written_by,sync_with,sync_since')
    assert.equal(await nodePsql(primary.node, 'SELECT last_alive, written_by FROM pgha.heartbeat;', 'pgha'), v1Row, 'the v1 row is kept')
    assert.equal(await nodePsql(primary.node, 'SELECT count(*) FROM pgha.heartbeat;', 'pgha'), '1')

    const hb = await heartbeat(ctx(), primary.cfg, 'local')
    assert.equal(hb.ok, true, hb.error)
    assert.equal(hb.syncWith, null, 'no standby: not synchronous')
    assert.equal(hb.writtenBy, 'jainit')
    assert.equal(await nodePsql(primary.node, 'SELECT sync_since = last_alive FROM pgha.heartbeat;', 'pgha'), 't', 'sync_since set')
    const since = await nodePsql(primary.node, 'SELECT sync_since FROM pgha.heartbeat;', 'pgha')
    await new Promise((r) => setTimeout(r, 20))
    assert.equal((await heartbeat(ctx(), primary.cfg, 'local')).ok, true)
    assert.equal(
      await nodePsql(primary.node, 'SELECT sync_since FROM pgha.heartbeat;', 'pgha'),
      since,
      'unchanged sync_with keeps sync_since',
    )

    const again = await ensureInit(ctx(), primary.cfg)
    assert.equal(again.changed, false, again.summary)
    assert.equal(
      await nodePsql(primary.node, "SELECT obj_description('pgha.heartbeat(text,text)'::regprocedure, 'pg_proc');", 'pgha'),
      'pgha heartbeat v3',
    )
  })
})
