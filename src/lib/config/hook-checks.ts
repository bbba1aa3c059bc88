/** Read-only check of each hook's program: an absolute path to an existing regular file with an execute bit. */
import {statSync, type Stats} from 'node:fs'
import type {Config} from './schema.js'

/** The stat of a path, or why it has none (ENOENT: missing; anything else: not checkable by this user). */
function look(path: string): Stats | NodeJS.ErrnoException {
  try {
    return statSync(path)
  } catch (error) {
    return error as NodeJS.ErrnoException
  }
}

/** One line per hook whose program `pgha watch` could not run, naming hooks[N].run[0] and the fix. */
export function hookProgramProblems(c: Pick<Config, 'hooks'>): string[] {
  const p: string[] = []
  c.hooks.forEach((hook, n) => {
    const key = `hooks[${n}].run[0]`
    const program = hook.run[0]
    if (!program.startsWith('/')) return // the schema already reported it as not absolute
    const st = look(program)
    if (st instanceof Error) {
      if (st.code === 'ENOENT' || st.code === 'ENOTDIR')
        p.push(`${key}: ${program} does not exist; install the hook program there or fix the path`)
      else p.push(`${key}: ${program} cannot be checked (${st.code ?? st.message}); make it readable by the user running pgha`)
      return
    }
    if (st.isDirectory()) return void p.push(`${key}: ${program} is a directory; point it at the hook program inside it`)
    if (!st.isFile()) return void p.push(`${key}: ${program} is not a regular file; point it at the hook program`)
    const mode = st.mode & 0o777
    if ((mode & 0o111) === 0) p.push(`${key}: ${program} is not executable (mode ${mode.toString(8)}); run chmod 755 ${program}`)
  })
  return p
}
