import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../src/cli/api-client.ts';
import { FOLLOW_MAX_RECONNECTS, followRunLog } from '../../src/cli/log-follow.ts';
import { type RecordedRequest, runCli, runResource, type StubAnswer, type StubServer, startStubServer, taskResource, tempDir } from './cli-harness.ts';

/**
 * The CLI against a stub of the REST API on a real local HTTP server: what it sends, and how it
 * prints answers and errors.
 */

const TASK_ID = '0190f000-0000-7000-8000-000000000001';
const OTHER_ID = '0190f000-0000-7000-8000-000000000002';
const RUN_ID = '0190f000-0000-7000-8000-0000000000aa';
const TASKS = [
  taskResource(),
  taskResource({ id: OTHER_ID, name: 'cleanup', state: 'paused', spec: { name: 'cleanup', schedule: { every: 10_000, mode: 'fixed-rate' }, target: { type: 'shell', group: 'ops', command: 'rm -rf /tmp/x' } }, nextFireAt: null, lastRunStatus: 'failed' }),
  taskResource({ id: '0190f000-0000-7000-8000-000000000003', namespace: 'billing', name: 'cleanup' }),
];

let stub: StubServer;
/** Per-test overrides, tried before the default routes. */
let override: ((req: RecordedRequest) => StubAnswer | undefined) | undefined;

function routes(req: RecordedRequest): StubAnswer | undefined {
  const fromOverride = override?.(req);
  if (fromOverride) return fromOverride;
  const { method, path, query } = req;
  if (method === 'GET' && path === '/api/v1/tasks') {
    const items = TASKS.filter((t) => (!query.name || t.name === query.name) && (!query.namespace || t.namespace === query.namespace));
    return { body: { items, nextCursor: null } };
  }
  const taskMatch = /^\/api\/v1\/tasks\/([^/]+)(\/.*)?$/.exec(path);
  if (taskMatch) {
    const task = TASKS.find((t) => t.id === taskMatch[1]);
    if (!task) return { status: 404, body: { error: { code: 'TASK_NOT_FOUND', message: 'no such task' } } };
    const suffix = taskMatch[2] ?? '';
    if (method === 'GET' && suffix === '') return { body: task };
    if (method === 'POST' && suffix === '/trigger') return { status: 201, body: runResource({ params: (req.body as { params?: unknown })?.params ?? {} }) };
    if (method === 'POST' && suffix === '/pause') return { body: { ...task, state: 'paused', nextFireAt: null } };
    if (method === 'POST' && suffix === '/resume') return { body: { ...task, state: 'active' } };
    if (method === 'DELETE' && suffix === '') return { status: 204 };
    if (method === 'GET' && suffix === '/preview') {
      const count = Number(query.count ?? 10);
      return { body: { timezone: 'Asia/Shanghai', fires: Array.from({ length: count }, (_, i) => `2026-12-0${i + 1}T18:30:00.000Z`) } };
    }
  }
  if (method === 'GET' && path === '/api/v1/runs') return { body: { items: [runResource({ status: 'succeeded', startedAt: '2026-12-01T00:00:00.100Z', finishedAt: '2026-12-01T00:00:01.000Z' })], nextCursor: null } };
  if (method === 'GET' && path === `/api/v1/runs/${RUN_ID}`) return { body: runResource() };
  if (method === 'POST' && path === `/api/v1/runs/${RUN_ID}/cancel`) return { body: runResource({ status: 'cancelled' }) };
  if (method === 'POST' && path === '/api/v1/tokens') {
    const body = req.body as { name: string; role?: string; namespaces?: string[]; groups?: string[]; expiresIn?: string };
    const expiresAt = body.expiresIn === undefined ? null : '2026-12-31T00:00:00.000Z';
    return { status: 201, body: { token: { id: 'tok1', name: body.name, role: body.role ?? 'viewer', namespaces: body.namespaces ?? ['*'], groups: body.groups ?? null, createdAt: '2026-12-01T00:00:00.000Z', lastUsedAt: null, revokedAt: null, expiresAt, expired: false }, secret: 'ecr_secret_value' } };
  }
  if (method === 'GET' && path === '/api/v1/tokens') {
    return { body: { items: [
      { id: 'tok1', name: 'ci', role: 'editor', namespaces: ['a', 'b'], groups: null, createdAt: '2026-12-01T00:00:00.000Z', lastUsedAt: null, revokedAt: null, expiresAt: null, expired: false },
      { id: 'tok3', name: 'billing-node', role: 'executor', namespaces: ['billing'], groups: ['g1', 'g2'], createdAt: '2026-12-01T00:00:00.000Z', lastUsedAt: null, revokedAt: null, expiresAt: null, expired: false },
      { id: 'tok4', name: 'any-node', role: 'executor', namespaces: ['billing'], groups: null, createdAt: '2026-12-01T00:00:00.000Z', lastUsedAt: null, revokedAt: null, expiresAt: null, expired: false },
      { id: 'tok2', name: 'nightly', role: 'operator', namespaces: ['*'], groups: null, createdAt: '2026-12-01T00:00:00.000Z', lastUsedAt: '2026-12-01T10:00:00.000Z', revokedAt: null, expiresAt: '2026-12-02T00:00:00.000Z', expired: true },
    ] } };
  }
  if (method === 'DELETE' && path === '/api/v1/tokens/tok1') return { status: 204 };
  return undefined;
}

