/**
 * `ecron task apply -f FILE|DIR` and the bulk verbs `task pause|resume|delete|trigger -l`, run as the
 * real process against the real REST API.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useApiForCli, useScratchDir } from './cli-harness.ts';

const api = useApiForCli();
const { ecron } = api;
const scratch = useScratchDir();
const file = scratch.file;

const yamlSpec = (name: string, extra = '') => `namespace: apply\nname: ${name}\nschedule: { every: 1m }\ntarget: { type: http, url: "http://127.0.0.1:9000/run" }\nlabels: { team: data }\n${extra}`;

describe('ecron task apply', () => {
  it('creates from a multi-document YAML file, then reports updated and unchanged, exit 0', async () => {
    const path = file('many.yaml', [yamlSpec('one'), '---', yamlSpec('two'), '---', ''].join('\n'));
    const first = await ecron(['task', 'apply', '-f', path]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^created {3}apply\/one \([0-9a-f-]{36}\)\ncreated {3}apply\/two \([0-9a-f-]{36}\)\n2 created, 0 updated, 0 unchanged, 0 failed\n$/);
    writeFileSync(path, [yamlSpec('one', 'params: { v: 2 }'), '---', yamlSpec('two')].join('\n'));
    const second = await ecron(['task', 'apply', '-f', path]);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^updated {3}apply\/one .*\nunchanged apply\/two .*\n0 created, 1 updated, 1 unchanged, 0 failed\n$/);
    expect((await api.h.store.getTaskByName('apply', 'one'))?.revision).toBe(2);
  });

  it('reads a directory of YAML and JSON files, prints each item\'s error and exits non-zero when one failed', async () => {
    const sub = join(scratch.path(), 'specs');
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.yaml'), yamlSpec('dir-a'));
    writeFileSync(join(sub, 'b.json'), JSON.stringify([
      { namespace: 'apply', name: 'dir-b', schedule: { every: '1m' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } },
      { namespace: 'apply', name: 'dir-bad', schedule: { cron: 'nope' }, target: { type: 'http', url: 'http://127.0.0.1:9000/run' } },
    ]));
    writeFileSync(join(sub, 'notes.txt'), 'ignored');
    const res = await ecron(['task', 'apply', '-f', sub]);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^created {3}apply\/dir-a .*\ncreated {3}apply\/dir-b .*\nerror {5}apply\/dir-bad \(.*b\.json#2\): VALIDATION_FAILED: schedule\.cron.*\n2 created, 0 updated, 0 unchanged, 1 failed\n$/);
    expect(res.stderr).toMatch(/ITEMS_FAILED: 1 of 3 specs failed/);
    expect(await api.h.store.getTaskByName('apply', 'dir-b')).not.toBeNull();

    const json = await ecron(['task', 'apply', '-f', join(sub, 'a.yaml'), '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout).items).toEqual([{ id: expect.any(String), action: 'unchanged', source: join(sub, 'a.yaml'), task: 'apply/dir-a' }]);
    const stdin = await ecron(['task', 'apply', '-f', '-'], { input: yamlSpec('from-stdin') });
    expect(stdin.stdout).toMatch(/^created {3}apply\/from-stdin /);
    expect((await ecron(['task', 'apply', '-f', join(scratch.path(), 'missing.yaml')])).stderr).toMatch(/SPEC_FILE_INVALID/);
  });

  it('pauses, resumes, triggers and deletes the tasks of a label selector', async () => {
    await api.h.createTask({ namespace: 'sel', name: 's1', labels: { team: 'ops' } });
    await api.h.createTask({ namespace: 'sel', name: 's2', labels: { team: 'ops' } });
    await api.h.createTask({ namespace: 'sel', name: 's3', labels: { team: 'web' } });
    const paused = await ecron(['task', 'pause', '-l', 'team=ops']);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^paused {4}[0-9a-f-]{36}\npaused {4}[0-9a-f-]{36}\n2 paused, 0 failed\n$/);
    expect((await api.h.store.getTaskByName('sel', 's1'))?.state).toBe('paused');
    expect((await api.h.store.getTaskByName('sel', 's3'))?.state).toBe('active');
    const list = await ecron(['task', 'list', '-l', 'team=ops', '--json']);
    expect(JSON.parse(list.stdout).items.map((t: { name: string }) => t.name)).toEqual(['s1', 's2']);
    expect((await ecron(['task', 'resume', '-l', 'team=ops', '--namespace', 'sel'])).stdout).toMatch(/2 resumed, 0 failed\n$/);
    expect((await ecron(['task', 'trigger', '-l', 'team=web'])).stdout).toMatch(/^triggered [0-9a-f-]{36} run [0-9a-f-]{36}\n1 triggered, 0 failed\n$/);
    expect((await ecron(['task', 'delete', '-l', 'team=ops'])).stderr).toMatch(/needs --yes/);
    expect((await ecron(['task', 'delete', '-l', 'team=ops', '--yes'])).stdout).toMatch(/2 deleted, 0 failed\n$/);
    expect(await api.h.store.getTaskByName('sel', 's1')).toBeNull();
    expect((await ecron(['task', 'pause', 's3', '-l', 'team=web'])).code).toBe(2);
    expect((await ecron(['task', 'pause'])).code).toBe(2);
  });
});
