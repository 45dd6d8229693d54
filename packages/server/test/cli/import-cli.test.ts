/**
 * `ecron import crontab` and `ecron import cronjob`, run as the real process against the real REST
 * API on SQLite: the tasks they create, the dry run's output (which `task apply -f` takes), and
 * per-item errors.
 */
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli, useApiForCli, useScratchDir } from './cli-harness.ts';

const api = useApiForCli();
const { ecron } = api;
const scratch = useScratchDir();
const file = scratch.file;

const ID = '[0-9a-f-]{36}';
const CRONTAB = [
  '# nightly jobs',
  'MAILTO=ops@example.com',
  'CRON_TZ=Asia/Shanghai',
  '30 2 * * * /usr/local/bin/backup-db.sh --full',
  '@reboot /usr/local/bin/warm-cache',
  '@hourly /opt/jobs/rotate.sh | logger -t rotate',
  '',
].join('\n');

describe('ecron import crontab', () => {
  it('creates the tasks through tasks:batch with the right schedules, explains the rest, and is idempotent', async () => {
    const path = file('crontab', CRONTAB);
    const res = await ecron(['import', 'crontab', path, '--group', 'ops', '--namespace', 'imp']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`^created {3}imp/backup-db-l4 \\(${ID}\\) from line 4\ncreated {3}imp/rotate-l6 \\(${ID}\\) from line 6\n2 created, 0 updated, 0 unchanged, 0 failed\n`));
    expect(res.stdout).toContain('Not converted:\n  line 2: MAILTO=ops@example.com: ');
    expect(res.stdout).toMatch(/ {2}line 5: @reboot \/usr\/local\/bin\/warm-cache: @reboot .*no schedule/);
    expect(res.stdout).toContain("  allow:\n    - /usr/local/bin/backup-db.sh --full\n    - /bin/sh -c '/opt/jobs/rotate.sh | logger -t rotate'\n");

    const backup = await api.h.store.getTaskByName('imp', 'backup-db-l4');
    expect(backup?.spec.schedule).toEqual({ cron: '30 2 * * *', timezone: 'Asia/Shanghai' });
    expect(backup?.spec.target).toEqual({ type: 'shell', group: 'ops', command: '/usr/local/bin/backup-db.sh --full' });
    expect(backup?.spec.labels).toEqual({ source: 'crontab' });
    expect(backup?.spec.description).toBe(`crontab ${path} line 4: 30 2 * * * /usr/local/bin/backup-db.sh --full`);
    // 02:30 in Shanghai is 18:30 UTC the day before.
    expect(new Date(backup!.nextFireAt!).toISOString()).toMatch(/T18:30:00\.000Z$/);
    const rotate = await api.h.store.getTaskByName('imp', 'rotate-l6');
    expect(rotate?.spec.schedule).toEqual({ cron: '0 * * * *', timezone: 'Asia/Shanghai' });

    const again = await ecron(['import', 'crontab', path, '--group', 'ops', '--namespace', 'imp', '--json']);
    expect(again.code).toBe(0);
    const json = JSON.parse(again.stdout);
    expect(json.tasks.map((t: { result: { action: string }; source: string }) => [t.source, t.result.action])).toEqual([['line 4', 'unchanged'], ['line 6', 'unchanged']]);
    expect(json.problems).toContainEqual({ severity: 'error', where: 'line 5', message: expect.stringMatching(/^@reboot/) });
    expect(json.agentConfig.allow).toHaveLength(2);
  });

  it('prints with --dry-run the specs that task apply -f takes, and sends nothing', async () => {
    const path = file('dry.crontab', CRONTAB);
    const before = await api.h.taskCount();
    const dry = await ecron(['import', 'crontab', path, '--group', 'ops', '--namespace', 'dry', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stderr).toBe('');
    expect(await api.h.taskCount()).toBe(before);
    const specs = parseAllDocuments(dry.stdout).map((d) => d.toJS());
    expect(specs.map((s) => [s.name, s.schedule])).toEqual([
      ['backup-db-l4', { cron: '30 2 * * *', timezone: 'Asia/Shanghai' }], ['rotate-l6', { cron: '0 * * * *', timezone: 'Asia/Shanghai' }],
    ]);
    expect(dry.stdout).toMatch(/\n# Not converted:\n# {3}line 2: MAILTO/);
    expect(dry.stdout).toMatch(/# \(dry run: nothing was sent to the server\)\n$/);
    const apply = await ecron(['task', 'apply', '-f', file('dry.yaml', dry.stdout)]);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/^created {3}dry\/backup-db-l4 .*\ncreated {3}dry\/rotate-l6 .*\n2 created/);
  });

  it('fails when nothing could be converted, on a usage error, and reports each item the server refused', async () => {
    const nothing = await ecron(['import', 'crontab', file('none.crontab', '@reboot /bin/x\nFOO=1\n')]);
    expect(nothing.code).toBe(1);
    expect(nothing.stdout).toMatch(/line 1: @reboot/);
    expect(nothing.stderr).toMatch(/^ecron: NOTHING_TO_IMPORT: nothing in .*none\.crontab could be converted/);
    const zone = await ecron(['import', 'crontab', file('z.crontab', '* * * * * /bin/x\n'), '--timezone', 'Mars/Base']);
    expect(zone.code).toBe(2);
    expect(zone.stderr).toMatch(/--timezone "Mars\/Base" is not a known IANA time zone/);
    expect((await ecron(['import', 'crontab', join(scratch.path(), 'missing')])).stderr).toMatch(/IMPORT_FILE_INVALID: .*missing: no such file/);

    // A token for another namespace: the server refuses each item in its place.
    const scoped = await api.h.token('editor', ['team-a'], 'import-scoped');
    const server = `http://127.0.0.1:${(api.h.app.server.address() as AddressInfo).port}`;
    const refused = await runCli(['import', 'crontab', file('ns.crontab', CRONTAB), '--namespace', 'team-b', '--server', server, '--token', scoped.secret]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^error {5}team-b\/backup-db-l4 \(line 4\): FORBIDDEN: .*\nerror {5}team-b\/rotate-l6 \(line 6\): FORBIDDEN: .*\n0 created, 0 updated, 0 unchanged, 2 failed\n/);
    expect(refused.stderr).toBe('ecron: ITEMS_FAILED: 2 of 2 tasks failed\n');
    expect(await api.h.store.getTaskByName('team-b', 'backup-db-l4')).toBeNull();
  });
});

const manifest = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name, namespace: 'k8s', labels: { app: name } },
  spec: {
    schedule: '15 3 * * *', timeZone: 'Europe/Paris', concurrencyPolicy: 'Forbid', ...extra,
    jobTemplate: { spec: { backoffLimit: 1, template: { spec: { restartPolicy: 'Never', volumes: [{ name: 'v', emptyDir: {} }], containers: [{ name: 'c', image: 'busybox:1.36', command: ['echo', name], resources: { limits: { cpu: '250m', memory: '64Mi' } } }] } } } },
  },
});

