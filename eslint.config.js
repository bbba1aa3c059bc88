// ESLint 9 flat config: typescript-eslint's recommended rules, plus import rules that make the
// layers of docs/development.md ("Code layout") a checked rule instead of a convention.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

/** Modules that run processes or open sockets: only src/lib/system/ (and the lab, tests, benches, scripts) may import them. */
const IO_MODULES = [
  'node:child_process',
  'child_process',
  'node:net',
  'net',
  'node:dgram',
  'dgram',
  'node:http',
  'http',
  'node:https',
  'https',
  'execa',
  'pg',
]

/** Node built-ins without the node: prefix, so the pure core cannot dodge `^node:`. */
const BARE_BUILTINS = [
  'fs',
  'fs/promises',
  'path',
  'os',
  'child_process',
  'net',
  'dgram',
  'http',
  'https',
  'process',
  'timers',
  'crypto',
  'stream',
  'url',
  'util',
  'events',
  'worker_threads',
]

/** The pure core: decides and describes, never touches the host. */
const CORE = ['src/lib/core/**/*.ts', 'src/lib/sql/**/*.ts']

const coreImportRule = {
  '@typescript-eslint/no-restricted-imports': [
    'error',
    {
      paths: [...new Set([...IO_MODULES, ...BARE_BUILTINS])].map((name) => ({
        name,
        message: 'the pure core does no I/O: move this to src/lib/system/ (or a probe/step) and pass the data in',
      })),
      patterns: [
        {regex: '^node:', message: 'the pure core imports no node:* module: pass the data in'},
        {
          regex: '(^|/)(system|loop|observe|steps|status|lab|commands)(/|$)',
          message: 'the pure core may not import system/, loop/, observe/, steps/, status/, lab/ or command code',
        },
        {regex: '(^|/)(base-command|check-command|flags)\\.js$', message: 'the pure core may not import command code'},
      ],
    },
  ],
}

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', 'docs/**', 'coverage/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: {...globals.node}, ecmaVersion: 2023, sourceType: 'module'},
    rules: {
      // Unused names are errors, but a leading underscore marks a deliberate one (destructuring to drop a key).
      '@typescript-eslint/no-unused-vars': [
        'error',
        {argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true},
      ],
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
    ignores: ['src/lib/system/**', 'src/lib/lab/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          // A type (pg.Client held by a step) is no I/O; constructing one is.
          paths: IO_MODULES.map((name) => ({
            name,
            allowTypeImports: true,
            message: 'only src/lib/system/ runs processes or opens sockets: add or use a helper there',
          })),
        },
      ],
    },
  },
  // After the block above, so the core's stricter list replaces it for core files.
  {files: CORE, rules: coreImportRule},
  {
    // system/ is the bottom layer: it serves steps, the loop and observation, never the reverse.
    files: ['src/lib/system/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)(steps|loop|observe|status|lab|commands)(/|$)',
              message: 'system/ is the bottom layer: pass what it needs in instead of importing a higher layer',
            },
          ],
        },
      ],
    },
  },
)
