/**
 * Writes a committed schema dump, or with `--check` on the command line writes nothing and exits 1
 * when the committed file differs: shared by the dump scripts of every store.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** `target` gets `schema`; `regenerate` is the command to tell when the file is stale. */
export function writeOrCheckSchemaDump(target: string, schema: string, regenerate: string): void {
  if (!process.argv.includes('--check')) {
    writeFileSync(target, schema);
    console.log(`wrote ${target}`);
    return;
  }
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // A missing file is stale.
  }
  if (current !== schema) {
    console.error(`${target} is stale: run ${regenerate}`);
    process.exit(1);
  }
  console.log(`${target} is current`);
}
