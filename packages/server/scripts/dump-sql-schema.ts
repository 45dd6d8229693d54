/**
 * Writes the committed schema dump of a SQL store (postgres/schema.sql or mysql/schema.sql) from
 * its migrations, applied to a scratch schema or database on a running server. With `--check`,
 * writes nothing and exits 1 when the committed file is stale.
 *
 *   node packages/server/scripts/dump-sql-schema.ts postgres [URL] [--check]
 *   node packages/server/scripts/dump-sql-schema.ts mysql [URL] [--check]
 *
 * URL defaults to the test servers: postgres://postgres@127.0.0.1:5432/test and
 * mysql://root@127.0.0.1:3306/test.
 */
import { fileURLToPath } from 'node:url';
import { dumpMysqlSchema } from '../src/store/mysql/schema-dump.ts';
import { dumpPostgresSchema } from '../src/store/postgres/schema-dump.ts';
import { writeOrCheckSchemaDump } from './schema-dump-file.ts';

const DIALECTS: Record<string, { defaultUrl: string; dump: (url: string) => Promise<string> }> = {
  postgres: { defaultUrl: 'postgres://postgres@127.0.0.1:5432/test', dump: dumpPostgresSchema },
  mysql: { defaultUrl: 'mysql://root@127.0.0.1:3306/test', dump: dumpMysqlSchema },
};

const args = process.argv.slice(2).filter((arg) => arg !== '--check');
const dialect = DIALECTS[args[0] ?? ''];
if (dialect === undefined) {
  console.error(`usage: dump-sql-schema.ts ${Object.keys(DIALECTS).join('|')} [URL] [--check]`);
  process.exit(2);
}
const target = fileURLToPath(new URL(`../src/store/${args[0]}/schema.sql`, import.meta.url));
writeOrCheckSchemaDump(target, await dialect.dump(args[1] ?? dialect.defaultUrl), `node packages/server/scripts/dump-sql-schema.ts ${args[0]}`);
