#!/usr/bin/env node
// node-postgres asks "are we in a Cloudflare Worker?" when it loads: without a `navigator`
// (Node 20 has none; 21+ defines one) it builds a fetch Response, which loads undici, about
// 30 ms of every `pgha check` start. Define what Node 21+ defines, so the question is cheap.
globalThis.navigator ??= {userAgent: `Node.js/${process.versions.node.split('.')[0]}`}

// oclif and the commands are bundled (dist/bundle, see scripts/bundle-commands.mjs); the
// command list comes from oclif.manifest.json.
const {execute} = await import('../dist/bundle/cli.js')

await execute({dir: import.meta.url})
