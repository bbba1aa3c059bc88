/**
 * examples/node1.yaml pointed at nothing on this machine: the local database's socket dir is
 * empty and the peer is 127.0.0.2, which refuses. Every probe fails at once and for real, so
 * `pgha check lag` answers CRITICAL and `pgha status` prints "unreachable" without waiting.
 */
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export function writeUnreachableConfig(dir: string): string {
  const sock = join(dir, 'sock')
  mkdirSync(sock, {recursive: true})
  writeFileSync(join(dir, 'pgpass'), '', {mode: 0o600})
  // An empty password file is refused (it could never fence): a placeholder the BMC never sees.
  writeFileSync(join(dir, 'fence.password'), 'not-a-real-bmc-password\n', {mode: 0o600})
  const yaml = readFileSync(join(REPO, 'examples', 'node1.yaml'), 'utf8')
    .replace('/etc/pgha/pgpass', join(dir, 'pgpass'))
    .replace('/etc/pgha/fence.password', join(dir, 'fence.password'))
    .replace('socketDir: /var/run/postgresql', `socketDir: ${sock}`)
    .replace('stateDir: /var/lib/pgha', `stateDir: ${dir}`)
    .replace('mode: nfs', 'mode: none')
    .replace('interface: eth0', 'interface: lo')
    .replace('192.0.2.100/24', '127.0.0.100/8')
    .replace('192.0.2.101/24', '127.0.0.101/8')
    .replace('address: 192.0.2.11', 'address: 127.0.0.1')
    .replace('address: 192.0.2.12', 'address: 127.0.0.2')
    .replace('gateway: 192.0.2.1 ', 'gateway: 127.0.0.3 ')
  const path = join(dir, 'pgha.config.yaml')
  writeFileSync(path, yaml)
  return path
}
