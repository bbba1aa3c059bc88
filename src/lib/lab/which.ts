import {accessSync, constants} from 'node:fs'
import {join} from 'node:path'

/** Is `command` an executable on PATH (or in the sbin directories root uses)? No process spawned. */
export function hasCommandOnPath(command: string, path = process.env.PATH ?? ''): boolean {
  const dirs = [...path.split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean)
  return dirs.some((d) => {
    try {
      accessSync(join(d, command), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}
