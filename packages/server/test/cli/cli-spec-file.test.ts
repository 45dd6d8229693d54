import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type StubServer, startStubServer, taskResource, tempDir } from './cli-harness.ts';

const SPEC = {
  namespace: 'default',
  name: 'nightly-report',
  schedule: { cron: '0 30 2 * * *', timezone: 'Asia/Shanghai' },
  target: { type: 'http', url: 'http://127.0.0.1:9000/run' },
  retry: { maxAttempts: 3, backoff: { type: 'exponential', initialMs: 1000, maxMs: 60000 } },
  timeoutMs: 30000,
  overlap: 'skip',
  misfire: { policy: 'fire-once', windowMs: 60000 },
  params: { report: 'daily', on: 'yes' },
};

const SPEC_YAML = `# the nightly report
namespace: default
name: nightly-report
schedule:
  cron: "0 30 2 * * *"
  timezone: Asia/Shanghai
target:
  type: http
  url: http://127.0.0.1:9000/run
retry:
  maxAttempts: 3
  backoff: { type: exponential, initialMs: 1000, maxMs: 60000 }
timeoutMs: 30000
overlap: skip
misfire:
  policy: fire-once
  windowMs: 60000
params:
  report: daily
  on: yes
`;

let stub: StubServer;
let dir: ReturnType<typeof tempDir>;

beforeAll(async () => {
  dir = tempDir();
  stub = await startStubServer((req) => {
    if (req.method === 'POST' && req.path === '/api/v1/tasks') return { status: 201, body: taskResource({ spec: req.body }) };
    if (req.method === 'GET' && req.path === '/api/v1/tasks') return { body: { items: [taskResource()], nextCursor: null } };
    if (req.method === 'PUT' && req.path === '/api/v1/tasks/0190f000-0000-7000-8000-000000000001') return { body: taskResource({ spec: req.body, revision: 2 }) };
    return undefined;
  });
});
afterAll(async () => {
  await stub.close();
  dir.cleanup();
});
afterEach(() => {
  stub.requests.length = 0;
});

function write(name: string, text: string): string {
  const path = join(dir.path, name);
  writeFileSync(path, text);
  return path;
}

const posted = (): unknown[] => stub.requests.filter((r) => r.method === 'POST').map((r) => r.body);

describe('ecron task create -f: loading spec files', () => {
  it('posts a JSON file as it is', async () => {
    const file = write('task.json', JSON.stringify(SPEC, null, 2));
    const result = await runCli(['task', 'create', '-f', file, '--server', stub.url, '--token', 't']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(posted()).toEqual([SPEC]);
    expect(result.stdout).toBe('created task default/nightly-report (0190f000-0000-7000-8000-000000000001)\nnext fire: 2026-12-01T18:30:00Z\n');
  });

  it('posts a YAML file (YAML 1.2: "yes" stays a string) the same as the JSON', async () => {
    const file = write('task.yaml', SPEC_YAML);
    const result = await runCli(['task', 'create', '-f', file, '--server', stub.url]);
    expect(result.code).toBe(0);
    expect(posted()).toEqual([SPEC]);
  });

  it('recognizes YAML and JSON by content when the extension says nothing', async () => {
    const yamlFile = write('task.spec', SPEC_YAML);
    const jsonFile = write('task.txt', `  ${JSON.stringify(SPEC)}`);
    expect((await runCli(['task', 'create', '-f', yamlFile, '--server', stub.url])).code).toBe(0);
    expect((await runCli(['task', 'create', '-f', jsonFile, '--server', stub.url])).code).toBe(0);
    expect(posted()).toEqual([SPEC, SPEC]);
  });

  it('reads standard input for -f -', async () => {
    const result = await runCli(['task', 'create', '-f', '-', '--server', stub.url], { input: SPEC_YAML });
    expect(result.code).toBe(0);
    expect(posted()).toEqual([SPEC]);
  });

  it('reports a missing file as SPEC_FILE_INVALID naming it, without a request', async () => {
    const file = join(dir.path, 'nope.yaml');
    const result = await runCli(['task', 'create', '-f', file, '--server', stub.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`ecron: SPEC_FILE_INVALID: spec file ${file}: no such file\n`);
    expect(stub.requests).toEqual([]);
  });

  it('reports invalid JSON as SPEC_FILE_INVALID naming the file', async () => {
    const file = write('broken.json', '{ "name": "x", }');
    const result = await runCli(['task', 'create', '-f', file, '--server', stub.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`^ecron: SPEC_FILE_INVALID: spec file ${file.replace(/[.]/g, '\\.')}: not valid JSON: .+\\n$`));
    expect(stub.requests).toEqual([]);
  });

  it('reports invalid YAML on one line with its position', async () => {
    const file = write('broken.yaml', 'name: x\nschedule:\n  cron: "* * * * *\ntarget: {type: http\n');
    const result = await runCli(['task', 'create', '-f', file, '--server', stub.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ecron: SPEC_FILE_INVALID: spec file .*broken\.yaml: not valid YAML: .*line \d+, column \d+\n$/);
    expect(stub.requests).toEqual([]);
  });

  it('refuses duplicate keys, a list, a scalar and an empty file', async () => {
    const cases: [string, string, RegExp][] = [
      ['dup.yaml', 'name: a\nname: b\n', /not valid YAML: Map keys must be unique/],
      ['list.yaml', '- name: a\n- name: b\n', /must hold one task spec object, not a list/],
      ['scalar.yaml', 'just words\n', /must hold one task spec object, not string/],
      ['empty.json', '  \n', /is empty/],
    ];
    for (const [name, text, message] of cases) {
      const result = await runCli(['task', 'create', '-f', write(name, text), '--server', stub.url]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^ecron: SPEC_FILE_INVALID: spec file .+/);
      expect(result.stderr).toMatch(message);
    }
    expect(stub.requests).toEqual([]);
  });

  it('prints the created task as raw JSON with --json', async () => {
    const file = write('json-out.json', JSON.stringify(SPEC));
    const result = await runCli(['task', 'create', '-f', file, '--json', '--server', stub.url]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(taskResource({ spec: SPEC }));
  });

  it('task update accepts the output of task get --json, and sends its spec', async () => {
    const file = write('got.json', JSON.stringify(taskResource({ spec: SPEC })));
    const result = await runCli(['task', 'update', 'default/nightly-report', '-f', file, '--server', stub.url]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const put = stub.requests.find((r) => r.method === 'PUT');
    expect(put?.body).toEqual(SPEC);
    expect(result.stdout).toContain('updated task default/nightly-report (0190f000-0000-7000-8000-000000000001) to revision 2');
  });
});
