/**
 * `ecron workflow …` against the real REST API (buildApp over SQLite and the real scheduler) on a
 * local port; workflow nodes post to the harness's real HTTP executor, whose paths decide their
 * outcome. Workflow runs are awaited by polling the API with a generous deadline.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, useApiForCli } from './cli-harness.ts';

const api = useApiForCli();
const { ecron } = api;
let dir: ReturnType<typeof tempDir>;
let flakyCalls = 0;

beforeAll(() => {
  dir = tempDir();
  api.h.executor.behaviours.set('/fail', () => ({ status: 500, body: { error: 'boom' } }));
  api.h.executor.behaviours.set('/flaky', () => (++flakyCalls === 1 ? { status: 500, body: { error: 'first time' } } : { status: 200, body: { ok: true } }));
});
afterAll(() => dir?.cleanup());

type Json = Record<string, any>;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

function file(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

/** A YAML workflow spec whose nodes are inline http targets on the test executor (`path` defaults to /ok). */
function yamlSpec(name: string, nodes: { id: string; needs?: string[]; optional?: string[]; path?: string; run?: string }[], namespace = 'cli'): string {
  const lines = [`namespace: ${namespace}`, `name: ${name}`, 'params: { day: mon }', 'nodes:'];
  for (const n of nodes) {
    lines.push(`  - id: ${n.id}`, '    target:', '      type: http', `      url: ${api.h.executorUrl}${n.path ?? '/ok'}`);
    const needs = [...(n.needs ?? []), ...(n.optional ?? []).map((id) => `{ node: ${id}, optional: true }`)];
    if (needs.length > 0) lines.push(`    needs: [${needs.join(', ')}]`);
    if (n.run) lines.push(`    run: ${n.run}`);
  }
  return `${lines.join('\n')}\n`;
}

/** Creates a workflow through the CLI from a YAML file; returns its id. */
async function create(name: string, nodes: Parameters<typeof yamlSpec>[1]): Promise<string> {
  const result = await ecron(['workflow', 'create', '-f', file(`${name}.yaml`, yamlSpec(name, nodes))]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return new RegExp(`\\((${UUID})\\)`).exec(result.stdout)![1]!;
}

/** Polls the API until the workflow run has finished and `done` holds; fails after 20 s. */
async function until(id: string, done: (run: Json) => boolean = () => true): Promise<Json> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const run = (await api.h.call('GET', `/api/v1/workflow-runs/${id}`)).json();
    if (['succeeded', 'failed', 'cancelled'].includes(run.status) && done(run)) return run;
    if (Date.now() > deadline) throw new Error(`workflow run ${id} did not get there in time: ${JSON.stringify(run)}`);
    await delay(20);
  }
}

/** The line of the node table for `node` (the tree cell is the node id indented by its depth). */
function nodeLine(text: string, node: string): string {
  const line = text.split('\n').find((l) => new RegExp(`^ {2}( {2})*${node}( |$)`).test(l));
  if (!line) throw new Error(`no line for node ${node} in:\n${text}`);
  return line;
}

/** How deep a node sits in the printed tree (0 for a root). */
const depthOf = (text: string, node: string): number => (/^ */.exec(nodeLine(text, node))![0].length - 2) / 2;