beforeAll(async () => {
  stub = await startStubServer(routes);
});
afterAll(async () => {
  await stub.close();
});
afterEach(() => {
  stub.requests.length = 0;
  override = undefined;
});

const cli = (args: string[], options: Parameters<typeof runCli>[1] = {}) => runCli([...args, '--server', stub.url], options);
const calls = (): string[] => stub.requests.map((r) => `${r.method} ${r.path}${Object.keys(r.query).length ? `?${new URLSearchParams(r.query)}` : ''}`);

describe('ecron CLI: --json and human output', () => {
  it('task list --json prints the API page unchanged', async () => {
    const result = await cli(['task', 'list', '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ items: TASKS, nextCursor: null });
  });

  it('task list prints an aligned table with schedule, next fire and last status', async () => {
    const result = await cli(['task', 'list', '--namespace', 'default', '--state', 'active', '--name', 'cleanup', '--limit', '5']);
    expect(result.code).toBe(0);
    expect(calls()).toEqual(['GET /api/v1/tasks?namespace=default&state=active&name=cleanup&limit=5']);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID +NAMESPACE +NAME +STATE +SCHEDULE +NEXT FIRE +LAST STATUS$/);
    expect(lines[1]).toMatch(new RegExp(`^${OTHER_ID} +default +cleanup +paused +every 10s +- +failed$`));
    // Columns line up: every row starts its NAME column at the same place.
    expect(lines[1]?.indexOf(' cleanup ')).toBe(lines[0]?.indexOf(' NAME '));
  });

  it('task list --all follows nextCursor; without it a hint says there is more', async () => {
    override = (req) => {
      if (req.path !== '/api/v1/tasks') return undefined;
      return req.query.cursor === 'c2'
        ? { body: { items: [TASKS[1]], nextCursor: null } }
        : { body: { items: [TASKS[0]], nextCursor: 'c2' } };
    };
    const all = await cli(['task', 'list', '--all', '--json']);
    expect(JSON.parse(all.stdout)).toEqual({ items: [TASKS[0], TASKS[1]], nextCursor: null });
    expect(calls()).toEqual(['GET /api/v1/tasks', 'GET /api/v1/tasks?cursor=c2']);
    const one = await cli(['task', 'list']);
    expect(one.stdout).toContain(TASK_ID);
    expect(one.stdout).not.toContain(OTHER_ID);
    expect(one.stderr).toBe('(more tasks: use --all, or a larger --limit)\n');
  });

  it('task get prints key: value lines and the spec', async () => {
    const result = await cli(['task', 'get', TASK_ID]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^id: +${TASK_ID}$`, 'm'));
    expect(result.stdout).toMatch(/^schedule: +cron 0 30 2 \* \* \* \(Asia\/Shanghai\)$/m);
    expect(result.stdout).toMatch(/^target: +http http:\/\/127\.0\.0\.1:9000\/run$/m);
    expect(result.stdout).toMatch(/^next fire: +2026-12-01T18:30:00Z$/m);
    expect(result.stdout).toMatch(/^spec:\n {2}namespace: default$/m);
  });

  it('run list, run get, token list print tables and blocks', async () => {
    const runs = await cli(['run', 'list', '--status', 'succeeded', '--limit', '1']);
    expect(runs.stdout).toMatch(/^ID +TASK +STATUS +TRIGGER +SCHEDULED +STARTED +FINISHED +ATTEMPT$/m);
    expect(runs.stdout).toContain(`${RUN_ID}  default/nightly-report  succeeded  manual   2026-12-01T00:00:00Z  2026-12-01T00:00:00.100Z  2026-12-01T00:00:01Z  1`);
    const run = await cli(['run', 'get', RUN_ID]);
    expect(run.stdout).toMatch(/^status: +pending$/m);
    const tokens = await cli(['token', 'list']);
    expect(tokens.stdout).toMatch(/^ID +NAME +ROLE +NAMESPACES +GROUPS +CREATED +LAST USED +EXPIRES +REVOKED$/m);
    expect(tokens.stdout).toMatch(/^tok1 +ci +editor +a,b +- +2026-12-01T00:00:00Z +- +- +-$/m);
    expect(tokens.stdout).toMatch(/^tok3 +billing-node +executor +billing +g1,g2 +2026-12-01T00:00:00Z +- +- +-$/m);
    expect(tokens.stdout).toMatch(/^tok4 +any-node +executor +billing +\* +2026-12-01T00:00:00Z +- +- +-$/m);
    expect(tokens.stdout).toMatch(/^tok2 +nightly +operator +\* +- +2026-12-01T00:00:00Z +2026-12-01T10:00:00Z +2026-12-02T00:00:00Z \(expired\) +-$/m);
    expect(calls()).toEqual([`GET /api/v1/runs?status=succeeded&limit=1`, `GET /api/v1/runs/${RUN_ID}`, 'GET /api/v1/tokens']);
  });
});

describe('ecron CLI: task references', () => {
  it('resolves an id directly, NAMESPACE/NAME and a unique bare NAME by lookup', async () => {
    await cli(['task', 'pause', TASK_ID]);
    await cli(['task', 'pause', 'billing/cleanup']);
    await cli(['task', 'resume', 'nightly-report']);
    expect(calls()).toEqual([
      `GET /api/v1/tasks/${TASK_ID}`, `POST /api/v1/tasks/${TASK_ID}/pause`,
      'GET /api/v1/tasks?namespace=billing&name=cleanup&limit=2', 'POST /api/v1/tasks/0190f000-0000-7000-8000-000000000003/pause',
      'GET /api/v1/tasks?name=nightly-report&limit=2', `POST /api/v1/tasks/${TASK_ID}/resume`,
    ]);
  });

  it('refuses a bare name found in several namespaces, and an unknown one', async () => {
    const ambiguous = await cli(['task', 'get', 'cleanup']);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toBe('ecron: TASK_REF_AMBIGUOUS: a task named "cleanup" exists in several namespaces; use NAMESPACE/NAME (default/cleanup, billing/cleanup)\n');
    const unknown = await cli(['task', 'get', 'nope']);
    expect(unknown.stderr).toBe('ecron: TASK_NOT_FOUND: no task with id or name "nope"\n');
    const unknownInNs = await cli(['task', 'get', 'billing/nope']);
    expect(unknownInNs.stderr).toBe('ecron: TASK_NOT_FOUND: no task named "nope" in namespace "billing"\n');
  });

  it('run list --task resolves the task and filters by its id', async () => {
    const result = await cli(['run', 'list', '--task', 'default/nightly-report']);
    expect(result.code).toBe(0);
    expect(calls()).toEqual(['GET /api/v1/tasks?namespace=default&name=nightly-report&limit=2', `GET /api/v1/runs?taskId=${TASK_ID}`]);
  });
});

describe('ecron CLI: commands send what the API expects', () => {
  it('task trigger merges --params and --param into the body', async () => {
    const result = await cli(['task', 'trigger', TASK_ID, '--params', '{"a":1,"b":"x"}', '--param', 'b=y', '--param', 'c=k=v', '--json']);
    expect(result.code).toBe(0);
    const trigger = stub.requests.find((r) => r.path.endsWith('/trigger'));
    expect(trigger?.body).toEqual({ params: { a: 1, b: 'y', c: 'k=v' } });
    expect(trigger?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(result.stdout)).toMatchObject({ id: RUN_ID, params: { a: 1, b: 'y', c: 'k=v' } });
    const plain = await cli(['task', 'trigger', TASK_ID]);
    expect(stub.requests.at(-1)?.body).toEqual({});
    expect(plain.stdout).toBe(`triggered task default/nightly-report: run ${RUN_ID} (pending)\n`);
  });

  it('task trigger --param sends a VALUE that parses as JSON as that value, anything else as a string', async () => {
    const result = await cli(['task', 'trigger', TASK_ID,
      '--param', 'steps=8', '--param', 'flag=true', '--param', 'x={"a":1}', '--param', 'list=[1,"b"]', '--param', 'none=null',
      '--param', 's="8"', '--param', 'word=daily', '--param', 'half={"a":', '--param', 'empty=', '--json']);
    expect(result.code).toBe(0);
    const trigger = stub.requests.find((r) => r.path.endsWith('/trigger'));
    expect(trigger?.body).toStrictEqual({
      params: { steps: 8, flag: true, x: { a: 1 }, list: [1, 'b'], none: null, s: '8', word: 'daily', half: '{"a":', empty: '' },
    });
    // --param still overrides --params, with its JSON value.
    await cli(['task', 'trigger', TASK_ID, '--params', '{"steps":"5"}', '--param', 'steps=8']);
    expect(stub.requests.at(-1)?.body).toStrictEqual({ params: { steps: 8 } });
  });

  it('task trigger --help says how --param values are read and how to force a string', async () => {
    const result = await cli(['task', 'trigger', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--param steps=8            steps: 8 (a number)');
    expect(result.stdout).toContain(`--param 'id="8"'           id: "8" (a string)`);
  });

  it('task delete asks for --yes when stdin is not a terminal, and deletes with it', async () => {
    const refused = await cli(['task', 'delete', TASK_ID]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toBe('ecron: USAGE: deleting task default/nightly-report needs --yes when standard input is not a terminal\n');
    expect(stub.requests.some((r) => r.method === 'DELETE')).toBe(false);
    const deleted = await cli(['task', 'delete', TASK_ID, '--yes']);
    expect(deleted.code).toBe(0);
    expect(deleted.stdout).toBe(`deleted task default/nightly-report (${TASK_ID})\n`);
    expect(calls().at(-1)).toBe(`DELETE /api/v1/tasks/${TASK_ID}`);
  });

  it('task preview asks for --count fires and shows them in the task zone too', async () => {
    const result = await cli(['task', 'preview', TASK_ID, '--count', '2']);
    expect(calls().at(-1)).toBe(`GET /api/v1/tasks/${TASK_ID}/preview?count=2`);
    expect(result.stdout).toBe('next 2 fires of default/nightly-report (timezone Asia/Shanghai):\n'
      + '2026-12-01T18:30:00Z  (2026-12-02 02:30:00 Asia/Shanghai)\n'
      + '2026-12-02T18:30:00Z  (2026-12-03 02:30:00 Asia/Shanghai)\n');
  });

  it('run cancel posts to the run and prints its status', async () => {
    const result = await cli(['run', 'cancel', RUN_ID]);
    expect(calls()).toEqual([`POST /api/v1/runs/${RUN_ID}/cancel`]);
    expect(result.stdout).toBe(`cancelled run ${RUN_ID}; status: cancelled\n`);
  });

  it('token create sends name, role and namespaces, and prints the secret once', async () => {
    const result = await cli(['token', 'create', '--name', 'ci', '--role', 'editor', '--namespace', 'a', '--namespace', 'b']);
    expect(stub.requests[0]?.body).toEqual({ name: 'ci', role: 'editor', namespaces: ['a', 'b'] });
    expect(result.stdout).toBe('created token ci (tok1), role editor, namespaces a,b\nsecret: ecr_secret_value\n');
    expect(result.stderr).toContain('store the secret now');
    await cli(['token', 'create', '--name', 'viewer-only']);
    expect(stub.requests[1]?.body).toEqual({ name: 'viewer-only' });
    const expiring = await cli(['token', 'create', '--name', 'nightly', '--role', 'operator', '--expires-in', '30d']);
    expect(stub.requests[2]?.body).toEqual({ name: 'nightly', role: 'operator', expiresIn: '30d' });
    expect(expiring.stdout).toBe('created token nightly (tok1), role operator, namespaces *, expires 2026-12-31T00:00:00Z\nsecret: ecr_secret_value\n');
    await cli(['token', 'create', '--name', 'node', '--role', 'executor', '--expires-at', '2027-01-01T00:00:00Z']);
    expect(stub.requests[3]?.body).toEqual({ name: 'node', role: 'executor', expiresAt: '2027-01-01T00:00:00Z' });
    expect((await cli(['token', 'create', '--name', 'x', '--role', 'root'])).stderr).toContain('admin, editor, operator, viewer, executor');
    // An executor token limited to groups: comma-separated lists, --namespaces beside --namespace.
    const scoped = await cli(['token', 'create', '--name', 'billing-node', '--role', 'executor', '--namespaces', 'a', '--groups', 'g1,g2', '--groups', 'g3']);
    expect(stub.requests[4]?.body).toEqual({ name: 'billing-node', role: 'executor', namespaces: ['a'], groups: ['g1', 'g2', 'g3'] });
    expect(scoped.stdout).toBe('created token billing-node (tok1), role executor, namespaces a, groups g1,g2,g3\nsecret: ecr_secret_value\n');
    await cli(['token', 'create', '--name', 'two', '--namespace', 'a', '--namespaces', 'b, c']);
    expect(stub.requests[5]?.body).toEqual({ name: 'two', namespaces: ['a', 'b', 'c'] });
    const revoked = await cli(['token', 'revoke', 'tok1', '--json']);
    expect(JSON.parse(revoked.stdout)).toEqual({ id: 'tok1', revoked: true });
  });
});

describe('ecron CLI: run logs', () => {
  const log = (seq: number, message: string) => ({ seq, attempt: 1, at: `2026-12-01T00:00:0${seq}.000Z`, level: seq === 3 ? 'error' : 'info', message });

  it('prints every page of the log, and the raw pages merged with --json', async () => {
    override = (req) => {
      if (!req.path.endsWith('/logs')) return undefined;
      const after = Number(req.query.afterSeq ?? 0);
      const items = [log(1, 'one'), log(2, 'two'), log(3, 'three')].filter((l) => l.seq > after).slice(0, 2);
      return { body: { items, nextSeq: items.at(-1)?.seq ?? after } };
    };
    const human = await cli(['run', 'logs', RUN_ID]);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('2026-12-01T00:00:01.000Z  INFO   #1  one\n2026-12-01T00:00:02.000Z  INFO   #1  two\n2026-12-01T00:00:03.000Z  ERROR  #1  three\n');
    const json = await cli(['run', 'logs', RUN_ID, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({ items: [log(1, 'one'), log(2, 'two'), log(3, 'three')], nextSeq: 3 });
  });

  /** An event-stream answer: `log` events for `lines`, then `end` if given; the stub then closes the connection. */
  const stream = (lines: ReturnType<typeof log>[], end?: { status: string; error: string | null }): StubAnswer => ({
    contentType: 'text/event-stream',
    raw: lines.map((l) => `event: log\nid: ${l.seq}\ndata: ${JSON.stringify(l)}\n\n`).join('')
      + (end ? `: keep-alive\n\nevent: end\ndata: ${JSON.stringify(end)}\n\n` : ''),
  });
  const logRequests = () => stub.requests.filter((r) => r.path === `/api/v1/runs/${RUN_ID}/logs`);

  it('--follow reads the event stream, and resumes with Last-Event-ID when it drops before the end', async () => {
    override = (req) => {
      if (req.path !== `/api/v1/runs/${RUN_ID}/logs`) return undefined;
      // The first connection drops after two lines; the second resumes after the last id it got.
      if (req.headers['last-event-id'] === undefined) return stream([log(1, 'starting'), log(2, 'working')]);
      return stream([log(3, 'done')], { status: 'failed', error: 'exit code 3' });
    };
    const result = await cli(['run', 'logs', RUN_ID, '--follow']);
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n').filter(Boolean).map((l) => l.split('  ').at(-1))).toEqual(['starting', 'working', 'done']);
    expect(result.stderr).toBe('(log stream interrupted: the stream ended before the run did; reconnecting in 250ms, try 1)\n'
      + `run ${RUN_ID} failed: exit code 3\n`);
    const requests = logRequests();
    expect(requests.map((r) => [r.query, r.headers.accept, r.headers['last-event-id'] ?? null])).toEqual([
      [{ follow: '1' }, 'text/event-stream', null],
      [{ follow: '1' }, 'text/event-stream', '2'],
    ]);
    expect(stub.requests.map((r) => r.path)).toEqual([`/api/v1/runs/${RUN_ID}/logs`, `/api/v1/runs/${RUN_ID}/logs`]);
  });

  it('--follow retries a server that is not ready, and stops at once on RUN_NOT_FOUND', async () => {
    let calls = 0;
    override = (req) => {
      if (req.path !== `/api/v1/runs/${RUN_ID}/logs`) return undefined;
      calls += 1;
      if (calls === 1) return { status: 503, body: { error: { code: 'NOT_READY', message: 'the server is not ready' } } };
      return stream([log(1, 'a')], { status: 'succeeded', error: null });
    };
    const retried = await cli(['run', 'logs', RUN_ID, '--follow']);
    expect(retried.code).toBe(0);
    expect(retried.stderr).toBe(`(log stream interrupted: NOT_READY: the server is not ready; reconnecting in 250ms, try 1)\nrun ${RUN_ID} succeeded\n`);

    stub.requests.length = 0;
    override = (req) => (req.path.endsWith('/logs') ? { status: 404, body: { error: { code: 'RUN_NOT_FOUND', message: 'no run with id "x"' } } } : undefined);
    const missing = await cli(['run', 'logs', RUN_ID, '--follow']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('ecron: RUN_NOT_FOUND: no run with id "x"\n');
    expect(logRequests()).toHaveLength(1);
  });

  it('--follow --json prints one JSON line per log line', async () => {
    override = (req) => (req.path.endsWith('/logs') ? stream([log(1, 'a'), log(2, 'b')], { status: 'succeeded', error: null }) : undefined);
    const result = await cli(['run', 'logs', RUN_ID, '--follow', '--json']);
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n').map((l) => JSON.parse(l))).toEqual([log(1, 'a'), log(2, 'b')]);
    expect(result.stderr).toBe('');
  });

  it('--follow says so when the server answers a page instead of a stream', async () => {
    override = (req) => (req.path.endsWith('/logs') ? { body: { items: [], nextSeq: 0 } } : undefined);
    const result = await cli(['run', 'logs', RUN_ID, '--follow']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ecron: UNEXPECTED_RESPONSE: .*not an event stream/);
  });

  it('gives up after 10 reconnections in a row that brought no line, and counts again after one that did', async () => {
    let calls = 0;
    override = (req) => {
      if (!req.path.endsWith('/logs')) return undefined;
      calls += 1;
      // The 3rd connection brings a line: the count of failures in a row starts again after it.
      return calls === 3 ? { contentType: 'text/event-stream', raw: `event: log\nid: 1\ndata: ${JSON.stringify({ seq: 1, attempt: 1, at: '2026-12-01T00:00:01.000Z', level: 'info', message: 'x' })}\n\n` }
        : { contentType: 'text/event-stream', raw: ': keep-alive\n\n' };
    };
    const waits: number[] = [];
    const lines: string[] = [];
    const following = followRunLog({
      api: new ApiClient({ server: stub.url, token: 't' }), runId: RUN_ID, path: `/api/v1/runs/${RUN_ID}/logs`,
      onLine: (line) => lines.push(line.message), sleep: async (ms) => { waits.push(ms); },
    });
    await expect(following).rejects.toMatchObject({ code: 'STREAM_INTERRUPTED' });
    expect(lines).toEqual(['x']);
    expect(calls).toBe(3 + FOLLOW_MAX_RECONNECTS);
    expect(waits).toEqual([250, 500, 250, 500, 1000, 2000, 4000, 4000, 4000, 4000, 4000, 4000]);
    expect(logRequests().slice(3).map((r) => r.headers['last-event-id'])).toEqual(Array(FOLLOW_MAX_RECONNECTS).fill('1'));
  });
});

describe('ecron CLI: errors', () => {
  it('prints the code, message and one line per validation issue, and exits 1', async () => {
    override = (req) => req.method === 'POST' ? {
      status: 400,
      body: { error: { code: 'VALIDATION_FAILED', message: 'the task spec is invalid', details: { issues: [
        { path: 'schedule.cron', code: 'INVALID_CRON', message: 'expected 5 or 6 fields' },
        { path: 'target.url', code: 'REQUIRED', message: 'is required' },
      ] } } },
    } : undefined;
    const dir = tempDir();
    try {
      const file = join(dir.path, 'bad.json');
      writeFileSync(file, '{"name":"x","schedule":{"cron":"* *"},"target":{"type":"http"}}');
      const result = await cli(['task', 'create', '-f', file]);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe('ecron: VALIDATION_FAILED: the task spec is invalid\n  schedule.cron: expected 5 or 6 fields\n  target.url: is required\n');
    } finally {
      dir.cleanup();
    }
  });

  it('keeps the stable code of any API error, also with --json', async () => {
    override = () => ({ status: 409, body: { error: { code: 'RUN_ALREADY_FINISHED', message: 'the run has already finished' } } });
    const result = await cli(['run', 'cancel', RUN_ID, '--json']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(JSON.parse(result.stderr)).toEqual({ error: { code: 'RUN_ALREADY_FINISHED', message: 'the run has already finished' } });
  });

  it('reports an answer that is not the ecron API as UNEXPECTED_RESPONSE', async () => {
    override = () => ({ status: 502, raw: '<html><body>Bad gateway</body></html>' });
    const result = await cli(['token', 'list']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('ecron: UNEXPECTED_RESPONSE: the server answered 502 Bad Gateway: <html><body>Bad gateway</body></html>\n');
  });

  it('says where the token came from when the server refuses it', async () => {
    override = () => ({ status: 401, body: { error: { code: 'UNAUTHENTICATED', message: 'a valid bearer token is required' } } });
    const none = await cli(['token', 'list']);
    expect(none.stderr).toMatch(/^ecron: UNAUTHENTICATED: a valid bearer token is required \(no token was given: pass --token/);
    const env = await cli(['token', 'list'], { env: { ECRON_TOKEN: 'bad' } });
    expect(env.stderr).toBe('ecron: UNAUTHENTICATED: a valid bearer token is required (the token came from ECRON_TOKEN)\n');
  });
});

describe('ecron CLI: the token', () => {
  const authOf = (): unknown => stub.requests.at(-1)?.headers.authorization;

  it('comes from --token before ECRON_TOKEN before the admin token files', async () => {
    const dir = tempDir();
    try {
      mkdirSync(join(dir.path, '.ecron'));
      writeFileSync(join(dir.path, '.ecron', 'admin.token'), 'from-cwd-file\n');
      mkdirSync(join(dir.path, 'data'));
      writeFileSync(join(dir.path, 'data', 'admin.token'), 'from-data-dir\n');
      await cli(['token', 'list', '--token', 'from-flag'], { cwd: dir.path, env: { ECRON_TOKEN: 'from-env' } });
      expect(authOf()).toBe('Bearer from-flag');
      await cli(['token', 'list'], { cwd: dir.path, env: { ECRON_TOKEN: 'from-env' } });
      expect(authOf()).toBe('Bearer from-env');
      await cli(['token', 'list'], { cwd: dir.path });
      expect(authOf()).toBe('Bearer from-cwd-file');
      await cli(['token', 'list'], { cwd: dir.path, env: { ECRON_DATA_DIR: join(dir.path, 'data') } });
      expect(authOf()).toBe('Bearer from-data-dir');
      await cli(['token', 'list']);
      expect(authOf()).toBeUndefined();
    } finally {
      dir.cleanup();
    }
  });

  it('is read from $ECRON_DATA_DIR when ./.ecron has none', async () => {
    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, 'admin.token'), 'data-dir-only');
      await cli(['run', 'get', RUN_ID], { env: { ECRON_DATA_DIR: dir.path } });
      expect(authOf()).toBe('Bearer data-dir-only');
    } finally {
      dir.cleanup();
    }
  });
});
