/**
 * `ecron task backfill`, `ecron workflow backfill` and `ecron backfill get|list|cancel` against the
 * real REST API (buildApp over SQLite and the real scheduler) on a local port; runs post to the
 * harness's real HTTP executor. The harness's server runs on a manual clock (2026-01-01T00:00Z at
 * the start): ranges are taken before its now, and while an `ecron … --wait` runs the clock is moved
 * on, since the backfill runner steps on it. Waits are generous; nothing here measures speed.
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { run as runInProcess } from '../../src/cli/main.ts';
import type { CliIo } from '../../src/cli/context.ts';
import { closedPort, runCli, useApiForCli, type CliResult } from './cli-harness.ts';

const api = useApiForCli();
const { ecron } = api;

type Json = Record<string, any>;
const MINUTE = 60_000;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const iso = (ms: number): string => new Date(ms).toISOString();
/** An instant as the CLI prints it (no `.000`). */
const shown = (ms: number): string => iso(ms).replace(/\.000Z$/, 'Z');

/**
 * Runs `work` while the server's manual clock moves on 250 ms every 10 ms of real time (the
 * backfill runner takes a step every 250 ms of that clock), until `work` settles.
 */
async function ticking<T>(work: Promise<T>): Promise<T> {
  let settled = false;
  const pump = (async () => {
    while (!settled) {
      await api.h.clock.advance(250);
      await delay(10);
    }
  })();
  try {
    return await work;
  } finally {
    settled = true;
    await pump;
  }
}

/** An `ecron` process run while the clock ticks (for `--wait`), with a generous time limit. */
function ecronTicking(args: string[]): Promise<CliResult> {
  const server = `http://127.0.0.1:${(api.h.app.server.address() as AddressInfo).port}`;
  return ticking(runCli([...args, '--server', server, '--token', api.h.admin], { timeoutMs: 60_000 }));
}

/**
 * A task in namespace `bf` on the test executor's `path`, paused (so that only backfills fire it);
 * the clock then moves `minutes` on, so that there is a past to backfill.
 */
async function pausedTask(name: string, schedule: Record<string, unknown>, path = '/ok', minutes = 10): Promise<Json> {
  const task = await api.h.createTask({ namespace: 'bf', name, schedule, target: { type: 'http', url: `${api.h.executorUrl}${path}` } });
  expect((await api.h.call('POST', `/api/v1/tasks/${task.id}/pause`)).statusCode).toBe(200);
  await api.h.clock.advance(minutes * MINUTE);
  return task;
}

/** The last `n` whole minutes before the server's now. */
function lastMinutes(n: number): { from: number; to: number; instants: number[] } {
  const minute = Math.floor(api.h.clock.now() / MINUTE) * MINUTE;
  const instants = Array.from({ length: n }, (_, i) => minute - (n - i) * MINUTE);
  return { from: instants[0]!, to: instants.at(-1)!, instants };
}

/** The scheduledAt of each run the executor received for `taskId`, in order of time. */
function received(taskId: string): number[] {
  return api.h.executor.runs().filter((r) => r.body.taskId === taskId).map((r) => Date.parse(r.body.scheduledAt)).sort((a, b) => a - b);
}

function idOf(stdout: string): string {
  const match = new RegExp(`^backfill (${UUID}) of `).exec(stdout);
  if (!match) throw new Error(`no backfill id in:\n${stdout}`);
  return match[1]!;
}

