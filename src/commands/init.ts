import {Flags} from '@oclif/core'
import {existsSync, readFileSync, statSync} from 'node:fs'
import {BaseCommand} from '../base-command.js'
import {UsageError} from '../lib/errors.js'
import {ensureInit} from '../lib/steps/init.js'
import {registerSecret} from '../lib/system/redact.js'

export default class Init extends BaseCommand<typeof Init> {
  static override summary = 'Create the heartbeat database, role, guarded tables and heartbeat function (run on the primary).'
  static override description = [
    'Idempotent: checks first and changes nothing when all is in place. The role is not a superuser:',
    'it gets pg_monitor, EXECUTE on pg_promote and owns schema pgha. --password-file sets its password',
    "(sent on psql's stdin; never in argv, logs or --dry-run output); otherwise manage it yourself.",
  ].join(' ')
  static override examples = [
    '<%= config.bin %> init',
    '<%= config.bin %> init --password-file /etc/pgha/heartbeat.password',
    '<%= config.bin %> init --dry-run',
  ]
  static override flags = {
    'password-file': Flags.string({summary: "File (mode 600) whose first line is the heartbeat role's password."}),
  }

  async run() {
    const cfg = await this.pghaConfig()
    const password = this.flags['password-file'] ? readPasswordFile(this.flags['password-file']) : undefined
    const outcome = await ensureInit(this.system, cfg, {password})
    this.render(outcome)
    return this.envelope(outcome)
  }
}

function readPasswordFile(path: string): string {
  if (!existsSync(path))
    throw new UsageError(`--password-file ${path} does not exist`, 'create it with the password on the first line, mode 600')
  const mode = statSync(path).mode & 0o777
  if (mode & 0o077)
    throw new UsageError(`--password-file ${path} is readable by group or others (mode ${mode.toString(8)})`, `run chmod 600 ${path}`)
  const password = readFileSync(path, 'utf8').split(/\r?\n/)[0]
  if (!password) throw new UsageError(`--password-file ${path} is empty`, 'put the password on its first line')
  registerSecret(password)
  return password
}
