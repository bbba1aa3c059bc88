// ESLint 9 flat config: typescript-eslint's recommended rules, plus import rules that make the
// layers of docs/development.md ("Code layout") a checked rule instead of a convention.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** Modules that run processes or open sockets: only src/lib/system/ (and the lab, tests, benches, scripts) may import them. */
const IO_MODULES = ['node:child_process', 'child_process', 'node:net', 'net', 'node:dgram', 'dgram', 'node:http', 'http', 'node:https', 'https', 'execa', 'pg']

/** Node built-ins without the node: prefix, so the pure core cannot dodge `^node:`. */
const BARE_BUILTINS = ['fs', 'fs/promises', 'path', 'os', 'child_process', 'net', 'dgram', 'http', 'https', 'process', 'timers', 'crypto', 'stream', 'url', 'util', 'events', 'worker_threads']

/** The pure core: decides and describes, never touches the host. */
const CORE_TARGET = ['src/lib/core/**/*.ts']
// Until the folders move, the same files live in src/lib/ha/.
const CORE_TODAY = ['decide', 'transitions', 'facts', 'types', 'fsm-render', 'runbook', 'runbook-doc'].map((f) => `src/lib/ha/${f}.ts`)

const coreImportRule = {
  '@typescript-eslint/no-restricted-imports': ['error', {
    paths: [...new Set([...IO_MODULES, ...BARE_BUILTINS])].map((name) => ({name, message: 'the pure core does no I/O: move this to src/lib/system/ (or a probe/step) and pass the data in'})),
    patterns: [
      {regex: '^node:', message: 'the pure core imports no node:* module: pass the data in'},
      {regex: '(^|/)(system|loop|observe|steps|status)(/|$)', message: 'the pure core may not import system/, loop/, observe/, steps/ or status/ code'},
      // Today's loop, probe and status files in src/lib/ha/ (the same rule before the move).
      {regex: '^\\./(loop|actions|watchdog|state|watch-state|observe|observe-probes|observe-flags|pg-probe|arp-monitor|probe-exec|status-view|node-facts|nagios|check-command)\\.js$',
        message: 'the pure core may not import the loop, the probes or the status code'},
    ],
  }],
}

// Files outside system/ that still run processes or open sockets today; they move into
// system/ or get a system/ helper when the folders are restructured. Do not add to this list.
const IO_OUTSIDE_SYSTEM_TODAY = [
  'src/lib/ha/observe-probes.ts', 'src/lib/ha/pg-probe.ts', 'src/lib/ha/probe-exec.ts', 'src/lib/ha/arp-monitor.ts',
  'src/lib/steps/switchover.ts', 'src/lib/steps/switchover-probe.ts',
]

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'docs/**', 'coverage/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: {...globals.node}, ecmaVersion: 2023, sourceType: 'module'},
    rules: {
      // Unused names are errors, but a leading underscore marks a deliberate one (destructuring to drop a key).
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true}],
      // `catch {}` is how best-effort clean-up says "already gone is fine"; other empty blocks stay errors.
      'no-empty': ['error', {allowEmptyCatch: true}],
      // Tests and clean-ups declare a handle before the closure that releases it, and assign it once later.
      'prefer-const': ['error', {ignoreReadBeforeAssign: true}],
    },
  },
  {
    files: ['test/**/*.ts'],
    // Tests parse the CLI's --json output and poke at it; typing every envelope there is noise.
    rules: {'@typescript-eslint/no-explicit-any': 'off'},
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/lib/system/**', 'src/lib/lab/**', ...IO_OUTSIDE_SYSTEM_TODAY],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        paths: IO_MODULES.map((name) => ({name, message: 'only src/lib/system/ runs processes or opens sockets: add or use a helper there'})),
      }],
    },
  },
  // After the block above, so the core's stricter list replaces it for core files.
  {files: [...CORE_TARGET, ...CORE_TODAY], rules: coreImportRule},
)