describe('ecron task backfill', () => {
  let minutely: Json;
  let firstId = '';
  let secondId = '';
  let range: ReturnType<typeof lastMinutes>;

  it('backfills the last 5 minutes with --wait: progress lines on stderr, one run per instant with that scheduledAt, exit 0', async () => {
    minutely = await pausedTask('minutely', { cron: '* * * * *' });
    range = lastMinutes(5);
    const result = await ecronTicking(['task', 'backfill', 'bf/minutely', '--from', iso(range.from), '--to', iso(range.to), '--wait']);
    expect(result.code).toBe(0);
    firstId = idOf(result.stdout);
    expect(result.stdout).toBe(`backfill ${firstId} of task bf/minutely: 5 fires from ${shown(range.from)} to ${shown(range.to)} (concurrency 1)\n`
      + `backfill ${firstId} succeeded: 5 created, 0 skipped of 5\n`);
    // stderr is not a terminal here: a plain line each time the numbers change, the last one the end.
    const lines = result.stderr.trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(new RegExp(`^backfill ${firstId}: [0-5] created, 0 skipped of 5 \\((running|succeeded)\\)$`));
    expect(new Set(lines).size).toBe(lines.length);
    expect(lines.at(-1)).toBe(`backfill ${firstId}: 5 created, 0 skipped of 5 (succeeded)`);

    expect(received(minutely.id)).toEqual(range.instants);
    const runs = (await api.h.call('GET', `/api/v1/runs?taskId=${minutely.id}`)).json().items as Json[];
    expect(runs.map((r) => [Date.parse(r.scheduledAt), r.trigger, r.status]).sort()).toEqual(range.instants.map((at) => [at, 'schedule', 'succeeded']).sort());
  });

  it('a second backfill of the same range creates nothing and skips every instant (--wait --json prints the ended backfill only)', async () => {
    const result = await ecronTicking(['task', 'backfill', minutely.id, '--from', iso(range.from), '--to', iso(range.to), '--concurrency', '3', '--wait', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const ended = JSON.parse(result.stdout);
    expect(ended).toMatchObject({ taskId: minutely.id, status: 'succeeded', total: 5, created: 0, skipped: 5, concurrency: 3, from: iso(range.from), to: iso(range.to) });
    secondId = ended.id;
    expect(received(minutely.id)).toEqual(range.instants);
  });

  it('shows a backfill, lists a task\'s backfills newest first, and refuses to cancel a finished one (BACKFILL_FINISHED)', async () => {
    const got = await ecron(['backfill', 'get', firstId]);
    expect(got.stderr).toBe('');
    expect(got.code).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^id: +${firstId}$`, 'm'));
    expect(got.stdout).toMatch(new RegExp(`^target: +task bf/minutely \\(${minutely.id}\\)$`, 'm'));
    expect(got.stdout).toMatch(/^status: +succeeded$/m);
    expect(got.stdout).toMatch(new RegExp(`^range: +${shown(range.from)} to ${shown(range.to)}$`, 'm'));
    expect(got.stdout).toMatch(/^progress: +5 created, 0 skipped of 5$/m);
    expect(got.stdout).toMatch(new RegExp(`^last instant: +${shown(range.to)}$`, 'm'));
    expect(JSON.parse((await ecron(['backfill', 'get', firstId, '--json'])).stdout)).toEqual((await api.h.call('GET', `/api/v1/backfills/${firstId}`)).json());

    const list = await ecron(['backfill', 'list', 'bf/minutely']);
    expect(list.code).toBe(0);
    const [header, ...rows] = list.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID +STATUS +FROM +TO +CREATED +SKIPPED +TOTAL +CONCURRENCY +STARTED +FINISHED$/);
    expect(rows).toEqual([
      expect.stringMatching(new RegExp(`^${secondId} +succeeded +${shown(range.from)} +${shown(range.to)} +0 +5 +5 +3 +\\S+ +\\S+$`)),
      expect.stringMatching(new RegExp(`^${firstId} +succeeded +${shown(range.from)} +${shown(range.to)} +5 +0 +5 +1 +\\S+ +\\S+$`)),
    ]);
    expect(JSON.parse((await ecron(['backfill', 'list', minutely.id, '--json'])).stdout)).toEqual((await api.h.call('GET', `/api/v1/tasks/${minutely.id}/backfills`)).json());

    const finished = await ecron(['backfill', 'cancel', firstId]);
    expect([finished.code, finished.stdout, finished.stderr]).toEqual([1, '', `ecron: BACKFILL_FINISHED: backfill ${firstId} has already ended (succeeded)\n`]);
    const finishedJson = await ecron(['backfill', 'cancel', firstId, '--json']);
    expect(finishedJson.code).toBe(1);
    expect(JSON.parse(finishedJson.stderr).error).toMatchObject({ code: 'BACKFILL_FINISHED' });

    const none = await pausedTask('untouched', { cron: '* * * * *' }, '/ok', 0);
    expect((await ecron(['backfill', 'list', none.id])).stdout).toBe('(no backfills of task bf/untouched)\n');
  });

  it('reads a date as that day in UTC (--from its start, --to its end), and cancels a running backfill', async () => {
    const hourly = await pausedTask('hourly', { cron: '0 * * * *' }, '/ok', 0);
    // The server's clock stands in 2026-01-01: 2025-12-31 is past, whole.
    const started = await ecron(['task', 'backfill', 'bf/hourly', '--from', '2025-12-31', '--to', '2025-12-31', '--json']);
    expect(started.stderr).toBe('');
    expect(started.code).toBe(0);
    const backfill = JSON.parse(started.stdout);
    expect(backfill).toMatchObject({ taskId: hourly.id, from: '2025-12-31T00:00:00.000Z', to: '2025-12-31T23:59:59.999Z', total: 24, status: 'running' });

    const cancelled = await ecron(['backfill', 'cancel', backfill.id]);
    expect(cancelled.stderr).toBe('');
    expect(cancelled.stdout).toMatch(new RegExp(`^cancelled backfill ${backfill.id}: \\d+ created, \\d+ skipped of 24; runs already started go on\n$`));
    const after = JSON.parse((await ecron(['backfill', 'get', backfill.id, '--json'])).stdout);
    expect(after).toMatchObject({ status: 'cancelled', finishedAt: expect.any(String) });
    const again = await ecron(['backfill', 'cancel', backfill.id, '--json']);
    expect([again.code, JSON.parse(again.stderr).error.code]).toEqual([1, 'BACKFILL_FINISHED']);

    const plain = await ecron(['task', 'backfill', 'bf/hourly', '--from', '2025-12-30', '--to', '2025-12-30T05:30:00+02:00']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(new RegExp(`^backfill ${UUID} of task bf/hourly: 4 fires from 2025-12-30T00:00:00Z to 2025-12-30T03:30:00Z \\(concurrency 1\\)\n$`));
    await ecron(['backfill', 'cancel', idOf(plain.stdout)]);
  });

  it('exits 1 with BACKFILL_CANCELLED when the backfill it waits for is cancelled, and BACKFILL_FAILED when its task is deleted', async () => {
    api.h.executor.behaviours.set('/hang', (_req, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 499 }))));
    for (const [name, end] of [['hangs', 'cancel'], ['goes-away', 'delete']] as const) {
      const task = await pausedTask(name, { cron: '* * * * *' }, '/hang');
      const { from, to } = lastMinutes(3);
      const waiting = ecronTicking(['task', 'backfill', `bf/${name}`, '--from', iso(from), '--to', iso(to), '--wait']);
      const first = await api.h.executor.next((r) => r.path === '/hang' && r.body.taskId === task.id, 30_000);
      const [backfill] = (await api.h.call('GET', `/api/v1/tasks/${task.id}/backfills`)).json().items as Json[];
      if (end === 'cancel') expect((await api.h.call('POST', `/api/v1/backfills/${backfill!.id}/cancel`)).statusCode).toBe(200);
      else expect((await api.h.call('DELETE', `/api/v1/tasks/${task.id}`)).statusCode).toBeLessThan(300);
      const result = await waiting;
      expect(result.code).toBe(1);
      const status = end === 'cancel' ? 'cancelled' : 'failed';
      expect(result.stdout).toMatch(new RegExp(`\nbackfill ${backfill!.id} ${status}: 1 created, 0 skipped of 3\n$`));
      const code = end === 'cancel' ? 'BACKFILL_CANCELLED' : 'BACKFILL_FAILED';
      const reason = end === 'cancel' ? '' : ': the task was deleted';
      expect(result.stderr).toMatch(new RegExp(`\necron: ${code}: backfill ${backfill!.id} ${status}${reason} \\(1 created, 0 skipped of 3\\)\n$`));
      await api.h.call('POST', `/api/v1/runs/${first.body.runId}/cancel`);
    }
  });

  it('reports the API\'s refusals with stable codes and exit code 1 (the --json form on stderr)', async () => {
    const now = api.h.clock.now();
    const future = await ecron(['task', 'backfill', 'bf/minutely', '--from', iso(now - 5 * MINUTE), '--to', iso(now + 60 * MINUTE)]);
    expect([future.code, future.stdout]).toEqual([1, '']);
    expect(future.stderr).toBe('ecron: BACKFILL_RANGE_INVALID: the request is invalid (1 issue)\n  to: "to" is in the future: the scheduler fires those instants itself\n');
    const futureJson = await ecron(['task', 'backfill', 'bf/minutely', '--from', iso(now - 5 * MINUTE), '--to', iso(now + 60 * MINUTE), '--json']);
    expect([futureJson.code, futureJson.stdout]).toEqual([1, '']);
    expect(JSON.parse(futureJson.stderr).error).toMatchObject({ code: 'BACKFILL_RANGE_INVALID', details: { issues: [{ path: 'to', code: 'BACKFILL_RANGE_INVALID' }] } });
    const reversed = await ecron(['task', 'backfill', 'bf/minutely', '--from', iso(now - MINUTE), '--to', iso(now - 5 * MINUTE), '--json']);
    expect([reversed.code, JSON.parse(reversed.stderr).error.code]).toEqual([1, 'BACKFILL_RANGE_INVALID']);

    await api.h.createTask({ namespace: 'bf', name: 'by-hand', schedule: { manual: true } });
    const empty = await ecron(['task', 'backfill', 'bf/by-hand', '--from', iso(now - 60 * MINUTE), '--to', iso(now)]);
    expect([empty.code, empty.stderr]).toEqual([1, expect.stringMatching(/^ecron: BACKFILL_EMPTY: .*manual and fixed-delay schedules have no instants to backfill/)]);
    const emptyJson = await ecron(['task', 'backfill', 'bf/by-hand', '--from', iso(now - 60 * MINUTE), '--to', iso(now), '--json']);
    expect(JSON.parse(emptyJson.stderr).error.code).toBe('BACKFILL_EMPTY');

    const tooLarge = await ecron(['task', 'backfill', 'bf/minutely', '--from', iso(now - 60 * MINUTE), '--to', iso(now), '--max-count', '10', '--json']);
    expect([tooLarge.code, JSON.parse(tooLarge.stderr).error]).toEqual([1, expect.objectContaining({ code: 'BACKFILL_TOO_LARGE', details: { maxCount: 10 } })]);
    const noTask = await ecron(['task', 'backfill', 'no-such-task', '--from', '2025-12-01', '--to', '2025-12-01']);
    expect([noTask.code, noTask.stderr]).toEqual([1, expect.stringMatching(/^ecron: TASK_NOT_FOUND: /)]);
    const noBackfill = await ecron(['backfill', 'get', '0190f000-0000-7000-8000-000000000999', '--json']);
    expect([noBackfill.code, JSON.parse(noBackfill.stderr).error.code]).toEqual([1, 'BACKFILL_NOT_FOUND']);
    const noCancel = await ecron(['backfill', 'cancel', 'nope']);
    expect([noCancel.code, noCancel.stderr]).toEqual([1, expect.stringMatching(/^ecron: BACKFILL_NOT_FOUND: /)]);
  });

  it('refuses bad ranges and numbers before contacting a server (exit 2)', async () => {
    const server = `http://127.0.0.1:${await closedPort()}`;
    const cases: [string[], RegExp][] = [
      [['--from', 'yesterday', '--to', '2026-01-01'], /--from must be an ISO-8601 instant with a zone/],
      [['--from', '2026-01-01T00:00:00', '--to', '2026-01-01'], /--from must be an ISO-8601 instant with a zone/],
      [['--from', '2026-02-30', '--to', '2026-03-01'], /--from 2026-02-30 is not a date/],
      [['--from', '2026-01-01'], /required option '--to <when>' not specified/],
      [['--from', '2026-01-01', '--to', '2026-01-01', '--concurrency', '0'], /--concurrency must be between 1 and 100/],
      [['--from', '2026-01-01', '--to', '2026-01-01', '--max-count', '100001'], /--max-count must be between 1 and 100000/],
    ];
    for (const kind of ['task', 'workflow']) {
      for (const [args, message] of cases) {
        const result = await runCli([kind, 'backfill', 'x', ...args, '--server', server]);
        expect({ args, code: result.code }).toEqual({ args, code: 2 });
        expect(result.stderr).toMatch(message);
        expect(result.stderr).not.toContain('SERVER_UNREACHABLE');
      }
    }
    const json = await runCli(['task', 'backfill', 'x', '--from', 'soon', '--to', '2026-01-01', '--json', '--server', server]);
    expect([json.code, json.stdout, JSON.parse(json.stderr).error.code]).toEqual([2, '', 'USAGE']);
  });

  it('redraws one progress line on a terminal', async () => {
    const task = await pausedTask('on-a-tty', { cron: '* * * * *' });
    const { from, to } = lastMinutes(2);
    let stdout = '';
    let stderr = '';
    const io: CliIo = {
      stdout: (text) => { stdout += text; }, stderr: (text) => { stderr += text; },
      env: {}, cwd: process.cwd(), stdinIsTty: false, stderrIsTty: true,
      readStdin: async () => '', prompt: async () => '', sleep: (ms) => delay(ms),
    };
    const server = `http://127.0.0.1:${(api.h.app.server.address() as AddressInfo).port}`;
    const code = await ticking(runInProcess(
      ['node', 'ecron', 'task', 'backfill', task.id, '--from', iso(from), '--to', iso(to), '--wait', '--server', server, '--token', api.h.admin], io,
    ));
    expect(code).toBe(0);
    const id = idOf(stdout);
    expect(stderr.startsWith(`\r\x1b[2Kbackfill ${id}: `)).toBe(true);
    expect(stderr.endsWith(`\r\x1b[2Kbackfill ${id}: 2 created, 0 skipped of 2 (succeeded)\n`)).toBe(true);
    expect(stderr.split('\n')).toHaveLength(2);
    expect(received(task.id)).toEqual([from, to]);
  });
});

describe('ecron workflow backfill', () => {
  it('backfills a workflow: one workflow run per instant; backfill list --workflow resolves a workflow', async () => {
    const created = await api.h.call('POST', '/api/v1/workflows', {
      body: { namespace: 'bf', name: 'flow', schedule: { cron: '* * * * *' }, nodes: [{ id: 'a', target: { type: 'http', url: `${api.h.executorUrl}/ok` } }, { id: 'b', needs: ['a'], target: { type: 'http', url: `${api.h.executorUrl}/ok` } }] },
    });
    expect(created.statusCode).toBe(201);
    const workflow = created.json();
    expect((await api.h.call('POST', `/api/v1/workflows/${workflow.id}/pause`)).statusCode).toBe(200);
    await api.h.clock.advance(5 * MINUTE);
    const { from, to, instants } = lastMinutes(3);

    const result = await ecronTicking(['workflow', 'backfill', 'bf/flow', '--from', iso(from), '--to', iso(to), '--concurrency', '2', '--wait']);
    expect(result.code).toBe(0);
    const id = idOf(result.stdout);
    expect(result.stdout).toBe(`backfill ${id} of workflow bf/flow: 3 fires from ${shown(from)} to ${shown(to)} (concurrency 2)\nbackfill ${id} succeeded: 3 created, 0 skipped of 3\n`);
    const runs = (await api.h.call('GET', `/api/v1/workflow-runs?workflowId=${workflow.id}`)).json().items as Json[];
    expect(runs.map((r) => [Date.parse(r.scheduledAt), r.status]).sort()).toEqual(instants.map((at) => [at, 'succeeded']).sort());

    const list = JSON.parse((await ecron(['backfill', 'list', 'bf/flow', '--workflow', '--json'])).stdout);
    expect(list.items.map((b: Json) => [b.id, b.taskId, b.status])).toEqual([[id, workflow.id, 'succeeded']]);
    const notATask = await ecron(['backfill', 'list', 'bf/flow']);
    expect([notATask.code, notATask.stderr]).toEqual([1, expect.stringMatching(/^ecron: TASK_NOT_FOUND: /)]);
    expect((await ecron(['backfill', 'get', id])).stdout).toMatch(new RegExp(`^target: +workflow bf/flow \\(${workflow.id}\\)$`, 'm'));

    const manual = await api.h.call('POST', '/api/v1/workflows', { body: { namespace: 'bf', name: 'manual-flow', nodes: [{ id: 'a', target: { type: 'http', url: `${api.h.executorUrl}/ok` } }] } });
    expect(manual.statusCode).toBe(201);
    const empty = await ecron(['workflow', 'backfill', 'bf/manual-flow', '--from', iso(from), '--to', iso(to), '--json']);
    expect([empty.code, JSON.parse(empty.stderr).error.code]).toEqual([1, 'BACKFILL_EMPTY']);
  });

  it('lists backfill in the help of task and workflow, and get, list, cancel in the help of backfill', async () => {
    for (const group of ['task', 'workflow']) expect((await runCli([group, '--help'])).stdout).toMatch(/^ {2}backfill\b/m);
    const help = await runCli(['backfill', '--help']);
    expect(help.code).toBe(0);
    for (const command of ['get', 'list', 'cancel']) expect(help.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    const usage = await runCli(['task', 'backfill', '--help']);
    expect(usage.stdout).toContain('--from 2026-12-01                 2026-12-01T00:00:00.000Z (the day\'s start)');
    expect(usage.stdout).toContain('--to 2026-12-01                   2026-12-01T23:59:59.999Z (the day\'s end)');
  });
});
