/** `silencedBy` (alerts/silences.ts): which silence covers an incident, by namespace, window, rules and scope. Pure. */
import { describe, expect, it } from 'vitest';
import { silenceCovers, silencedBy, type SilenceQuery } from '../../src/alerts/silences.ts';
import type { AlertSilenceRecord } from '../../src/store/alert-silences.ts';

const T0 = Date.parse('2026-03-01T02:00:00Z');
const HOUR = 3_600_000;

function silence(overrides: Partial<AlertSilenceRecord> = {}): AlertSilenceRecord {
  return {
    id: 's-1', namespace: 'billing', scope: { namespace: 'billing' }, ruleIds: null, startsAt: T0, endsAt: T0 + HOUR, comment: 'upgrade',
    createdBy: 'token:t', createdAt: T0, updatedAt: T0, ...overrides,
  };
}

const nightly = { id: 'task-1', kind: 'task' as const, labels: { team: 'data', tier: 'gold' } };
const etl = { id: 'flow-1', kind: 'workflow' as const, labels: { team: 'data' } };

function query(overrides: Partial<SilenceQuery> = {}): SilenceQuery {
  return { ruleId: 'rule-1', namespace: 'billing', subject: { kind: 'task', id: nightly.id }, task: nightly, at: T0 + 1, ...overrides };
}

describe('silencedBy', () => {
  it('covers [startsAt, endsAt): from the start included to the end excluded', () => {
    const s = silence();
    expect(silencedBy([s], query({ at: T0 - 1 }))).toBeNull();
    expect(silencedBy([s], query({ at: T0 }))).toBe(s);
    expect(silencedBy([s], query({ at: T0 + HOUR - 1 }))).toBe(s);
    expect(silencedBy([s], query({ at: T0 + HOUR }))).toBeNull();
    // Ended before it started (expired while pending): never in force.
    expect(silencedBy([silence({ endsAt: T0 })], query({ at: T0 }))).toBeNull();
  });

  it('covers only its own namespace', () => {
    expect(silencedBy([silence()], query({ namespace: 'other' }))).toBeNull();
    expect(silencedBy([silence({ namespace: 'other', scope: { namespace: 'other' } })], query())).toBeNull();
    expect(silencedBy([silence({ namespace: 'other', scope: { taskId: nightly.id } })], query())).toBeNull();
  });

  it('covers every rule without ruleIds, else only those it names', () => {
    expect(silencedBy([silence({ ruleIds: ['rule-2', 'rule-1'] })], query())).not.toBeNull();
    expect(silencedBy([silence({ ruleIds: ['rule-2'] })], query())).toBeNull();
    expect(silencedBy([silence({ ruleIds: null })], query({ ruleId: 'any' }))).not.toBeNull();
  });

  it('a namespace scope covers every subject of the namespace: tasks, workflows, executor groups, nodes', () => {
    const s = silence();
    for (const q of [
      query(), query({ subject: { kind: 'workflow', id: etl.id }, task: etl }),
      query({ subject: { kind: 'group', id: 'gpu' }, task: null }), query({ subject: { kind: 'node', id: 'node-a' } }),
      query({ subject: { kind: 'namespace', id: 'billing' }, task: null }),
    ]) expect(silencedBy([s], q), JSON.stringify(q.subject)).toBe(s);
  });

  it('a task or workflow scope covers that subject only, as the subject or as the task behind it', () => {
    const task = silence({ scope: { taskId: nightly.id } });
    expect(silencedBy([task], query())).toBe(task);
    expect(silencedBy([task], query({ task: null }))).toBe(task);
    expect(silencedBy([task], query({ subject: { kind: 'task', id: 'task-2' }, task: { ...nightly, id: 'task-2' } }))).toBeNull();
    // A workflow with the same id is not the task.
    expect(silencedBy([task], query({ subject: { kind: 'workflow', id: nightly.id }, task: { ...etl, id: nightly.id } }))).toBeNull();
    expect(silencedBy([task], query({ subject: { kind: 'group', id: 'gpu' }, task: null }))).toBeNull();

    const flow = silence({ scope: { workflowId: etl.id } });
    expect(silencedBy([flow], query({ subject: { kind: 'workflow', id: etl.id }, task: etl }))).toBe(flow);
    expect(silencedBy([flow], query())).toBeNull();
  });

  it('a labels scope covers a task or workflow whose labels hold every pair, and nothing without labels', () => {
    const gold = silence({ scope: { labels: { team: 'data', tier: 'gold' } } });
    const data = silence({ scope: { labels: { team: 'data' } } });
    expect(silencedBy([gold], query())).toBe(gold);
    expect(silencedBy([gold], query({ subject: { kind: 'workflow', id: etl.id }, task: etl }))).toBeNull();
    expect(silencedBy([data], query({ subject: { kind: 'workflow', id: etl.id }, task: etl }))).toBe(data);
    expect(silencedBy([silence({ scope: { labels: { team: 'Data' } } })], query())).toBeNull();
    expect(silencedBy([data], query({ subject: { kind: 'group', id: 'gpu' }, task: null }))).toBeNull();
    expect(silencedBy([data], query({ subject: { kind: 'node', id: 'node-a' }, task: undefined }))).toBeNull();
  });

  it('answers the first silence, in the given order, that covers it, and null for none', () => {
    const other = silence({ id: 's-0', scope: { taskId: 'task-9' } });
    const a = silence({ id: 's-a', scope: { labels: { team: 'data' } } });
    const b = silence({ id: 's-b' });
    expect(silencedBy([other, a, b], query())).toBe(a);
    expect(silencedBy([other, b, a], query())).toBe(b);
    expect(silencedBy([], query())).toBeNull();
    expect(silenceCovers(other, query())).toBe(false);
  });
});
