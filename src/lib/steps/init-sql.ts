import {sqlIdent, sqlLiteral} from '../system/pgctl.js'

/**
 * Pure SQL for `pgha init` (PostgreSQL 12+). Every statement is idempotent. Identifiers come
 * from the validated config and are quoted anyway.
 */

/** Stored as the heartbeat function's comment; init is a no-op when it matches. */
const HEARTBEAT_SCHEMA_VERSION = 'pgha heartbeat v3'
/** The psql variable that carries the heartbeat role's password (set on stdin, never shown). */
const PASSWORD_VARIABLE = 'pgha_password'

export interface HeartbeatNames {
  database: string
  user: string
}

/** Run against database postgres: what exists already (one row: db, role_ok, in_recovery). */
export function clusterProbeSql(n: HeartbeatNames): string {
  return `SELECT
  EXISTS (SELECT FROM pg_catalog.pg_database WHERE datname = ${sqlLiteral(n.database)}),
  EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname = ${sqlLiteral(n.user)} AND r.rolcanlogin AND NOT r.rolsuper
          AND pg_catalog.pg_has_role(r.oid, 'pg_monitor', 'MEMBER')
          AND pg_catalog.has_function_privilege(r.oid, 'pg_catalog.pg_promote(boolean, integer)', 'EXECUTE')
          AND (NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pg_checkpoint')
               OR pg_catalog.pg_has_role(r.oid, 'pg_checkpoint', 'MEMBER'))),
  pg_catalog.pg_is_in_recovery();`
}

/** Run against the heartbeat database: is the schema complete and current (one row: t/f)? */
export function schemaProbeSql(n: HeartbeatNames): string {
  return `SELECT COALESCE(
  pg_catalog.obj_description(pg_catalog.to_regprocedure('pgha.heartbeat(text,text)'), 'pg_proc') = ${sqlLiteral(HEARTBEAT_SCHEMA_VERSION)}
  AND (SELECT pg_catalog.pg_get_userbyid(nspowner) FROM pg_catalog.pg_namespace WHERE nspname = 'pgha') = ${sqlLiteral(n.user)}
  AND pg_catalog.has_function_privilege(${sqlLiteral(n.user)}, 'pg_catalog.pg_promote(boolean, integer)', 'EXECUTE')
  AND (SELECT count(*) FROM pg_catalog.pg_trigger
        WHERE tgname = 'pgha_keep_row'
          AND tgrelid IN (pg_catalog.to_regclass('pgha.heartbeat'), pg_catalog.to_regclass('pgha.cluster_state'))) = 2,
  false);`
}

export function createDatabaseSql(n: HeartbeatNames): string {
  return `CREATE DATABASE ${sqlIdent(n.database)};`
}

/** Run against postgres: the non-superuser heartbeat role and its grants. */
export function roleSql(n: HeartbeatNames): string {
  const u = sqlIdent(n.user)
  return `DO $pgha$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${sqlLiteral(n.user)}) THEN
    CREATE ROLE ${u} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
  ELSIF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = ${sqlLiteral(n.user)}
                  AND (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)) THEN
    -- Checked by init before; repeated here so a role changed meanwhile is never weakened.
    RAISE EXCEPTION 'pgha: role % has SUPERUSER, CREATEROLE, CREATEDB, REPLICATION or BYPASSRLS; init does not strip attributes', ${sqlLiteral(n.user)};
  END IF;
END
$pgha$;
ALTER ROLE ${u} LOGIN;
GRANT pg_monitor TO ${u};
GRANT EXECUTE ON FUNCTION pg_catalog.pg_promote(boolean, integer) TO ${u};
-- PostgreSQL 15+: lets rejoin CHECKPOINT a freshly promoted source so pg_rewind sees its new timeline.
DO $pgha$
BEGIN
  IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pg_checkpoint') THEN
    EXECUTE 'GRANT pg_checkpoint TO ' || ${sqlLiteral(u)};
  END IF;
END
$pgha$;`
}

/**
 * Run against postgres: set the role's password from a psql variable that was \set on stdin
 * before this SQL, so the password is in neither argv, the plan, logs nor the server log.
 */
export function passwordSql(n: HeartbeatNames): string {
  return `SET log_statement = 'none';
SET log_min_duration_statement = -1;
SET password_encryption = 'scram-sha-256';
ALTER ROLE ${sqlIdent(n.user)} PASSWORD :'${PASSWORD_VARIABLE}';`
}

/** Pure: the stdin line that defines the password variable (psql meta-command quoting). */
export function passwordStdinPrefix(password: string): string {
  if (/[\r\n\0]/.test(password)) throw new Error('password contains a line break or NUL')
  return `\\set ${PASSWORD_VARIABLE} '${password.replace(/\\/g, '\\\\').replace(/'/g, "''")}'\n`
}

