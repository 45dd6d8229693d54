#!/usr/bin/env node
// The ecron command. Node 24 runs the TypeScript sources directly (type stripping).
import { youngGenerationArgs } from '../src/cli/young-generation.ts';

// A server runs with a smaller young generation, which only node's command line sets: run node
// again with it, in this same process (see young-generation.ts), before anything else is loaded.
const nodeArgs = youngGenerationArgs({ argv: process.argv, execArgv: process.execArgv, nodeOptions: process.env.NODE_OPTIONS });
if (nodeArgs.length > 0 && typeof process.execve === 'function') {
  process.execve(process.execPath, [process.execPath, ...nodeArgs, ...process.execArgv, ...process.argv.slice(1)], process.env);
}

const { main } = await import('../src/cli/main.ts');
main(process.argv).catch((error) => {
  process.stderr.write(`ecron: ${error?.message ?? error}\n`);
  process.exitCode = 1;
});
