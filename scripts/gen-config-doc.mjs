#!/usr/bin/env node
// Writes docs/configuration.md from the compiled schema (run `npm run build` first; `npm run docs:config` does both).
import {writeFileSync} from 'node:fs'
import {renderConfigurationDoc} from '../dist/src/lib/config/describe.js'

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc())
console.log('wrote docs/configuration.md')
