/**
 * Writes packages/server/src/store/sqlite/schema.sql from the migrations. With `--check`, writes
 * nothing and exits 1 when the committed file is stale.
 *
 *   node packages/server/scripts/dump-sqlite-schema.ts [--check]
 */
import { fileURLToPath } from 'node:url';
import { dumpSqliteSchema } from '../src/store/sqlite/schema-dump.ts';
import { writeOrCheckSchemaDump } from './schema-dump-file.ts';

const target = fileURLToPath(new URL('../src/store/sqlite/schema.sql', import.meta.url));
writeOrCheckSchemaDump(target, await dumpSqliteSchema(), 'node packages/server/scripts/dump-sqlite-schema.ts');
