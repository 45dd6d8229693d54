import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpReceiver } from '../alerts/receivers.ts';
import { tempDir, useApiForCli } from './cli-harness.ts';

/** `ecron alert channel …`, `ecron alert rule …`, `ecron alert silence …` and `ecron incident …` against the real REST API (buildApp over the SQLite store) listening on a local port. */

const api = useApiForCli();
const ecron = api.ecron;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await new HttpReceiver().start();
});
afterAll(async () => receiver?.close());

describe('ecron alert', () => {
  it('manages channels: create (a webhook\'s secret shown once), list, get, update keeping secrets, test, and delete', async () => {
    receiver.answer = () => ({ status: 200, body: 'ok' });
    const created = await ecron(['alert', 'channel', 'create', '--namespace', 'billing', '--name', 'ops', '--type', 'slack',
      '--url', `${receiver.origin}/services/T0/B0/token-1`, '--locale', 'zh', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { channel } = JSON.parse(created.stdout);
    expect(channel).toMatchObject({ namespace: 'billing', name: 'ops', type: 'slack', locale: 'zh', config: { url: `${receiver.origin}/services/T0/B0/***` } });

    const hook = await ecron(['alert', 'channel', 'create', '--namespace', 'billing', '--name', 'hook', '--type', 'webhook', '--url', `${receiver.origin}/hook`,
      '--header', 'authorization=Bearer x']);
    expect(hook.code, hook.stderr).toBe(0);
    expect(hook.stdout).toMatch(/^created alert channel billing\/hook \(.+\), webhook\nsecret: [A-Za-z0-9_-]{43}\n$/);
    expect(hook.stderr).toContain('cannot be shown again');

    const list = await ecron(['alert', 'channel', 'list']);
    expect(list.stdout).toMatch(/^ID +NAMESPACE +NAME +TYPE +LOCALE +LAST SENT +LAST ERROR$/m);
    expect(JSON.parse((await ecron(['alert', 'channel', 'list', '--namespace', 'billing', '--json'])).stdout).items.map((c: { name: string }) => c.name)).toEqual(['hook', 'ops']);

    const test = await ecron(['alert', 'channel', 'test', 'billing/ops']);
    expect(test.stdout).toBe('sent a test notification through alert channel billing/ops: accepted\n');
    expect(receiver.requests.at(-1)!.url).toBe('/services/T0/B0/token-1');
    expect((await ecron(['alert', 'channel', 'get', channel.id])).stdout).toMatch(/^last sent: +\d{4}-/m);

    const stored = await api.h.store.getAlertChannelsByName({ namespace: 'billing', names: ['hook'] });
    const updated = await ecron(['alert', 'channel', 'update', 'billing/hook', '--description', 'pager duty', '--timeout-ms', '3000', '--json']);
    expect(updated.code, updated.stderr).toBe(0);
    expect(JSON.parse(updated.stdout).secret).toBeUndefined();
    const [after] = await api.h.store.getAlertChannelsByName({ namespace: 'billing', names: ['hook'] });
    expect(after).toMatchObject({ description: 'pager duty', config: { ...stored[0]!.config, timeoutMs: 3000 } });

    receiver.answer = () => ({ status: 500, body: 'down for maintenance' });
    const failed = await ecron(['alert', 'channel', 'test', channel.id]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toBe(`ecron: ALERT_CHANNEL_FAILED: Slack webhook ${receiver.origin}/services/T0/B0/*** answered HTTP 500: down for maintenance\n`);
    expect(JSON.parse((await ecron(['alert', 'channel', 'get', 'billing/ops', '--json'])).stdout).lastError).toContain('HTTP 500');

    expect((await ecron(['alert', 'channel', 'delete', 'billing/hook'])).stdout).toMatch(/^deleted alert channel billing\/hook/);
    const gone = await ecron(['alert', 'channel', 'get', 'billing/hook']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('ecron: ALERT_CHANNEL_NOT_FOUND: no alert channel named "hook" in namespace "billing"\n');
  });

  it('manages rules from flags and files: create, list, get, update, disable, enable, delete; a channel in use stays', async () => {
    await ecron(['alert', 'channel', 'create', '--namespace', 'etl', '--name', 'mail', '--type', 'email', '--host', 'smtp.example.com',
      '--from', 'ecron <alerts@example.com>', '--to', 'ops@example.com,dba@example.com']);
    const task = await api.h.createTask({ namespace: 'etl', name: 'nightly' });

    const rate = await ecron(['alert', 'rule', 'create', '--namespace', 'etl', '--name', 'etl-rate', '--on', 'failure-rate', '--rate', '0.2',
      '--window', '1h', '-l', 'team=data', '--channel', 'mail', '--severity', 'critical', '--repeat', '30m', '--no-send-resolved']);
    expect(rate.code, rate.stderr).toBe(0);
    expect(rate.stdout).toMatch(/^created alert rule etl\/etl-rate \(.+\): on failure-rate, labels team=data, channels mail\n$/);

    const dir = tempDir();
    try {
      writeFileSync(join(dir.path, 'missed.yaml'), 'namespace: etl\nname: nightly-missed\non: missed-fire\ngrace: 5m\nchannels: [mail]\n');
      const fromFile = await ecron(['alert', 'rule', 'create', '-f', 'missed.yaml', '--task', 'etl/nightly', '--json'], { cwd: dir.path });
      expect(fromFile.code, fromFile.stderr).toBe(0);
      expect(JSON.parse(fromFile.stdout)).toMatchObject({ name: 'nightly-missed', on: 'missed-fire', grace: '5m', scope: { taskId: task.id } });
    } finally {
      dir.cleanup();
    }
    const lost = JSON.parse((await ecron(['alert', 'rule', 'create', '--namespace', 'etl', '--name', 'lost', '--on', 'node-lost', '--channel', 'mail', '--json'])).stdout);
    expect(lost.scope).toEqual({ namespace: 'etl' });

    const list = await ecron(['alert', 'rule', 'list', '--namespace', 'etl']);
    expect(list.stdout).toMatch(/^ID +NAMESPACE +NAME +ON +SCOPE +SEVERITY +CHANNELS +ENABLED$/m);
    expect(list.stdout).toMatch(/etl-rate +failure-rate +labels team=data +critical +mail +yes/);
    const shown = (await ecron(['alert', 'rule', 'get', 'etl/etl-rate'])).stdout;
    expect(shown).toMatch(/^parameters: +rate 0.2, window 1h, minRuns 5$/m);
    expect(shown).toMatch(/^send resolved: +no$/m);

    const updated = JSON.parse((await ecron(['alert', 'rule', 'update', 'etl/etl-rate', '--min-runs', '20', '--json'])).stdout);
    expect(updated).toMatchObject({ revision: 2, minRuns: 20, rate: 0.2, sendResolved: false, repeatInterval: '30m', scope: { labels: { team: 'data' } } });
    const rekind = JSON.parse((await ecron(['alert', 'rule', 'update', 'etl/etl-rate', '--on', 'consecutive-failures', '--count', '3', '--json'])).stdout);
    expect(rekind).toMatchObject({ on: 'consecutive-failures', count: 3, revision: 3 });
    expect(rekind.rate).toBeUndefined();

    expect((await ecron(['alert', 'rule', 'disable', 'etl/etl-rate'])).stdout).toBe('alert rule etl/etl-rate is disabled\n');
    expect(JSON.parse((await ecron(['alert', 'rule', 'list', '--disabled', '--json'])).stdout).items.map((r: { name: string }) => r.name)).toEqual(['etl-rate']);
    expect((await ecron(['alert', 'rule', 'enable', updated.id])).stdout).toBe('alert rule etl/etl-rate is enabled\n');

    const missing = await ecron(['alert', 'rule', 'create', '--namespace', 'etl', '--name', 'x', '--on', 'timeout', '--channel', 'pager']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('ecron: VALIDATION_FAILED: the request is invalid (1 issue)\n  channels[0]: no alert channel "pager" in namespace "etl"\n');
    const invalid = await ecron(['alert', 'rule', 'create', '--namespace', 'etl', '--name', 'x', '--on', 'failure-rate', '--rate', '0.5', '--channel', 'mail', '--json']);
    expect(JSON.parse(invalid.stderr).error.details.issues[0]).toMatchObject({ path: 'window' });
    expect((await ecron(['alert', 'rule', 'create', '--name', 'x', '--on', 'failure', '--rate', '2'])).stderr).toContain('--rate must be a number greater than 0 and at most 1');

    const inUse = await ecron(['alert', 'channel', 'delete', 'etl/mail']);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toMatch(/^ecron: ALERT_CHANNEL_IN_USE: alert channel etl\/mail cannot be deleted: alert rules etl-rate, lost, nightly-missed send through it/);
    for (const name of ['etl-rate', 'lost', 'nightly-missed']) expect((await ecron(['alert', 'rule', 'delete', `etl/${name}`])).code).toBe(0);
    expect((await ecron(['alert', 'channel', 'delete', 'etl/mail'])).code).toBe(0);
  });
  it('manages silences: create over each scope (for a while, or until an instant), list, list --active, get, expire, delete', async () => {
    const task = await api.h.createTask({ namespace: 'ops', name: 'backup', labels: { tier: 'db' } });
    await ecron(['alert', 'channel', 'create', '--namespace', 'ops', '--name', 'hook', '--type', 'webhook', '--url', `${receiver.origin}/hook`]);
    const rule = JSON.parse((await ecron(['alert', 'rule', 'create', '--namespace', 'ops', '--name', 'fails', '--on', 'failure', '--channel', 'hook', '--json'])).stdout);
    const now = api.h.clock.now();
    const iso = (ms: number) => new Date(ms).toISOString();

    const byTask = await ecron(['alert', 'silence', 'create', '--namespace', 'ops', '--task', 'ops/backup', '--rule', 'ops/fails', '--for', '2h', '--comment', 'disk swap']);
    expect(byTask.code, byTask.stderr).toBe(0);
    expect(byTask.stdout).toMatch(new RegExp(`^created alert silence \\S+ in ops: task ${task.id}, rules ${rule.id}, .+ to .+ \\(active\\)\n$`));
    const whole = JSON.parse((await ecron(['alert', 'silence', 'create', '--namespace', 'ops', '--whole-namespace', '--until', iso(now + 86_400_000),
      '--comment', 'upgrade', '--json'])).stdout);
    expect(whole).toMatchObject({ scope: { namespace: 'ops' }, ruleIds: null, startsAt: iso(now), endsAt: iso(now + 86_400_000), state: 'active', comment: 'upgrade' });
    const later = JSON.parse((await ecron(['alert', 'silence', 'create', '--namespace', 'ops', '-l', 'tier=db', '--label', 'zone=a', '--start', iso(now + 3_600_000),
      '--for', '30m', '--comment', 'window', '--json'])).stdout);
    expect(later).toMatchObject({ scope: { labels: { tier: 'db', zone: 'a' } }, state: 'pending', endsAt: iso(now + 5_400_000) });

    const list = await ecron(['alert', 'silence', 'list', '--namespace', 'ops']);
    expect(list.stdout).toMatch(/^ID +NAMESPACE +SCOPE +RULES +STATE +STARTS +ENDS +COMMENT$/m);
    expect(list.stdout).toMatch(/labels tier=db,zone=a +all +pending/);
    const active = JSON.parse((await ecron(['alert', 'silence', 'list', '--active', '--json'])).stdout);
    expect(active.items.map((x: { comment: string }) => x.comment).sort()).toEqual(['disk swap', 'upgrade']);
    expect((await ecron(['alert', 'silence', 'get', whole.id])).stdout).toMatch(/^scope: +namespace ops$/m);

    const expired = await ecron(['alert', 'silence', 'expire', whole.id]);
    expect(expired.stdout).toBe(`expired alert silence ${whole.id} (namespace ops): ended at ${iso(now).replace('.000Z', 'Z')}\n`);
    const again = await ecron(['alert', 'silence', 'expire', whole.id, '--json']);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr).error.code).toBe('ALERT_SILENCE_ENDED');
    expect(JSON.parse((await ecron(['alert', 'silence', 'get', whole.id, '--json'])).stdout).state).toBe('expired');

    const usage = await ecron(['alert', 'silence', 'create', '--task', 'ops/backup', '--whole-namespace', '--for', '1h', '--comment', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give one scope: --task, --workflow, --label or --whole-namespace');
    expect((await ecron(['alert', 'silence', 'create', '--whole-namespace', '--comment', 'x'])).stderr).toContain('give how long: --for DURATION');
    const tooLong = await ecron(['alert', 'silence', 'create', '--namespace', 'ops', '--whole-namespace', '--for', '100d', '--comment', 'x']);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr).toMatch(/^ecron: VALIDATION_FAILED: .*\n {2}duration: duration must be between 1m and 90d\n$/);

    expect(JSON.parse((await ecron(['alert', 'silence', 'delete', later.id, '--json'])).stdout)).toEqual({ id: later.id, deleted: true });
    const gone = await ecron(['alert', 'silence', 'get', later.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe(`ecron: ALERT_SILENCE_NOT_FOUND: no alert silence ${later.id}\n`);
  });

  it('lists, shows, acknowledges and resolves incidents (ecron incident …)', async () => {
    const store = api.h.store;
    expect((await ecron(['incident', 'list'])).stdout).toBe('(no incidents)\n');
    const now = Date.now();
    await store.claimAlertEvaluator({ owner: 'cli', ttlMs: 3_600_000, initialCursor: 0 });
    const subject = { kind: 'task' as const, id: 'task-cli', name: 'nightly' };
    const { opened: [incident] } = await store.applyAlertChanges({
      owner: 'cli', from: 0, to: 0, at: now, changes: [{
        kind: 'fire', ruleId: 'rule-cli', ruleName: 'nightly-fails', on: 'failure', namespace: 'billing', subject, severity: 'critical',
        summary: 'a run of task billing/nightly failed: exit 3', details: { error: 'exit 3' }, targets: [],
        notification: { state: 'firing', severity: 'critical', rule: { name: 'nightly-fails', on: 'failure' }, subject, namespace: 'billing', summary: 'x', details: {}, at: new Date(now).toISOString() },
      }],
    });
    const list = await ecron(['incident', 'list', '--state', 'open']);
    expect(list.stdout).toMatch(/^ID +STATE +SEVERITY +RULE +SUBJECT +OPENED +SUMMARY$/m);
    expect(list.stdout).toContain('critical');
    expect(list.stdout).toContain('a run of task billing/nightly failed: exit 3');
    expect((await ecron(['incident', 'get', incident!.id])).stdout).toMatch(/^rule: +nightly-fails \(failure, rule-cli\)$/m);
    expect((await ecron(['incident', 'ack', incident!.id])).stdout).toBe(`incident ${incident!.id} acknowledged (nightly-fails: task nightly)\n`);
    const again = await ecron(['incident', 'ack', incident!.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(`ecron: INCIDENT_STATE_CONFLICT: incident ${incident!.id} is acknowledged: it cannot be acknowledged\n`);
    const resolved = JSON.parse((await ecron(['incident', 'resolve', incident!.id, '--json'])).stdout);
    expect(resolved).toMatchObject({ state: 'resolved', resolvedBy: expect.any(String) });
    expect(JSON.parse((await ecron(['incident', 'list', '--state', 'open', '--json'])).stdout).items).toEqual([]);
  });
});
