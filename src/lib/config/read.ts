/**
 * Reads one config file and parses it (JSON for *.json, YAML otherwise), turning every way it
 * can go wrong into one ConfigError that says which: missing, a directory, unreadable, empty,
 * or a syntax error with its line, column and the parser's reason.
 */
import {readFileSync, statSync} from 'node:fs'
import {extname} from 'node:path'
import {parseDocument} from 'yaml'
import {ConfigError} from '../errors.js'

const HINT_PATH = 'pass --config with the right path, or set PGHA_CONFIG'

/** Line and column (both from 1) of a character offset in text. */
function lineColumn(text: string, offset: number): {line: number; col: number} {
  const before = text.slice(0, Math.max(0, offset))
  const line = before.split('\n').length
  return {line, col: offset - before.lastIndexOf('\n')}
}

/** Pure: parse config text; throws ConfigError naming line, column and reason. Returns undefined when there is no content. */
function parseConfigText(text: string, filepath: string): unknown {
  if (extname(filepath) === '.json') {
    if (text.trim() === '') return undefined
    try {
      return JSON.parse(text)
    } catch (error) {
      // V8 quotes a slice of the file after "is not valid JSON"; the position is enough.
      const reason = (error as Error).message.replace(/\s+in JSON at position \d+.*$/s, '').replace(/, ".*" is not valid JSON$/s, '')
      const pos = /position (\d+)/.exec((error as Error).message)
      const where = pos ? lineColumn(text, Number(pos[1])) : lineColumn(text, text.length)
      throw new ConfigError(
        `cannot parse config ${filepath}: line ${where.line}, column ${where.col}: ${reason}`,
        [],
        'fix the JSON syntax at that place',
      )
    }
  }
  const doc = parseDocument(text, {prettyErrors: false, uniqueKeys: true})
  const err = doc.errors[0]
  if (err) {
    const pos = err.linePos?.[0] ?? lineColumn(text, err.pos[0])
    const reason = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')
    throw new ConfigError(
      `cannot parse config ${filepath}: line ${pos.line}, column ${pos.col}: ${reason}`,
      [],
      'fix the YAML syntax at that place',
    )
  }
  const value = doc.toJS()
  return value === null || value === undefined ? undefined : value
}

/** Pure: the ConfigError for a failed stat/read, by errno code. */
export function readError(filepath: string, code: string): ConfigError {
  if (code === 'ENOENT') return new ConfigError(`config file ${filepath} does not exist`, [], HINT_PATH)
  if (code === 'ENOTDIR') return new ConfigError(`config file ${filepath} does not exist (a parent of it is a file)`, [], HINT_PATH)
  if (code === 'EACCES' || code === 'EPERM')
    return new ConfigError(
      `config ${filepath} cannot be read: permission denied`,
      [],
      'run pgha as a user who may read it (often root), or fix its owner/mode',
    )
  if (code === 'EISDIR') return new ConfigError(`config ${filepath} is a directory, not a file`, [], HINT_PATH)
  return new ConfigError(`config ${filepath} cannot be read: ${code}`, [], HINT_PATH)
}

/** Read + parse a config file the user named (or the search found). */
export function readConfigFile(filepath: string): unknown {
  let text: string
  try {
    const st = statSync(filepath)
    if (st.isDirectory())
      throw new ConfigError(
        `config ${filepath} is a directory, not a file`,
        [],
        `${HINT_PATH} (e.g. ${filepath.replace(/\/+$/, '')}/pgha.config.yaml)`,
      )
    if (!st.isFile()) throw new ConfigError(`config ${filepath} is not a regular file`, [], HINT_PATH)
    text = readFileSync(filepath, 'utf8')
  } catch (error) {
    if (error instanceof ConfigError) throw error
    throw readError(filepath, (error as NodeJS.ErrnoException).code ?? (error as Error).message)
  }
  const value = parseConfigText(text, filepath)
  if (value === undefined)
    throw new ConfigError(
      `config ${filepath} is empty (no keys, only comments or blank lines)`,
      [],
      'see examples/node1.yaml for the layout',
    )
  return value
}
