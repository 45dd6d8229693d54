import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/core/model.ts';
import { HeldRuns } from '../../src/scheduler/held-runs.ts';

function run(id: string, over: Partial<RunRecord> = {}): RunRecord {
  return { id, taskId: 't1', nodeId: null, workflowRunId: null, ...over } as RunRecord;
}

describe('HeldRuns', () => {
  it('moves a run through its phases, counting it as active in every phase but the queue-one slot', () => {
    const held = new HeldRuns();
    held.hold(run('a'), 'recorded');
    expect(held.activeCount('t1')).toBe(1);
    for (const phase of ['deferred', 'starting', 'sending', 'retrying', 'waiting'] as const) {
      held.hold(run('a'), phase);
      expect(held.phase('a')).toBe(phase);
      expect(held.activeCount('t1')).toBe(1);
    }
    held.hold(run('b'), 'queued');
    expect(held.activeCount('t1')).toBe(1);
    expect(held.queuedOf('t1')?.id).toBe('b');
    expect(held.activeRunIds('t1')).toEqual(['a']);
    held.release('a');
    expect(held.activeCount('t1')).toBe(0);
    held.move('b', 'retrying');
    expect(held.queuedOf('t1')).toBeUndefined();
    expect(held.activeRunIds('t1')).toEqual(['b']);
  });

  it('counts and lists each phase as runs move between phases and are released, oldest hold first', () => {
    const held = new HeldRuns();
    for (const id of ['a', 'b', 'c']) held.hold(run(id), 'throttled');
    held.move('a', 'starting');
    held.hold(run('a'), 'throttled');
    expect(held.count('throttled')).toBe(3);
    expect(held.inPhase('throttled').map((h) => h.run.id)).toEqual(['b', 'c', 'a']);
    held.move('b', 'sending');
    held.release('c');
    expect(held.count('throttled')).toBe(1);
    expect(held.count('sending')).toBe(1);
    expect(held.count('starting')).toBe(0);
    expect(held.inPhase('sending').map((h) => h.run.id)).toEqual(['b']);
    held.clear();
    expect(held.count('throttled')).toBe(0);
    expect(held.inPhase('sending')).toEqual([]);
  });

  it("counts a workflow node's run against its node and never a workflow run itself; keeps the task of recorded runs", () => {
    const held = new HeldRuns();
    const task = { id: 't1' } as never;
    held.hold(run('w', { workflowRunId: 'w' }), 'recorded', task);
    held.hold(run('n', { workflowRunId: 'w', nodeId: 'extract' }), 'sending');
    expect(held.activeCount('t1')).toBe(0);
    expect(held.activeCount('t1/extract')).toBe(1);
    expect(held.get('w')?.task).toBe(task);
    expect(held.inPhase('recorded').map((h) => h.run.id)).toEqual(['w']);
    expect(held.count('sending')).toBe(1);
    held.clear();
    expect(held.get('n')).toBeUndefined();
    expect(held.activeCount('t1/extract')).toBe(0);
  });
});