/** Run against the heartbeat database, in one transaction. */
export function schemaSql(n: HeartbeatNames): string {
  const u = sqlIdent(n.user)
  return `BEGIN;
GRANT CONNECT ON DATABASE ${sqlIdent(n.database)} TO ${u};
-- Function privileges are per database: pg_promote must be granted here, where the heartbeat
-- role connects (the watch loop promotes through that connection), not only in postgres.
GRANT EXECUTE ON FUNCTION pg_catalog.pg_promote(boolean, integer) TO ${u};
-- PostgreSQL 15+: lets the watch loop arm and degrade synchronous replication over its own
-- connection (no psql process on the failure path).
DO $pgha$
BEGIN
  IF pg_catalog.current_setting('server_version_num')::int >= 150000 THEN
    EXECUTE 'GRANT ALTER SYSTEM ON PARAMETER synchronous_standby_names, synchronous_commit TO ' || ${sqlLiteral(u)};
  END IF;
END
$pgha$;
GRANT EXECUTE ON FUNCTION pg_catalog.pg_reload_conf() TO ${u};
CREATE SCHEMA IF NOT EXISTS pgha AUTHORIZATION ${u};
ALTER SCHEMA pgha OWNER TO ${u};
REVOKE ALL ON SCHEMA pgha FROM PUBLIC;

CREATE TABLE IF NOT EXISTS pgha.heartbeat (
  id          integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  last_alive  timestamptz NOT NULL DEFAULT now(),
  rep_lag     bigint,
  written_by  text
);
INSERT INTO pgha.heartbeat (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
-- v2: the standby the primary was synchronous with when it wrote the row (NULL: none).
ALTER TABLE pgha.heartbeat ADD COLUMN IF NOT EXISTS sync_with text;
-- v3: when sync_with last changed (status says "degraded since …"); the function's result is unchanged.
ALTER TABLE pgha.heartbeat ADD COLUMN IF NOT EXISTS sync_since timestamptz;
ALTER TABLE pgha.heartbeat OWNER TO ${u};

CREATE TABLE IF NOT EXISTS pgha.cluster_state (
  id          integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
  paused      boolean NOT NULL DEFAULT false,
  switchover  text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO pgha.cluster_state (id) VALUES (1) ON CONFLICT (id) DO NOTHING;
ALTER TABLE pgha.cluster_state OWNER TO ${u};

CREATE OR REPLACE FUNCTION pgha.forbid_removal() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'pgha: % on %.% is not allowed; pgha keeps exactly one row there', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING HINT = 'UPDATE the row instead';
END
$fn$;
ALTER FUNCTION pgha.forbid_removal() OWNER TO ${u};
DROP TRIGGER IF EXISTS pgha_keep_row ON pgha.heartbeat;
CREATE TRIGGER pgha_keep_row BEFORE DELETE OR TRUNCATE ON pgha.heartbeat
  FOR EACH STATEMENT EXECUTE FUNCTION pgha.forbid_removal();
DROP TRIGGER IF EXISTS pgha_keep_row ON pgha.cluster_state;
CREATE TRIGGER pgha_keep_row BEFORE DELETE OR TRUNCATE ON pgha.cluster_state
  FOR EACH STATEMENT EXECUTE FUNCTION pgha.forbid_removal();

-- Primary: write last_alive = now(), the standby's replay lag and which standby confirms
-- commits synchronously; standby: read the replicated row. The return type changed in v2.
DROP FUNCTION IF EXISTS pgha.heartbeat(text, text);
CREATE FUNCTION pgha.heartbeat(peer_addr text DEFAULT NULL, writer text DEFAULT NULL)
RETURNS TABLE (role text, last_alive timestamptz, age_ms double precision, lag_bytes bigint, written_by text, sync_with text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $fn$
#variable_conflict use_column
DECLARE
  lag bigint;
  sync text;
BEGIN
  IF pg_is_in_recovery() THEN
    RETURN QUERY
      SELECT 'standby'::text, h.last_alive,
             (extract(epoch FROM now() - h.last_alive) * 1000)::double precision,
             h.rep_lag, h.written_by, h.sync_with
        FROM pgha.heartbeat h WHERE h.id = 1;
    RETURN;
  END IF;
  -- The primary's own self-check must not wait for a standby (synchronous replication): this
  -- transaction commits locally. No SET clause for it on the function, so it lasts to COMMIT.
  PERFORM set_config('synchronous_commit', 'local', true);
  SELECT r.application_name INTO sync
    FROM pg_stat_replication r
   WHERE r.sync_state IN ('sync', 'quorum') AND r.state = 'streaming'
   ORDER BY r.application_name
   LIMIT 1;
  SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), COALESCE(r.replay_lsn, r.flush_lsn, r.write_lsn, r.sent_lsn))::bigint
    INTO lag
    FROM pg_stat_replication r
   WHERE peer_addr IS NOT NULL AND host(r.client_addr) = peer_addr
   ORDER BY 1 DESC NULLS LAST
   LIMIT 1;
  IF NOT FOUND THEN
    SELECT max(pg_wal_lsn_diff(pg_current_wal_lsn(), COALESCE(r.replay_lsn, r.flush_lsn, r.write_lsn, r.sent_lsn)))::bigint
      INTO lag
      FROM pg_stat_replication r;
  END IF;
  RETURN QUERY
    INSERT INTO pgha.heartbeat AS h (id, last_alive, rep_lag, written_by, sync_with, sync_since)
    VALUES (1, now(), lag, writer, sync, now())
    ON CONFLICT (id) DO UPDATE
      SET last_alive = EXCLUDED.last_alive, rep_lag = EXCLUDED.rep_lag, written_by = EXCLUDED.written_by, sync_with = EXCLUDED.sync_with,
          sync_since = CASE WHEN h.sync_with IS NOT DISTINCT FROM EXCLUDED.sync_with AND h.sync_since IS NOT NULL
                            THEN h.sync_since ELSE EXCLUDED.sync_since END
    RETURNING 'primary'::text, h.last_alive, 0::double precision, h.rep_lag, h.written_by, h.sync_with;
END
$fn$;
ALTER FUNCTION pgha.heartbeat(text, text) OWNER TO ${u};
REVOKE ALL ON FUNCTION pgha.heartbeat(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pgha.forbid_removal() FROM PUBLIC;
COMMENT ON FUNCTION pgha.heartbeat(text, text) IS ${sqlLiteral(HEARTBEAT_SCHEMA_VERSION)};
COMMIT;`
}