describe('ecron import cronjob', () => {
  const text = [stringify(manifest('report')), stringify(manifest('archive', { suspend: true })), stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cfg' } })].join('---\n');

  it('prints the container specs and the warnings with --dry-run', async () => {
    const dry = await ecron(['import', 'cronjob', file('jobs.yaml', text), '--dry-run', '--engine', 'docker']);
    expect(dry.code).toBe(0);
    const specs = parseAllDocuments(dry.stdout).map((d) => d.toJS());
    expect(specs).toHaveLength(2);
    expect(specs[0]).toMatchObject({
      namespace: 'k8s', name: 'report', labels: { app: 'report', source: 'cronjob' }, schedule: { cron: '15 3 * * *', timezone: 'Europe/Paris' }, overlap: 'skip',
      retry: { maxAttempts: 2 }, target: { type: 'container', image: 'busybox:1.36', command: ['echo', 'report'], resources: { cpus: 0.25, memoryMb: 64 }, engine: 'docker' },
    });
    expect(dry.stdout).toMatch(/# .*jobs\.yaml#2 \(CronJob k8s\/archive\) \(suspended: paused once created\)\n/);
    expect(dry.stdout).toMatch(/# {3}.*jobs\.yaml#3 \(ConfigMap cfg\): not a CronJob/);
    expect(dry.stdout).toMatch(/# {3}.*jobs\.yaml#1 \(CronJob k8s\/report\): pod spec: volumes is not converted/);
  });

  it('sends the specs in one batch and reports each item as the server answers it (created and paused, or refused)', async () => {
    // Whether this server runs container targets yet (another change adds their transport).
    const probe = await api.h.call('POST', '/api/v1/tasks', { body: { namespace: 'probe', name: 'probe', schedule: { manual: true }, target: { type: 'container', image: 'busybox:1.36' } } });
    const res = await ecron(['import', 'cronjob', file('send.yaml', text), '--namespace', 'jobs']);
    if (probe.statusCode === 201) {
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(new RegExp(`^created {3}jobs/report \\(${ID}\\) from .*\ncreated {3}jobs/archive \\(${ID}\\) from .*, paused \\(suspended\\)\n`));
      expect((await api.h.store.getTaskByName('jobs', 'archive'))?.state).toBe('paused');
      expect((await api.h.store.getTaskByName('jobs', 'report'))?.state).toBe('active');
    } else {
      const code = probe.json().error.code as string;
      expect(code).toBe('TARGET_NOT_SUPPORTED');
      expect(res.code).toBe(1);
      expect(res.stdout).toMatch(new RegExp(`^error {5}jobs/report \\(.*send\\.yaml#1 \\(CronJob k8s/report\\)\\): ${code}: target\\.type: .*container.*\nerror {5}jobs/archive \\(.*\\): ${code}: `));
      expect(res.stdout).toMatch(/\n0 created, 0 updated, 0 unchanged, 2 failed\n/);
      expect(res.stderr).toBe('ecron: ITEMS_FAILED: 2 of 2 tasks failed\n');
      expect(await api.h.store.getTaskByName('jobs', 'report')).toBeNull();
    }
    expect(res.stdout).toMatch(/Not converted:\n {2}.*send\.yaml#3 \(ConfigMap cfg\): not a CronJob/);
  });
});
