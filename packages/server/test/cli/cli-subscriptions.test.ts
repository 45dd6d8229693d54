import { describe, expect, it } from 'vitest';
import { useApiForCli } from './cli-harness.ts';

/** `ecron subscription …` against the real REST API (buildApp over the SQLite store) listening on a local port. */

const api = useApiForCli();
const ecron = api.ecron;

describe('ecron subscription', () => {
  it('creates a webhook (its secret shown once), lists, gets, pauses, resumes, lists dead letters, replays and deletes, with --json', async () => {
    const created = await ecron(['subscription', 'create', '--name', 'hook', '--namespace', 'team-a', '--type', 'webhook',
      '--url', 'http://127.0.0.1:9/hook', '--header', 'authorization=Bearer x', '--event-type', 'run.failed,run.timed_out', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const { subscription, secret } = JSON.parse(created.stdout);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(subscription).toMatchObject({ namespace: 'team-a', name: 'hook', type: 'webhook', state: 'active', filter: { types: ['run.failed', 'run.timed_out'] } });
    expect(subscription.config).toMatchObject({ url: 'http://127.0.0.1:9/hook', secret: '***', headers: { authorization: 'Bearer x' } });

    const text = await ecron(['subscription', 'create', '--name', 'plain', '--namespace', 'team-a', '--type', 'webhook', '--url', 'http://127.0.0.1:9/other']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^created subscription team-a\/plain \(.+\), webhook, active, after seq \d+\nsecret: \S+\n$/);
    expect(text.stderr).toContain('cannot be shown again');

    const list = await ecron(['subscription', 'list']);
    expect(list.stdout).toMatch(/^ID +NAMESPACE +NAME +TYPE +STATE +CURSOR +LAG +FAILURES +LAST ERROR$/m);
    expect(list.stdout).toContain('hook');
    expect(JSON.parse((await ecron(['subscription', 'list', '--json'])).stdout).items.map((s: { name: string }) => s.name)).toEqual(['hook', 'plain']);
    expect((await ecron(['subscription', 'get', subscription.id])).stdout).toMatch(/^state: +active$/m);

    expect((await ecron(['subscription', 'pause', subscription.id])).stdout).toMatch(/^subscription team-a\/hook is paused/);
    expect(JSON.parse((await ecron(['subscription', 'resume', subscription.id, '--json'])).stdout).state).toBe('active');
    expect((await ecron(['subscription', 'dead-letters', subscription.id])).stdout).toBe('(no dead letters)\n');
    expect(JSON.parse((await ecron(['subscription', 'replay', subscription.id, '--json'])).stdout)).toEqual({ replayed: 0, remaining: 0, error: null });

    const denied = await ecron(['subscription', 'create', '--name', 'bad', '--type', 'webhook', '--url', 'http://169.254.169.254/x', '--json']);
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stderr).error.code).toBe('OUTBOUND_DENIED');

    expect((await ecron(['subscription', 'delete', subscription.id])).stdout).toBe(`deleted subscription ${subscription.id}\n`);
    const gone = await ecron(['subscription', 'get', subscription.id]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('SUBSCRIPTION_NOT_FOUND');
  });
});
