#!/usr/bin/env node
// The ecron command. Node 24 runs the TypeScript sources directly (type stripping).
import { main } from '../src/cli/main.ts';

main(process.argv).catch((error) => {
  process.stderr.write(`ecron: ${error?.message ?? error}\n`);
  process.exitCode = 1;
});