describe('ecron workflow', () => {
  it('creates from YAML, lists, and shows the graph as a tree with optional needs marked', async () => {
    const id = await create('etl', [
      { id: 'extract' }, { id: 'transform', needs: ['extract'] }, { id: 'audit' },
      { id: 'load', needs: ['transform'], optional: ['audit'] }, { id: 'notify', needs: ['load'], run: 'always' },
    ]);

    const list = await ecron(['workflow', 'list', '--namespace', 'cli']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(new RegExp(`^ID +NAMESPACE +NAME +STATE +SCHEDULE +NODES +NEXT FIRE +LAST STATUS\n${id} +cli +etl +active +manual +5 +- +-\n$`));
    expect((await ecron(['workflow', 'list', '--name', 'et'])).stdout).toBe('(no workflows)\n');
    const listed = JSON.parse((await ecron(['workflow', 'list', '--search', 'ET', '--json'])).stdout);
    expect(listed).toEqual((await api.h.call('GET', '/api/v1/workflows?q=ET')).json());

    const shown = await ecron(['workflow', 'get', 'cli/etl']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^id: +${id}$`, 'm'));
    expect(shown.stdout).toMatch(/^schedule: +manual$/m);
    expect(shown.stdout).toMatch(/^params: +\{"day":"mon"\}$/m);
    expect(shown.stdout).toMatch(/^nodes \(5\):\n {2}NODE +RUNS +WHEN +NEEDS$/m);
    // Topological order, each node under a node it needs; load needs two, one of them optional.
    const order = ['extract', 'transform', 'audit', 'load', 'notify'];
    const lines = order.map((node) => nodeLine(shown.stdout, node));
    expect(lines.map((line) => shown.stdout.indexOf(line))).toEqual([...lines.map((line) => shown.stdout.indexOf(line))].sort((a, b) => a - b));
    expect(order.map((node) => depthOf(shown.stdout, node))).toEqual([0, 1, 0, 1, 2]);
    expect(nodeLine(shown.stdout, 'extract')).toMatch(new RegExp(`^ {2}extract +http ${api.h.executorUrl}/ok +on-success$`));
    expect(nodeLine(shown.stdout, 'load')).toMatch(/ on-success +transform, audit \(optional\)$/);
    expect(nodeLine(shown.stdout, 'notify')).toMatch(/ always$/);

    const byId = JSON.parse((await ecron(['workflow', 'get', id, '--json'])).stdout);
    expect(byId).toEqual((await api.h.call('GET', `/api/v1/workflows/${id}`)).json());
  });

  it('triggers with --wait: prints the run tree and exits 0 when it succeeded, 1 otherwise', async () => {
    await create('wait-ok', [{ id: 'a' }, { id: 'b', needs: ['a'] }]);
    const ok = await ecron(['workflow', 'trigger', 'wait-ok', '--wait', '--param', 'day=tue']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const runId = new RegExp(`workflow run (${UUID}); waiting`).exec(ok.stdout)![1]!;
    expect(ok.stdout).toMatch(new RegExp(`^id: +${runId}$`, 'm'));
    expect(ok.stdout).toMatch(/^status: +succeeded$/m);
    expect(ok.stdout).toMatch(/^params: +\{"day":"tue"\}$/m);
    expect(nodeLine(ok.stdout, 'a')).toMatch(new RegExp(`^ {2}a +succeeded +- +\\S+ +1 +${UUID}$`));
    expect(depthOf(ok.stdout, 'b')).toBe(1);

    await create('wait-bad', [{ id: 'a', path: '/fail' }, { id: 'b', needs: ['a'] }]);
    const bad = await ecron(['workflow', 'trigger', 'cli/wait-bad', '--wait']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(new RegExp(`^ecron: WORKFLOW_RUN_FAILED: workflow run ${UUID} failed`));
    expect(nodeLine(bad.stdout, 'a')).toMatch(/^ {2}a +failed +- /);
    expect(nodeLine(bad.stdout, 'b')).toMatch(/^ {4}b +skipped +upstream_failed +- +0 +-$/);

    const json = await ecron(['workflow', 'trigger', 'wait-bad', '--wait', '--json']);
    expect(json.code).toBe(1);
    const run = JSON.parse(json.stdout);
    expect(run).toMatchObject({ status: 'failed', nodes: [{ id: 'a', status: 'failed' }, { id: 'b', status: 'skipped', reason: 'upstream_failed' }] });
    expect(JSON.parse(json.stderr).error).toMatchObject({ code: 'WORKFLOW_RUN_FAILED', details: { workflowRunId: run.id, status: 'failed' } });

    const noWait = await ecron(['workflow', 'trigger', 'wait-ok']);
    expect(noWait.stdout).toMatch(new RegExp(`^triggered workflow cli/wait-ok: workflow run ${UUID} \\((pending|running)\\)\n$`));
  });

  it('shows a workflow run as a tree, reruns it from the failed node, and acts on single nodes', async () => {
    const id = await create('repair', [{ id: 'first' }, { id: 'middle', needs: ['first'], path: '/flaky' }, { id: 'last', needs: ['middle'] }]);
    const triggered = JSON.parse((await ecron(['workflow', 'trigger', id, '--json'])).stdout);
    const failed = await until(triggered.id);
    expect(failed.status).toBe('failed');

    const shown = await ecron(['workflow', 'run', 'get', triggered.id]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`^workflow: +cli/repair \\(${id}, revision 1\\)$`, 'm'));
    expect(shown.stdout).toMatch(/^status: +failed$/m);
    expect(shown.stdout).toMatch(/^nodes \(3\):\n {2}NODE +STATUS +REASON +DURATION +ATTEMPTS +RUN +NEEDS$/m);
    expect(nodeLine(shown.stdout, 'first')).toMatch(new RegExp(`^ {2}first +succeeded +- +\\S+ +1 +${failed.nodes[0].runId}$`));
    expect(nodeLine(shown.stdout, 'middle')).toMatch(new RegExp(`^ {4}middle +failed +- +\\S+ +1 +${failed.nodes[1].runId}$`));
    expect(nodeLine(shown.stdout, 'last')).toMatch(/^ {6}last +skipped +upstream_failed +- +0 +-$/);
    expect(JSON.parse((await ecron(['workflow', 'run', 'get', triggered.id, '--json'])).stdout)).toEqual(failed);

    const runs = await ecron(['workflow', 'runs', 'cli/repair', '--status', 'failed']);
    expect(runs.stdout).toMatch(new RegExp(`^${triggered.id} +cli/repair +1 +failed +manual `, 'm'));

    const rerun = await ecron(['workflow', 'rerun', triggered.id]);
    expect(rerun.stderr).toBe('');
    expect(rerun.stdout).toMatch(new RegExp(`^rerunning workflow run ${triggered.id} from its failed nodes \\(status: \\w+\\); to run: middle, last\n$`));
    const fixed = await until(triggered.id, (run) => run.status === 'succeeded');
    expect(fixed.nodes.map((n: Json) => [n.id, n.status, n.attempts])).toEqual([['first', 'succeeded', 1], ['middle', 'succeeded', 2], ['last', 'succeeded', 1]]);
    const again = await ecron(['workflow', 'rerun', triggered.id, '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr).error.code).toBe('WORKFLOW_NOTHING_TO_RERUN');

    // By hand: a failing node skipped (its successor then runs), or marked succeeded with an output; one node run again.
    await create('by-hand', [{ id: 'a', path: '/fail' }, { id: 'b', needs: ['a'] }]);
    const second = JSON.parse((await ecron(['workflow', 'trigger', 'by-hand', '--json'])).stdout);
    await until(second.id);
    const skipped = await ecron(['workflow', 'run', 'node', 'skip', second.id, 'a']);
    expect(skipped.stderr).toBe('');
    expect(skipped.stdout).toMatch(new RegExp(`^node a of workflow run ${second.id}: skipped \\(manual\\); workflow run: \\w+\n$`));
    const after = await until(second.id, (run) => run.nodes[1].status === 'succeeded');
    expect(after.status).toBe('succeeded');

    const third = JSON.parse((await ecron(['workflow', 'trigger', 'by-hand', '--json'])).stdout);
    await until(third.id);
    const succeeded = await ecron(['workflow', 'run', 'node', 'succeed', third.id, 'a', '--output', '{"rows":3}']);
    expect(succeeded.stderr).toBe('');
    expect(succeeded.stdout).toMatch(new RegExp(`^node a of workflow run ${third.id}: succeeded; workflow run: \\w+\n$`));
    await until(third.id, (run) => run.status === 'succeeded');
    const rerunNode = await ecron(['workflow', 'run', 'node', 'rerun', third.id, 'b', '--json']);
    expect(rerunNode.code).toBe(0);
    expect(JSON.parse(rerunNode.stdout).id).toBe(third.id);
    const rerun2 = await until(third.id, (run) => run.nodes[1].attempts === 2);
    expect(rerun2.status).toBe('succeeded');

    const badOutput = await ecron(['workflow', 'run', 'node', 'succeed', second.id, 'a', '--output', '{nope']);
    expect(badOutput.code).toBe(2);
    expect(badOutput.stderr).toMatch(/^ecron: USAGE: --output is not valid JSON/);
    const noNode = await ecron(['workflow', 'run', 'node', 'skip', second.id, 'zzz']);
    expect([noNode.code, noNode.stderr]).toEqual([1, expect.stringMatching(/^ecron: WORKFLOW_NODE_NOT_FOUND: /)]);
  });

  it('cancels a running workflow run', async () => {
    api.h.executor.behaviours.set('/hang', (_req, signal) => new Promise((resolve) => signal.addEventListener('abort', () => resolve({ status: 499 }))));
    await create('slow', [{ id: 'wait', path: '/hang' }, { id: 'then', needs: ['wait'] }]);
    const started = JSON.parse((await ecron(['workflow', 'trigger', 'slow', '--json'])).stdout);
    await api.h.executor.next((r) => r.path === '/hang' && r.event === 'run');
    const cancelled = await ecron(['workflow', 'run', 'cancel', started.id]);
    expect(cancelled.stderr).toBe('');
    expect(cancelled.stdout).toMatch(new RegExp(`^cancelled workflow run ${started.id}; status: \\w+\n$`));
    const run = await until(started.id);
    expect(run.status).toBe('cancelled');
    expect(run.nodes[1]).toMatchObject({ status: 'skipped', reason: 'cancelled' });
  });

  it('updates, pauses, resumes and deletes (with the confirmation rules of task delete)', async () => {
    const id = await create('lifecycle', [{ id: 'a' }]);
    const changed = file('lifecycle-2.yaml', yamlSpec('lifecycle', [{ id: 'a' }, { id: 'b', needs: ['a'] }]));
    const conflict = await ecron(['workflow', 'update', id, '-f', changed, '--revision', '5']);
    expect([conflict.code, conflict.stderr]).toEqual([1, expect.stringMatching(/^ecron: TASK_VERSION_CONFLICT: /)]);
    const updated = await ecron(['workflow', 'update', 'cli/lifecycle', '-f', changed, '--revision', '1']);
    expect(updated.stdout).toMatch(new RegExp(`^updated workflow cli/lifecycle \\(${id}\\) to revision 2\n`));
    expect((await ecron(['workflow', 'pause', 'lifecycle'])).stdout).toMatch(/^paused workflow cli\/lifecycle \(.+\); state: paused, next fire: -\n$/);
    expect((await ecron(['workflow', 'resume', 'lifecycle'])).stdout).toMatch(/^resumed workflow cli\/lifecycle .*state: active/);

    const run = JSON.parse((await ecron(['workflow', 'trigger', id, '--json'])).stdout);
    await until(run.id);
    const unconfirmed = await ecron(['workflow', 'delete', 'lifecycle']);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toBe('ecron: USAGE: deleting workflow cli/lifecycle needs --yes when standard input is not a terminal\n');
    const deleted = await ecron(['workflow', 'delete', 'lifecycle', '--yes']);
    expect(deleted.stdout).toBe(`deleted workflow cli/lifecycle (${id})\n`);
    const gone = await ecron(['workflow', 'get', id]);
    expect([gone.code, gone.stderr]).toEqual([1, `ecron: WORKFLOW_NOT_FOUND: no workflow with id or name "${id}"\n`]);
    // Its runs stay as history: shown flat once the workflow's revisions are gone.
    const history = await ecron(['workflow', 'run', 'get', run.id]);
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/^nodes \(2\) \(the workflow revision cannot be read: nodes in the run's order\):$/m);
    expect(nodeLine(history.stdout, 'b')).toMatch(/^ {2}b +succeeded /);
  });

  it('reports a cycle with exit code 1 and DEPENDENCY_CYCLE in the --json error, and other failures with stable codes', async () => {
    const cyclic = file('cycle.yaml', yamlSpec('cyclic', [{ id: 'a', needs: ['c'] }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['b'] }]));
    const plain = await ecron(['workflow', 'create', '-f', cyclic]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toMatch(/^ecron: VALIDATION_FAILED: .*\n {2}nodes\[\d\]\.needs\[0\]: dependency cycle: .+ → .+\n$/);
    const json = await ecron(['workflow', 'create', '-f', cyclic, '--json']);
    expect(json.code).toBe(1);
    expect(json.stdout).toBe('');
    const error = JSON.parse(json.stderr).error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.issues).toEqual([expect.objectContaining({ code: 'DEPENDENCY_CYCLE', path: expect.stringMatching(/^nodes\[\d\]\.needs\[0\]$/) })]);
    const validated = await ecron(['workflow', 'validate', '-f', cyclic, '--json']);
    expect([validated.code, JSON.parse(validated.stderr).error.details.issues[0].code]).toEqual([1, 'DEPENDENCY_CYCLE']);
    expect((await api.h.call('GET', '/api/v1/workflows?q=cyclic')).json().items).toEqual([]);

    const missing = await ecron(['workflow', 'trigger', 'no-such-workflow', '--json']);
    expect([missing.code, JSON.parse(missing.stderr).error.code]).toEqual([1, 'WORKFLOW_NOT_FOUND']);
    const noRun = await ecron(['workflow', 'run', 'get', 'no-such-run']);
    expect([noRun.code, noRun.stderr]).toEqual([1, expect.stringMatching(/^ecron: WORKFLOW_RUN_NOT_FOUND: /)]);
    const badFile = await ecron(['workflow', 'create', '-f', join(dir.path, 'absent.yaml')]);
    expect([badFile.code, badFile.stderr]).toEqual([1, expect.stringMatching(/^ecron: SPEC_FILE_INVALID: /)]);
  });

  it('resolves names like tasks: a bare name in several namespaces is ambiguous', async () => {
    for (const namespace of ['x1', 'x2']) {
      const created = await ecron(['workflow', 'create', '-f', file(`twin-${namespace}.yaml`, yamlSpec('twin', [{ id: 'a' }], namespace))]);
      expect(created.code).toBe(0);
    }
    const ambiguous = await ecron(['workflow', 'get', 'twin']);
    expect([ambiguous.code, ambiguous.stderr]).toEqual([1, expect.stringMatching(/^ecron: WORKFLOW_REF_AMBIGUOUS: .*\(x1\/twin, x2\/twin\)/)]);
    expect((await ecron(['workflow', 'get', 'x2/twin'])).stdout).toMatch(/^namespace: +x2$/m);
  });

  it('lists its commands in help, and refuses bad arguments before contacting a server (exit 2)', async () => {
    const help = await runCli(['workflow', '--help']);
    expect(help.code).toBe(0);
    for (const command of ['create', 'validate', 'list', 'get', 'update', 'trigger', 'pause', 'resume', 'delete', 'runs', 'rerun', 'run']) {
      expect(help.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    }
    const nodeHelp = await runCli(['workflow', 'run', 'node', '--help']);
    for (const command of ['rerun', 'succeed', 'skip']) expect(nodeHelp.stdout).toMatch(new RegExp(`^ {2}${command}\\b`, 'm'));
    const badStatus = await runCli(['workflow', 'runs', 'x', '--status', 'done', '--server', 'http://127.0.0.1:1']);
    expect([badStatus.code, badStatus.stderr]).toEqual([2, expect.stringMatching(/Allowed choices are pending, running, succeeded, failed, cancelled/)]);
    const badParam = await runCli(['workflow', 'trigger', 'x', '--param', 'novalue', '--server', 'http://127.0.0.1:1', '--json']);
    expect(badParam.code).toBe(2);
    expect(JSON.parse(badParam.stderr).error.code).toBe('USAGE');
  });
});
