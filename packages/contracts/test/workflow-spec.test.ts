import { describe, expect, it } from 'vitest';
import { MAX_WORKFLOW_NODES, NODE_ID_PATTERN, TaskSpecSchema, toFieldIssues, WorkflowSpecSchema, type WorkflowSpecInput } from '../src/index.ts';

const target = { type: 'http', url: 'http://127.0.0.1:9000/run' } as const;
const result = (input: unknown) => WorkflowSpecSchema.safeParse(input);
const fieldIssues = (input: unknown) => {
  const parsed = result(input);
  if (parsed.success) throw new Error('expected the spec to be refused');
  return toFieldIssues(parsed.error);
};
const issues = (input: unknown) => fieldIssues(input).map(({ path, code }) => ({ path, code }));
const spec = (nodes: unknown[], extra: object = {}) => ({ name: 'wf', nodes, ...extra });
const chain = (length: number) => Array.from({ length }, (_, i) => ({ id: `n${i}`, task: 'step', ...(i > 0 ? { needs: [`n${i - 1}`] } : {}) }));

describe('workflow spec', () => {
  it('fills defaults like a task spec', () => {
    const input: WorkflowSpecInput = { name: 'wf', nodes: [{ id: 'a', task: 'extract' }, { id: 'b', target, needs: ['a'] }] };
    expect(WorkflowSpecSchema.parse(input)).toEqual({
      namespace: 'default', name: 'wf', schedule: { manual: true },
      misfire: { policy: 'fire-once', maxCatchUp: 100 }, overlap: 'allow', params: {},
      nodes: [
        { id: 'a', task: 'extract', needs: [], params: {}, run: 'on-success' },
        {
          id: 'b', target, needs: [{ node: 'a', optional: false }], params: {}, run: 'on-success',
          retry: { maxAttempts: 1, backoff: { type: 'exponential', initialMs: 1000, maxMs: 60_000, multiplier: 2, jitter: 0 } },
        },
      ],
    });
    const task = TaskSpecSchema.parse({ name: 't', schedule: { manual: true }, target });
    const workflow = WorkflowSpecSchema.parse(spec([{ id: 'a', task: 't' }]));
    expect([workflow.misfire, workflow.overlap, workflow.params, workflow.namespace]).toEqual([task.misfire, task.overlap, task.params, task.namespace]);
  });

  it('reads every field, durations included', () => {
    const parsed = WorkflowSpecSchema.parse({
      namespace: 'etl', name: 'nightly.v2', description: 'd', schedule: { cron: '0 3 * * *', timezone: 'Europe/Paris' },
      misfire: { policy: 'skip' }, overlap: 'queue-one', params: { day: '{{ workflow.scheduledAt }}' }, timeoutMs: '2h',
      nodes: [
        { id: 'fetch', description: 'get files', target, retry: { maxAttempts: 3 }, timeoutMs: '5m', run: 'always', params: { region: 'eu' } },
        { id: 'report', task: 'send-report', needs: [{ node: 'fetch', optional: true }], run: 'on-failure', params: { files: '{{ nodes.fetch.output.files }}' } },
      ],
    });
    expect(parsed.schedule).toEqual({ cron: '0 3 * * *', timezone: 'Europe/Paris' });
    expect([parsed.timeoutMs, parsed.misfire.policy, parsed.overlap]).toEqual([7_200_000, 'skip', 'queue-one']);
    expect(parsed.nodes[0]).toMatchObject({ id: 'fetch', description: 'get files', timeoutMs: 300_000, run: 'always', retry: { maxAttempts: 3 } });
    expect(parsed.nodes[1]).toEqual({ id: 'report', task: 'send-report', needs: [{ node: 'fetch', optional: true }], run: 'on-failure', params: { files: '{{ nodes.fetch.output.files }}' } });
  });

  it('normalises needs to { node, optional }', () => {
    const parsed = WorkflowSpecSchema.parse(spec([
      { id: 'a', task: 't' }, { id: 'b', task: 't' }, { id: 'c', task: 't' },
      { id: 'd', task: 't', needs: ['a', { node: 'b' }, { node: 'c', optional: true }] },
    ]));
    expect(parsed.nodes[3]!.needs).toEqual([{ node: 'a', optional: false }, { node: 'b', optional: false }, { node: 'c', optional: true }]);
  });

  it('checks node ids against NODE_ID_PATTERN', () => {
    expect(['a', '_x', 'A-b_9', 'x'.repeat(128)].every((id) => NODE_ID_PATTERN.test(id))).toBe(true);
    expect(['', '9a', '-a', 'a.b', 'a b', 'x'.repeat(129)].some((id) => NODE_ID_PATTERN.test(id))).toBe(false);
    expect(issues(spec([{ id: 'a.b', task: 't' }]))).toEqual([{ path: 'nodes[0].id', code: 'INVALID_FORMAT' }]);
  });

  it.each([
    ['no nodes', { name: 'wf' }, 'nodes', 'REQUIRED'],
    ['an empty node list', spec([]), 'nodes', 'OUT_OF_RANGE'],
    ['a node without task or target', spec([{ id: 'a' }]), 'nodes[0]', 'NODE_TARGET_REQUIRED'],
    ['a node with both task and target', spec([{ id: 'a', task: 't', target }]), 'nodes[0].target', 'NODE_TARGET_CONFLICT'],
    ['retry on a task node', spec([{ id: 'a', task: 't', retry: { maxAttempts: 2 } }]), 'nodes[0].retry', 'NODE_TARGET_CONFLICT'],
    ['timeoutMs on a task node', spec([{ id: 'a', task: 't', timeoutMs: '1m' }]), 'nodes[0].timeoutMs', 'NODE_TARGET_CONFLICT'],
    ['a bad task name', spec([{ id: 'a', task: 'no spaces' }]), 'nodes[0].task', 'INVALID_FORMAT'],
    ['a bad target', spec([{ id: 'a', target: { type: 'ftp' } }]), 'nodes[0].target.type', 'INVALID_VALUE'],
    ['an unknown node field', spec([{ id: 'a', task: 't', after: ['b'] }]), 'nodes[0].after', 'UNKNOWN_FIELD'],
    ['a bad run condition', spec([{ id: 'a', task: 't', run: 'sometimes' }]), 'nodes[0].run', 'INVALID_VALUE'],
    ['a need that is not an id', spec([{ id: 'a', task: 't', needs: [5] }]), 'nodes[0].needs[0]', 'INVALID_VALUE'],
    ['a need with a bad id', spec([{ id: 'a', task: 't', needs: ['b c'] }]), 'nodes[0].needs[0]', 'INVALID_FORMAT'],
    ['a need object with an unknown field', spec([{ id: 'a', task: 't', needs: [{ node: 'b', soft: true }] }]), 'nodes[0].needs[0].soft', 'UNKNOWN_FIELD'],
    ['a duplicate node id', spec([{ id: 'a', task: 't' }, { id: 'b', task: 't' }, { id: 'a', target }]), 'nodes[2].id', 'DUPLICATE_NODE_ID'],
    ['a need naming an unknown node', spec([{ id: 'a', task: 't' }, { id: 'b', task: 't', needs: ['a', 'ghost'] }]), 'nodes[1].needs[1]', 'UNKNOWN_NODE'],
    ['a node needing itself', spec([{ id: 'a', task: 't', needs: ['a'] }]), 'nodes[0].needs[0]', 'SELF_DEPENDENCY'],
    ['the same need twice', spec([{ id: 'a', task: 't' }, { id: 'b', task: 't', needs: ['a', { node: 'a', optional: true }] }]), 'nodes[1].needs[1]', 'DUPLICATE_NEED'],
    ['a cycle', spec([{ id: 'a', task: 't', needs: ['c'] }, { id: 'b', task: 't', needs: ['a'] }, { id: 'c', task: 't', needs: ['b'] }]), 'nodes[1].needs[0]', 'DEPENDENCY_CYCLE'],
    ['a malformed template', spec([{ id: 'a', task: 't', params: { cmd: ['x', { arg: '{{ params.a + 1 }}' }] } }]), 'nodes[0].params.cmd[1].arg', 'TEMPLATE_INVALID'],
    ['code in a template', spec([{ id: 'a', task: 't', params: { x: "{{ constructor.constructor('x')() }}" } }]), 'nodes[0].params.x', 'TEMPLATE_INVALID'],
    ['a template naming an unknown node', spec([{ id: 'a', task: 't', params: { x: '{{ nodes.ghost.output }}' } }]), 'nodes[0].params.x', 'UNKNOWN_NODE'],
    ['a template naming a node that is not upstream', spec([{ id: 'a', task: 't' }, { id: 'b', task: 't', params: { x: { y: ['{{ nodes.a.output }}'] } } }]), 'nodes[1].params.x.y[0]', 'TEMPLATE_NOT_ANCESTOR'],
    ['a template naming its own node', spec([{ id: 'a', task: 't', params: { me: '{{ nodes.a.status }}' } }]), 'nodes[0].params.me', 'TEMPLATE_NOT_ANCESTOR'],
    ['a template naming a downstream node', spec([{ id: 'a', task: 't', params: { x: '{{ nodes.b.output }}' } }, { id: 'b', task: 't', needs: ['a'] }]), 'nodes[0].params.x', 'TEMPLATE_NOT_ANCESTOR'],
    ['workflow params naming a node', spec([{ id: 'a', task: 't' }], { params: { x: ['{{ nodes.a.output }}'] } }), 'params.x[0]', 'TEMPLATE_NOT_ANCESTOR'],
    ['workflow params naming params', spec([{ id: 'a', task: 't' }], { params: { x: '{{ params.y }}', y: 1 } }), 'params.x', 'TEMPLATE_INVALID'],
    ['malformed workflow params', spec([{ id: 'a', task: 't' }], { params: { x: '{{ workflow.nope }}' } }), 'params.x', 'TEMPLATE_INVALID'],
    ['workflow params too large', spec([{ id: 'a', task: 't' }], { params: { blob: 'x'.repeat(70_000) } }), 'params', 'PARAMS_TOO_LARGE'],
    ['node params too large', spec([{ id: 'a', task: 't', params: { blob: 'é'.repeat(40_000) } }]), 'nodes[0].params', 'PARAMS_TOO_LARGE'],
    ['a bad schedule', spec([{ id: 'a', task: 't' }], { schedule: { every: '1s', cron: '* * * * *' } }), 'schedule', 'SCHEDULE_KIND_INVALID'],
    ['a workflow deadline of 0', spec([{ id: 'a', task: 't' }], { timeoutMs: 0 }), 'timeoutMs', 'DURATION_OUT_OF_RANGE'],
    ['a workflow deadline over 7 days', spec([{ id: 'a', task: 't' }], { timeoutMs: '8d' }), 'timeoutMs', 'DURATION_OUT_OF_RANGE'],
    ['a bad misfire policy', spec([{ id: 'a', task: 't' }], { misfire: { policy: 'never' } }), 'misfire.policy', 'INVALID_VALUE'],
    ['an unknown workflow field', spec([{ id: 'a', task: 't' }], { steps: [] }), 'steps', 'UNKNOWN_FIELD'],
  ])('refuses %s at %s with %s', (_what, input, path, code) => {
    expect(issues(input)).toContainEqual({ path, code });
  });

  it('names the cycle in its message, at the need that closes it', () => {
    const found = fieldIssues(spec([
      { id: 'start', task: 't' },
      { id: 'a', task: 't', needs: ['start', 'b'] },
      { id: 'b', task: 't', needs: ['c'] },
      { id: 'c', task: 't', needs: [{ node: 'a', optional: true }] },
    ]));
    expect(found).toEqual([{ path: 'nodes[3].needs[0]', code: 'DEPENDENCY_CYCLE', message: 'dependency cycle: a → b → c → a' }]);
  });

  it('reports every graph problem at once', () => {
    expect(issues(spec([
      { id: 'a', task: 't', needs: ['a', 'ghost'] },
      { id: 'a', task: 't' },
      { id: 'b', task: 't', needs: ['c', 'c'], params: { x: '{{ nodes.nobody.output }}' } },
      { id: 'c', task: 't', needs: ['b'] },
    ]))).toEqual([
      { path: 'nodes[1].id', code: 'DUPLICATE_NODE_ID' },
      { path: 'nodes[0].needs[0]', code: 'SELF_DEPENDENCY' },
      { path: 'nodes[0].needs[1]', code: 'UNKNOWN_NODE' },
      { path: 'nodes[2].needs[1]', code: 'DUPLICATE_NEED' },
      { path: 'nodes[3].needs[0]', code: 'DEPENDENCY_CYCLE' },
      { path: 'nodes[2].params.x', code: 'UNKNOWN_NODE' },
    ]);
  });

  it('checks the graph only once every node is valid', () => {
    expect(issues(spec([{ id: 'a', task: 't', needs: 'b' }, { id: 'b', task: 't', needs: ['a'] }, { id: 'b', task: 't' }])))
      .toEqual([{ path: 'nodes[0].needs', code: 'INVALID_TYPE' }]);
    expect(issues(spec([{ id: 'a', target: { type: 'http', url: 'x' }, needs: ['a'], params: { x: '{{ nodes.zz.output }}' } }])))
      .toEqual([{ path: 'nodes[0].target.url', code: 'INVALID_FORMAT' }]);
  });

  it('accepts templates naming ancestors: direct or transitive, required or optional', () => {
    const parsed = result(spec([
      { id: 'a', task: 't' },
      { id: 'b', task: 't', needs: [{ node: 'a', optional: true }] },
      { id: 'c', target, needs: ['b'], params: { direct: '{{ nodes.b.output }}', far: ['x {{ nodes.a.status }}'], run: '{{ workflow.runId }}', p: '{{ params.day }}' } },
    ], { params: { day: '{{ workflow.scheduledAt }}', name: 'w {{ workflow.name }}' } }));
    expect(parsed.success).toBe(true);
  });

  it('validates a 10,000-node chain, templates reaching the first node', () => {
    const nodes = chain(MAX_WORKFLOW_NODES);
    nodes[nodes.length - 1] = { ...nodes[nodes.length - 1]!, params: { first: '{{ nodes.n0.output }}' } } as (typeof nodes)[number];
    const parsed = result(spec(nodes));
    expect(parsed.success).toBe(true);
    const cyclic = chain(MAX_WORKFLOW_NODES);
    cyclic[0] = { id: 'n0', task: 'step', needs: [`n${MAX_WORKFLOW_NODES - 1}`] };
    expect(issues(spec(cyclic))).toEqual([{ path: 'nodes[1].needs[0]', code: 'DEPENDENCY_CYCLE' }]);
  });

  it('refuses more than 10,000 nodes with WORKFLOW_TOO_LARGE before reading any of them', () => {
    expect(fieldIssues(spec(chain(MAX_WORKFLOW_NODES + 1)))).toEqual([
      { path: 'nodes', code: 'WORKFLOW_TOO_LARGE', message: 'a workflow has at most 10000 nodes; got 10001' },
    ]);
    // Nodes that would each be refused: only the length is reported, so none of them was parsed.
    expect(issues(spec(new Array(1_000_000).fill({ id: '!', bogus: true })))).toEqual([{ path: 'nodes', code: 'WORKFLOW_TOO_LARGE' }]);
  });

  it('leaves the task spec unchanged', () => {
    expect(TaskSpecSchema.safeParse({ name: 'n', schedule: { manual: true }, target, nodes: [] }).success).toBe(false);
    expect(TaskSpecSchema.safeParse({ name: 'n', target }).success).toBe(false);
  });
});
