import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ApiHarness } from './api-harness.ts';

let h: ApiHarness;
beforeEach(async () => {
  h = await new ApiHarness().start();
});
afterEach(async () => h.close());

interface Entry { id: string; at: string; actor: string; actorName: string | null; action: string; resourceType: string; resourceId: string | null; details: any }

async function allEntries(query = '', limit = 3): Promise<Entry[]> {
  const out: Entry[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const res = await h.call('GET', `/api/v1/audit?limit=${limit}${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    expect(res.statusCode).toBe(200);
    out.push(...res.json().items);
    cursor = res.json().nextCursor;
    pages += 1;
  } while (cursor !== null && pages < 50);
  return out;
}

describe('audit log', () => {
  it('records every management operation with its actor and resource, newest first', async () => {
    const actor = `token:${h.adminId}`;
    const task = await h.createTask({ name: 'audited', params: { v: 1 } });
    const spec = { name: 'audited', schedule: { every: '5m' }, target: { type: 'http', url: `${h.executorUrl}/run` } };
    expect((await h.call('PUT', `/api/v1/tasks/${task.id}`, { body: spec })).statusCode).toBe(200);
    expect((await h.call('POST', `/api/v1/tasks/${task.id}/pause`)).statusCode).toBe(200);
    expect((await h.call('POST', `/api/v1/tasks/${task.id}/resume`)).statusCode).toBe(200);
    const run = (await h.call('POST', `/api/v1/tasks/${task.id}/trigger`)).json();
    await h.ended(run.id);
    const token = await h.token('viewer', ['*'], 'audit-reader');
    expect((await h.call('DELETE', `/api/v1/tokens/${token.id}`)).statusCode).toBe(200);
    expect((await h.call('DELETE', `/api/v1/tasks/${task.id}`)).statusCode).toBe(204);

    // Refused operations leave no entry.
    await h.call('POST', '/api/v1/tasks', { body: { ...spec, name: 'bad', schedule: { cron: 'nope' } } });
    await h.call('POST', '/api/v1/tasks', { token: token.secret, body: { ...spec, name: 'revoked' } });

    const entries = await allEntries();
    expect(new Set(entries.map((e) => e.id)).size).toBe(entries.length);
    expect(entries.map((e) => e.action)).toEqual([
      'task.delete', 'token.revoke', 'token.create', 'task.trigger', 'task.resume', 'task.pause', 'task.update', 'task.create',
      'token.create', // the harness's admin token
    ]);
    const mine = entries.slice(0, -1);
    expect(mine.every((e) => e.actor === actor)).toBe(true);
    const taskEntries = mine.filter((e) => e.action.startsWith('task.') && e.action !== 'task.trigger');
    expect(taskEntries.every((e) => e.resourceType === 'task' && e.resourceId === task.id)).toBe(true);
    expect(mine.find((e) => e.action === 'task.create')?.details).toEqual({ namespace: 'default', name: 'audited' });
    expect(mine.find((e) => e.action === 'task.update')?.details).toMatchObject({ fromRevision: 1 });
    expect(mine.find((e) => e.action === 'token.create')).toMatchObject({ resourceType: 'token', resourceId: token.id, details: { name: 'audit-reader', role: 'viewer' } });
    expect(mine.find((e) => e.action === 'token.revoke')).toMatchObject({ resourceId: token.id });
    expect(JSON.stringify(entries)).not.toContain(token.secret);

    const updates = await allEntries('&action=task.update');
    expect(updates).toHaveLength(1);
    const forTask = await allEntries(`&resourceId=${task.id}`);
    expect(forTask.map((e) => e.action)).toEqual(['task.delete', 'task.resume', 'task.pause', 'task.update', 'task.create']);
  });

  it('names the token behind each actor, revoked tokens too', async () => {
    const editor = await h.token('editor', ['*'], 'deploy-bot');
    expect((await h.call('POST', '/api/v1/tasks', { token: editor.secret, body: { name: 'by-bot', schedule: { manual: true }, target: { type: 'http', url: `${h.executorUrl}/run` } } })).statusCode).toBe(201);
    expect((await h.call('DELETE', `/api/v1/tokens/${editor.id}`)).statusCode).toBe(200);
    const entries = await allEntries();
    expect(entries.map((e) => [e.action, e.actor, e.actorName])).toEqual([
      ['token.revoke', `token:${h.adminId}`, 'test-admin'],
      ['task.create', `token:${editor.id}`, 'deploy-bot'],
      ['token.create', `token:${h.adminId}`, 'test-admin'],
      ['token.create', 'system', null], // the harness's admin token
    ]);
  });
});
