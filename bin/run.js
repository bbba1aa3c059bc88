#!/usr/bin/env node
// node-postgres asks "are we in a Cloudflare Worker?" when it loads: without a `navigator`
// (Node 20 has none; 21+ defines one) it builds a fetch Response, which loads undici, about
// 30 ms of every `pgha check` start. Define what Node 21+ defines, so the question is cheap.
globalThis.navigator ??= {userAgent: `Node.js/${process.versions.node.split('.')[0]}`}

// The subpath loads less than '@oclif/core' (see base-command.ts); commands come from oclif.manifest.json.
const {execute} = await import('@oclif/core/execute')

await execute({dir: import.meta.url})
