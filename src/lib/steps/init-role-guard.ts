import {UsageError} from '../errors.js'
import {sqlLiteral} from '../system/pgctl.js'
import type {HeartbeatNames} from './init-sql.js'

/**
 * Pure: init must never weaken a role it did not create. If postgres.heartbeat.user names a
 * role with more power than the heartbeat needs, or one that owns objects besides pgha's own
 * (schema pgha and what is in it, the heartbeat database), init refuses instead of running
 * ALTER ROLE … NOSUPERUSER / ALTER SCHEMA … OWNER on it.
 */

/** Attributes the heartbeat role must not have (pg_roles column → SQL keyword). */
const TOO_POWERFUL = [
  ['rolsuper', 'SUPERUSER'],
  ['rolcreaterole', 'CREATEROLE'],
  ['rolcreatedb', 'CREATEDB'],
  ['rolreplication', 'REPLICATION'],
  ['rolbypassrls', 'BYPASSRLS'],
] as const

/** Objects owned by the role (pg_shdepend 'o'), as descriptions; "" when none. */
const ownedList = (where: string) => `(SELECT COALESCE(string_agg(DISTINCT
     CASE WHEN d.dbid IN (0, (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database()))
          THEN pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid)
          ELSE 'an object in database ' || COALESCE((SELECT datname FROM pg_catalog.pg_database WHERE oid = d.dbid), d.dbid::text) END, '; '), '')
   FROM pg_catalog.pg_shdepend d
  WHERE d.refclassid = 'pg_catalog.pg_authid'::regclass AND d.refobjid = r.oid AND d.deptype = 'o' AND ${where})`

/**
 * Run against database postgres. One row when the role exists: the five attributes (t/f), then
 * the hex-encoded list of objects it owns outside the heartbeat database (other databases, or
 * shared objects other than the heartbeat database itself). No row: the role does not exist.
 */
export function roleGuardClusterSql(n: HeartbeatNames): string {
  const hb = `(SELECT oid FROM pg_catalog.pg_database WHERE datname = ${sqlLiteral(n.database)})`
  return `SELECT ${TOO_POWERFUL.map(([c]) => `r.${c}`).join(', ')},
  encode(convert_to(${ownedList(`d.dbid IS DISTINCT FROM ${hb}
    AND NOT (d.dbid = 0 AND d.classid = 'pg_catalog.pg_database'::regclass AND d.objid = ${hb})`)}, 'UTF8'), 'hex')
FROM pg_catalog.pg_roles r WHERE r.rolname = ${sqlLiteral(n.user)};`
}

/** Run against the heartbeat database: hex list of what the role owns there outside schema pgha. */
export function roleGuardDatabaseSql(n: HeartbeatNames): string {
  return `SELECT encode(convert_to(${ownedList(`d.dbid = (SELECT oid FROM pg_catalog.pg_database WHERE datname = pg_catalog.current_database())
    AND NOT EXISTS (SELECT FROM pg_catalog.pg_identify_object(d.classid, d.objid, d.objsubid) o
                     WHERE (o.type = 'schema' AND o.identity = 'pgha') OR o.schema = 'pgha')`)}, 'UTF8'), 'hex')
FROM pg_catalog.pg_roles r WHERE r.rolname = ${sqlLiteral(n.user)};`
}

export interface RoleGuardFacts {
  /** Attribute keywords the role has that the heartbeat role must not (e.g. SUPERUSER). */
  attributes: string[]
  /** Descriptions of objects it owns that are not pgha's. */
  owned: string[]
}

const fromHex = (h: string | undefined) => Buffer.from((h ?? '').trim(), 'hex').toString('utf8')

/** Pure: the guard's rows → facts; undefined when the role does not exist (init creates it). */
export function parseRoleGuard(clusterRow: string[] | undefined, databaseRow: string[] | undefined): RoleGuardFacts | undefined {
  if (!clusterRow) return undefined
  const attributes = TOO_POWERFUL.filter((_, i) => clusterRow[i] === 't').map(([, kw]) => kw)
  const owned = [fromHex(clusterRow[TOO_POWERFUL.length]), fromHex(databaseRow?.[0])].flatMap((s) => s.split('; ')).filter(Boolean)
  return {attributes, owned}
}

/** Pure: the refusal for a role init must not touch, or undefined when it may manage it. */
export function roleGuardRefusal(user: string, facts: RoleGuardFacts | undefined): UsageError | undefined {
  if (!facts || (facts.attributes.length === 0 && facts.owned.length === 0)) return undefined
  const why: string[] = []
  if (facts.attributes.includes('SUPERUSER')) {
    const rest = facts.attributes.filter((a) => a !== 'SUPERUSER')
    why.push(`is a superuser${rest.length ? ` (also ${rest.join(', ')})` : ''}`)
  } else if (facts.attributes.length > 0) {
    why.push(`has ${facts.attributes.join(', ')}`)
  }
  if (facts.owned.length > 0) {
    const shown = facts.owned.slice(0, 3).join('; ') + (facts.owned.length > 3 ? `; and ${facts.owned.length - 3} more` : '')
    why.push(`owns ${facts.owned.length} object${facts.owned.length === 1 ? '' : 's'} besides pgha's (${shown})`)
  }
  return new UsageError(
    `refusing to initialize: postgres.heartbeat.user names role "${user}", which ${why.join(' and ')}; init would have to strip or take over that, so nothing was changed`,
    'set postgres.heartbeat.user to a dedicated role that only pgha uses (e.g. pgha; init creates it)',
  )
}
