#!/usr/bin/env node
// The subpath loads less than '@oclif/core' (see base-command.ts); commands come from oclif.manifest.json.
import {execute} from '@oclif/core/execute'

await execute({dir: import.meta.url})
