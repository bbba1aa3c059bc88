// Bundles every compiled command (dist/src/commands/**) with the code and npm packages it
// imports into dist/bundle/commands/, which oclif loads (package.json oclif.commands). Why: Node resolves
// and reads each of the ~600 module files `pgha check lag` would otherwise load one by one;
// bundled, a start reads a few files. @oclif/core stays outside (one copy, shared with bin/run.js).
// Code shared by several commands goes into chunks (splitting), so each command loads only
// what it imports. Usage: node scripts/bundle-commands.mjs (npm run build runs it).
import {build} from 'esbuild'
import {readdirSync, rmSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'

const root = new URL('..', import.meta.url).pathname
const from = join(root, 'dist/src/commands')
const out = join(root, 'dist/bundle')

const entries = (dir) =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    if (statSync(p).isDirectory()) return entries(p)
    return f.endsWith('.js') ? [p] : []
  })

rmSync(out, {recursive: true, force: true})
const result = await build({
  entryPoints: [
    ...entries(from).map((p) => ({in: p, out: 'commands/' + relative(from, p).replace(/\.js$/, '')})),
    {in: join(root, 'dist/src/cli.js'), out: 'cli'},
  ],
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Outside commands/: oclif takes every file there for a command.
  chunkNames: 'chunks/[name]-[hash]',
  // Required lazily and never on our paths (cosmiconfig's TypeScript loader, editor helpers).
  external: ['typescript', 'pg-native', 'pg-cloudflare'],
  // CommonJS packages bundled into ESM still call require() for Node built-ins.
  banner: {js: "import {createRequire as __pghaRequire} from 'node:module'; const require = __pghaRequire(import.meta.url);"},
  logLevel: 'warning',
  metafile: true,
})
const files = Object.keys(result.metafile.outputs)
process.stdout.write(`bundled ${entries(from).length} commands into ${relative(root, out)}/ (${files.length} files)\n`)
