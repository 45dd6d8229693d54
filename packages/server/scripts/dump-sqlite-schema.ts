/**
 * Writes packages/server/src/store/sqlite/schema.sql from the migrations. With `--check`, writes
 * nothing and exits 1 when the committed file is stale.
 *
 *   node packages/server/scripts/dump-sqlite-schema.ts [--check]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dumpSqliteSchema } from '../src/store/sqlite/schema-dump.ts';

const target = fileURLToPath(new URL('../src/store/sqlite/schema.sql', import.meta.url));
const schema = await dumpSqliteSchema();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // A missing file is stale.
  }
  if (current !== schema) {
    console.error(`${target} is stale: run node packages/server/scripts/dump-sqlite-schema.ts`);
    process.exit(1);
  }
  console.log(`${target} is current`);
} else {
  writeFileSync(target, schema);
  console.log(`wrote ${target}`);
}
