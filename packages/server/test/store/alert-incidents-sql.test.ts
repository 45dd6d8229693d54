/**
 * Alert incidents on PostgreSQL and MySQL with two store instances (two processes' pools) on one
 * schema or database: what the conformance suite, which has one store per test, cannot race.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createScratch, type Scratch } from '../../scripts/scratch-sql-store.ts';
import type { AlertChange } from '../../src/store/alert-incidents.ts';
import { T0 } from '../../src/store/conformance/fixtures.ts';
import { createMysqlStore } from '../../src/store/mysql/mysql-store.ts';
import { createPostgresStore } from '../../src/store/postgres/postgres-store.ts';
import type { Store } from '../../src/store/store.ts';
import { MYSQL_URL, POSTGRES_URL } from './sql-test-stores.ts';

const DIALECTS = [
  { name: 'postgres', url: POSTGRES_URL, create: (scratch: Scratch) => createPostgresStore({ url: POSTGRES_URL, schema: scratch.name, poolSize: 3 }) },
  { name: 'mysql', url: MYSQL_URL, create: (scratch: Scratch) => createMysqlStore({ url: scratch.storeUrl, poolSize: 3 }) },
];

function fire(subjectId: string): AlertChange {
  const subject = { kind: 'task' as const, id: subjectId, name: subjectId };
  return {
    kind: 'fire', ruleId: 'rule-1', ruleName: 'fails', on: 'failure', namespace: 'team-a', subject, severity: 'warning', summary: `${subjectId} failed`,
    details: { runId: 'r' }, targets: [{ channelId: 'ch-1' }, { channelId: 'ch-2' }],
    notification: {
      state: 'firing', severity: 'warning', rule: { name: 'fails', on: 'failure' }, subject, namespace: 'team-a', summary: `${subjectId} failed`,
      details: { runId: 'r' }, at: new Date(T0).toISOString(),
    },
  };
}

for (const dialect of DIALECTS) {
  describe(`alert incidents on ${dialect.name}, two stores on one database`, () => {
    let cleanup: (() => Promise<void>) | null = null;
    afterEach(async () => {
      await cleanup?.();
      cleanup = null;
    });

    async function twoStores(): Promise<[Store, Store]> {
      const scratch = await createScratch(dialect.url);
      const stores = [dialect.create(scratch), dialect.create(scratch)] as const;
      cleanup = async () => {
        await Promise.all(stores.map((store) => store.close()));
        await scratch.drop();
      };
      await Promise.all(stores.map((store) => store.open()));
      return [...stores];
    }

    it('opens one incident per pair when both fire it at once, and applies a stretch of the log once', async () => {
      const [a, b] = await twoStores();
      expect(await a.claimAlertEvaluator({ owner: 'node-a', ttlMs: 60_000, initialCursor: 0 })).toMatchObject({ cursor: 0 });
      for (let i = 0; i < 10; i++) {
        const both = await Promise.all([a, b].map((store) => store.applyAlertChanges({ owner: 'node-a', from: 0, to: 0, at: T0 + i, changes: [fire(`task-${i}`)] })));
        expect(both.map((r) => r.applied)).toEqual([true, true]);
        expect(both.flatMap((r) => r.opened), `pair ${i}`).toHaveLength(1);
      }
      const incidents = await b.listUnresolvedIncidents();
      expect(incidents.map((i) => i.subject.id).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `task-${i}`).sort());
      for (const incident of incidents) expect(await a.listIncidentNotifications({ incidentId: incident.id })).toHaveLength(2);

      for (let from = 0; from < 50; from += 5) {
        const both = await Promise.all([a, b].map((store) => store.applyAlertChanges({ owner: 'node-a', from, to: from + 5, at: T0, changes: [] })));
        expect(both.map((r) => r.applied).sort()).toEqual([false, true]);
      }
      expect(await b.claimAlertEvaluator({ owner: 'node-a', ttlMs: 60_000, initialCursor: 0 })).toMatchObject({ cursor: 50 });
    });

    it('gives each due notification to one of two stores claiming at once', async () => {
      const [a, b] = await twoStores();
      await a.claimAlertEvaluator({ owner: 'node-a', ttlMs: 60_000, initialCursor: 0 });
      await a.applyAlertChanges({ owner: 'node-a', from: 0, to: 1, at: T0, changes: Array.from({ length: 20 }, (_, i) => fire(`task-${i}`)) });
      const claimed: string[] = [];
      for (let round = 0; round < 5; round++) {
        const both = await Promise.all([[a, 'a'], [b, 'b']].map(([store, owner]) =>
          (store as Store).claimAlertNotifications({ owner: owner as string, now: T0, ttlMs: 60_000, limit: 5 })));
        claimed.push(...both.flat().map((n) => n.id));
      }
      expect(claimed).toHaveLength(40);
      expect(new Set(claimed).size).toBe(40);
    });
  });
}
