/**
 * The storage conformance suite: every Store implementation runs it through a three-line test
 * file. It speaks only the `Store` interface. A change to the port lands with a test here, never
 * with an adapter-only test.
 */
import { describe } from 'vitest';
import { describeAlertConfig } from './alerts-config.ts';
import { describeAlertIncidents } from './alert-incidents.ts';
import { describeAlertSilences } from './alert-silences.ts';
import { describeAttempts } from './attempts.ts';
import { describeBackfills } from './backfills.ts';
import { describeCluster } from './cluster.ts';
import { describeEvents } from './events.ts';
import { describeEventSubscriptions } from './event-subscriptions.ts';
import { describeExecutors } from './executors.ts';
import { describeExecutorGroups } from './executor-groups.ts';
import { describeFires } from './fires.ts';
import { useStore, type StoreFactory } from './fixtures.ts';
import { describeInstants } from './instants.ts';
import { describeListing } from './listing.ts';
import { describeNamespaces } from './namespaces.ts';
import { describeQuotas } from './quotas.ts';
import { describeReportsAndLogs } from './reports-logs.ts';
import { describeRunSubtasks } from './run-subtasks.ts';
import { describeRetention } from './retention.ts';
import { describeSessions } from './sessions.ts';
import { describeTaskBatch } from './task-batch.ts';
import { describeTaskBulk } from './task-bulk.ts';
import { describeTasks } from './tasks.ts';
import { describeTokensAndAudit } from './tokens-audit.ts';
import { describeWorkflows } from './workflows.ts';

export type { StoreFactory };

/** Registers the suite; `factory` returns a fresh, isolated store (opened by the suite) per test. */
export function exerciseStore(name: string, factory: StoreFactory): void {
  describe(`store conformance: ${name}`, () => {
    const ctx = useStore(factory);
    describeTasks(ctx);
    describeTaskBatch(ctx);
    describeTaskBulk(ctx);
    describeListing(ctx);
    describeFires(ctx);
    describeAttempts(ctx);
    describeReportsAndLogs(ctx);
    describeTokensAndAudit(ctx);
    describeInstants(ctx);
    describeRetention(ctx);
    describeCluster(ctx);
    describeExecutors(ctx);
    describeExecutorGroups(ctx);
    describeWorkflows(ctx);
    describeBackfills(ctx);
    describeNamespaces(ctx);
    describeQuotas(ctx);
    describeSessions(ctx);
    describeEvents(ctx);
    describeEventSubscriptions(ctx);
    describeAlertIncidents(ctx);
    describeAlertConfig(ctx);
    describeAlertSilences(ctx);
    describeRunSubtasks(ctx);
  });
}
