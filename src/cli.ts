// The CLI's entry for bin/run.js: oclif's execute, bundled with the commands (scripts/bundle-commands.mjs),
// so a start loads a few files instead of the hundreds @oclif/core is made of.
export {execute} from '@oclif/core/execute'
