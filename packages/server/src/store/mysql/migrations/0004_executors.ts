/**
 * As PostgreSQL's `0004_executors`: the executor registry (`executor_nodes`) and the run status
 * `no_executor` (a run waiting for a live node of its executor group; not final).
 *
 * MySQL runs DDL outside transactions, so this migration may be cut short and run again: the table
 * is `IF NOT EXISTS`, and the checks of `runs.status` are replaced in one ALTER TABLE, skipped when
 * `runs_status` exists already. The old status check was declared on the column: MariaDB names it
 * after the column and drops it with the column's definition (MODIFY), MySQL 8 names it
 * `runs_chk_N` and drops it by name; it is found by its text. The new checks are looser than the
 * old, so every existing row satisfies them.
 */
import { sql, type Kysely } from 'kysely';

const RUN_STATUSES = ['pending', 'no_executor', 'dispatched', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'lost'];
/** Statuses of runs not yet final: exactly those without finished_at. */
const ACTIVE_RUN_STATUSES = ['pending', 'no_executor', 'dispatched', 'running'];
const list = (values: readonly string[]): string => values.map((value) => `'${value}'`).join(', ');
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** The check constraints of `runs`, by name, with their text (any table's check of that name on MariaDB). */
async function runChecks(db: Kysely<unknown>): Promise<Map<string, string[]>> {
  const { rows } = await sql<{ name: string; clause: string }>`SELECT tc.CONSTRAINT_NAME AS name, cc.CHECK_CLAUSE AS clause
    FROM information_schema.TABLE_CONSTRAINTS tc JOIN information_schema.CHECK_CONSTRAINTS cc
      ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
    WHERE tc.TABLE_SCHEMA = DATABASE() AND tc.TABLE_NAME = 'runs' AND tc.CONSTRAINT_TYPE = 'CHECK'`.execute(db);
  const checks = new Map<string, string[]>();
  for (const row of rows) checks.set(row.name, [...(checks.get(row.name) ?? []), row.clause]);
  return checks;
}

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql.raw(`CREATE TABLE IF NOT EXISTS executor_nodes (
  id VARCHAR(128) NOT NULL PRIMARY KEY,
  \`group\` VARCHAR(128) NOT NULL,
  mode VARCHAR(8) NOT NULL CHECK (mode IN ('push', 'pull')),
  transport VARCHAR(8) NOT NULL CHECK (transport IN ('http', 'grpc')),
  address VARCHAR(2048), -- where runs are sent in push mode; null in pull mode
  labels MEDIUMTEXT NOT NULL, -- JSON object
  weight INT NOT NULL,
  handlers MEDIUMTEXT NOT NULL, -- JSON array
  version VARCHAR(64) NOT NULL,
  inflight INT NOT NULL,
  started_at BIGINT NOT NULL,
  heartbeat_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  KEY executor_nodes_group (\`group\`, id)
) ${TABLE_OPTIONS}`).execute(db);

  const checks = await runChecks(db);
  if (checks.has('runs_status')) return;
  const old = [...checks].filter(([name, clauses]) => name !== 'runs_final' && clauses.some((clause) => clause.includes("'lost'") && !clause.includes('finished_at')));
  const dropOld = old.map(([name]) => (name === 'status' ? 'MODIFY status VARCHAR(16) NOT NULL' : `DROP CONSTRAINT \`${name}\``));
  const dropFinal = checks.has('runs_final') ? ['DROP CONSTRAINT runs_final'] : [];
  await sql.raw(`ALTER TABLE runs ${[
    ...dropOld, ...dropFinal,
    `ADD CONSTRAINT runs_status CHECK (status IN (${list(RUN_STATUSES)}))`,
    `ADD CONSTRAINT runs_final CHECK ((finished_at IS NULL) = (status IN (${list(ACTIVE_RUN_STATUSES)})))`,
  ].join(',\n  ')}`).execute(db);
}
