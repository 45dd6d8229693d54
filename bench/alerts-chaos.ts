/**
 * Alerts under faults (issue 19): 3 `ecron start` nodes on a scratch schema of the machine's
 * PostgreSQL, one SDK executor process, N tasks firing every minute (`* * * * *`, misfire `skip`),
 * 5 % of them failing. One webhook alert channel to a receiver run here (it verifies every
 * signature), a `failure` rule and a `missed-fire` rule (grace 20 s) over the namespace.
 *
 * 1. The first minute's instant I1 fires normally: the failing tasks open one failure incident each.
 * 2. The whole cluster (and the executor) is SIGKILLed 25 s after I1 and kept down for 3 minutes:
 *    the instants I2, I3 and I4 pass with nobody to fire them.
 * 3. The cluster restarts: the first check opens one missed-fire incident per task (I2–I4 missed),
 *    2,000 firing notifications: the alert storm. During it, the node holding the evaluator's lease
 *    is SIGKILLed and started again.
 * 4. I5 fires on time: every missed-fire incident resolves (a resolved notification each).
 *
 * Judged (exit 1 otherwise): exactly one missed-fire incident per task, each resolved at the end;
 * one failure incident per failing task; every notification the store holds received, with no
 * change of state notified twice (after deduplication by notification id); no notification left
 * unsent; no node crash. Printed, not judged: how long after its due time each missed-fire
 * incident opened (due: the later of the last missed instant's grace end and the cluster's return),
 * and the raw redeliveries (the same notification id received again).
 *
 *   node bench/alerts-chaos.ts [--tasks 2000] [--fail 0.05] [--down-s 180] [--grace-s 20] [--out FILE]
 *   node bench/alerts-chaos.ts --quick     # 200 tasks, down 130 s
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { SIGNATURE_HEADER } from '@ecron/contracts';
import { verifySignature } from '@ecron/contracts/signature';
import { adminStatement } from '../packages/server/scripts/scratch-sql-store.ts';
import { ADMIN_TOKEN, ChaosCluster } from './chaos/cluster.ts';
import { EcronApi } from './lib/api.ts';
import { sleep, startWatchdog } from './lib/children.ts';
import { IpcChild } from './lib/ipc-child.ts';
import { REPO_ROOT } from './lib/processes.ts';
import { waitRoutable } from './lib/sdk-executors.ts';
import { percentile } from './lib/stats.ts';
import { machineLine, printResult, progress } from './lib/table.ts';

const { values } = parseArgs({
  options: {
    tasks: { type: 'string' }, fail: { type: 'string', default: '0.05' }, 'down-s': { type: 'string' }, 'grace-s': { type: 'string', default: '20' },
    'postgres-url': { type: 'string', default: process.env.ECRON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'log-dir': { type: 'string' }, out: { type: 'string' }, quick: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const taskCount = Number(values.tasks ?? (quick ? 200 : 2000));
const failShare = Number(values.fail);
const downS = Number(values['down-s'] ?? (quick ? 130 : 180));
const graceS = Number(values['grace-s']);
if (![taskCount, failShare, downS, graceS].every(Number.isFinite) || taskCount < 1 || downS < 60 || graceS < 1) {
  process.stderr.write('usage: node bench/alerts-chaos.ts [--tasks 2000] [--fail 0.05] [--down-s 180 (≥ 60)] [--grace-s 20] [--quick] [--log-dir DIR] [--out FILE]\n');
  process.exit(2);
}
startWatchdog((downS + 600) * 1000, 'alerts-chaos');
const NS = 'alerts';
const GROUP = 'alerting';
const RUN = randomBytes(4).toString('hex');
const SECRET = `alerts-chaos-secret-${RUN}`;
const failing = (i: number): boolean => i % Math.round(1 / failShare) === 0;

interface Received { id: string; incidentId: string; state: string; on: string; subject: string; at: number }

/** The alert webhook: verifies each signature, keeps each notification as received. */
class Receiver {
  readonly received: Received[] = [];
  badSignatures = 0;
  #server: Server | null = null;

  async listen(): Promise<string> {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (!verifySignature(SECRET, body, req.headers[SIGNATURE_HEADER] as string | undefined, Date.now()).ok) {
          this.badSignatures++;
          res.writeHead(401).end();
          return;
        }
        const n = JSON.parse(body) as { id: string; incidentId: string; state: string; rule: { on: string }; subject: { id: string } };
        this.received.push({ id: n.id, incidentId: n.incidentId, state: n.state, on: n.rule.on, subject: n.subject.id, at: Date.now() });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    this.#server.listen(0, '127.0.0.1');
    await new Promise((resolve) => this.#server!.once('listening', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/alerts`;
  }

  close(): void {
    this.#server?.closeAllConnections();
    this.#server?.close();
  }
}

/** The SDK executor process (bench/quota-executor.ts: returns at once, throws for params { fail: true }). */
class Executor extends IpcChild {
  static async start(url: string): Promise<Executor> {
    const child = IpcChild.spawn(`${REPO_ROOT}/bench/quota-executor.ts`, {
      ECRON_SERVER: url, ECRON_TOKEN: ADMIN_TOKEN, NAMESPACE: NS, GROUP, NODE_ID: `alerts-${RUN}-${Date.now()}`, HANDLER_MS: '0', MAX_CONCURRENCY: '2000', SAMPLE_MS: '1000',
    });
    const handle = new Executor('executor', child);
    await handle.next('ready', 60_000);
    await waitRoutable(url, ADMIN_TOKEN, GROUP, 1);
    return handle;
  }
}

async function must<T>(cluster: ChaosCluster, method: string, path: string, body?: unknown): Promise<T> {
  for (let tries = 0; ; tries++) {
    const answer = await cluster.api<T>(method, path, body).catch((error: unknown) => ({ status: 0, body: String(error) as T }));
    if (answer.status >= 200 && answer.status < 300) return answer.body;
    if (tries >= 60) throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    await sleep(1000);
  }
}

/** Sleeps until `at` (ms since the epoch). */
const until = (at: number): Promise<void> => sleep(at - Date.now());
const nextMinute = (t: number): number => Math.ceil((t + 1) / 60_000) * 60_000;

async function main(): Promise<void> {
  console.log(`# alerts-chaos: 3 nodes on PostgreSQL, ${taskCount} tasks every minute (${Math.round(failShare * 100)} % failing), the whole cluster down ${downS} s, the evaluator's node killed in the storm; grace ${graceS} s`);
  console.log(machineLine());
  const cluster = new ChaosCluster(values['postgres-url'], [], { logDir: values['log-dir'], logLevel: 'warn' });
  const receiver = new Receiver();
  let executor: Executor | null = null;
  const failures: string[] = [];
  try {
    const hook = await receiver.listen();
    await cluster.start(3);
    progress(`3 nodes balanced in ${await cluster.waitBalanced(60_000)} ms on ${cluster.storeUrl}`);
    await must(cluster, 'PUT', `/api/v1/namespaces/${NS}`, { description: 'alerts-chaos' });
    executor = await Executor.start(cluster.processes[0]!.url);
    await must(cluster, 'POST', '/api/v1/alert-channels', { namespace: NS, name: 'hook', type: 'webhook', config: { url: hook, secret: SECRET } });
    await must(cluster, 'POST', '/api/v1/alert-rules', { namespace: NS, name: 'failures', on: 'failure', scope: { namespace: NS }, channels: ['hook'] });
    await must(cluster, 'POST', '/api/v1/alert-rules', { namespace: NS, name: 'missed', on: 'missed-fire', grace: `${graceS}s`, scope: { namespace: NS }, channels: ['hook'] });
    const api = new EcronApi(cluster.processes[0]!.url, ADMIN_TOKEN, 4);
    const created = await api.createTasksBatch(taskCount, (i) => ({
      namespace: NS, name: `job-${i}`, schedule: { cron: '* * * * *' }, misfire: { policy: 'skip' },
      target: { type: 'executor', group: GROUP, handler: 'work' }, params: failing(i) ? { fail: true } : {},
    }), { batch: 5000, concurrency: 1 });
    await api.close();
    const taskIds = new Set(created.ids);
    const failingIds = new Set(created.ids.filter((_, i) => failing(i)));
    // I1: the first instant far enough ahead of the creation (the tasks exist before it).
    const I1 = nextMinute(Date.now() + 5000);
    progress(`${taskCount} tasks (${failingIds.size} failing); I1 = ${new Date(I1).toISOString()}`);

    await until(I1 + 25_000);
    progress('the whole cluster and the executor: SIGKILL');
    for (const slot of cluster.liveSlots()) cluster.kill(slot);
    await executor.stop(0);
    executor = null;
    await until(I1 + 25_000 + downS * 1000);
    progress('restarting the cluster');
    await Promise.all([0, 1, 2].map((slot) => cluster.startSlot(slot)));
    const backAt = Math.min(...cluster.processes.filter((p) => p.end === null).map((p) => p.startedAt));
    executor = await Executor.start(cluster.liveSlots().map((slot) => cluster.processes.filter((p) => p.slot === slot).at(-1)!.url)[0]!);
    const lastMissed = Math.floor((I1 + 25_000 + downS * 1000 - graceS * 1000) / 60_000) * 60_000;
    const expectedMissed = (lastMissed - I1) / 60_000;

    // The storm: once the first missed-fire notifications arrive, kill the node that evaluates.
    for (let i = 0; i < 120 && !receiver.received.some((r) => r.on === 'missed-fire'); i++) await sleep(250);
    const [holder] = await adminStatement(values['postgres-url'], `SELECT owner FROM ${cluster.scratchName}.alert_state WHERE id = 1`);
    const victim = cluster.processes.find((p) => p.end === null && p.nodeId === holder?.owner);
    if (victim) {
      progress(`the storm: ${receiver.received.length} notifications received; SIGKILL of the evaluator's node (slot ${victim.slot + 1})`);
      cluster.kill(victim.slot);
      await sleep(2000);
      await cluster.startSlot(victim.slot);
    } else {
      progress(`the evaluator's node (${String(holder?.owner)}) not found among the live ones: nothing killed`);
      failures.push('no evaluator node to kill during the storm');
    }

    const I5 = nextMinute(Date.now());
    progress(`waiting for I5 = ${new Date(I5).toISOString()} and its grace`);
    await until(I5 + graceS * 1000 + 15_000);
    const schema = cluster.scratchName;
    for (let i = 0; i < 120; i++) {
      const [pending] = await adminStatement(values['postgres-url'], `SELECT count(*)::int AS n FROM ${schema}.alert_notifications WHERE state <> 'sent'`);
      if (Number(pending?.n) === 0) break;
      await sleep(1000);
    }

    // The store's view.
    const incidents = await adminStatement(values['postgres-url'], `SELECT id, on_kind, subject_id, state, opened_at, details FROM ${schema}.alert_incidents`);
    const notifications = await adminStatement(values['postgres-url'], `SELECT id, incident_id, kind, state FROM ${schema}.alert_notifications`);
    const missed = incidents.filter((i) => i.on_kind === 'missed-fire');
    const perTask = new Map<string, number>();
    for (const i of missed) perTask.set(String(i.subject_id), (perTask.get(String(i.subject_id)) ?? 0) + 1);
    const tasksWithOne = [...taskIds].filter((id) => perTask.get(id) === 1).length;
    const twice = [...perTask.values()].filter((n) => n > 1).length;
    const unresolvedMissed = missed.filter((i) => i.state !== 'resolved').length;
    const missedCounts = missed.map((i) => Number((typeof i.details === 'string' ? JSON.parse(i.details) : i.details as Record<string, unknown>).missed));
    const latencies = missed.map((i) => Number(i.opened_at) - Math.max(lastMissed + graceS * 1000, backAt)).sort((a, b) => a - b);
    const failureIncidents = incidents.filter((i) => i.on_kind === 'failure');
    const failurePerTask = new Map<string, number>();
    for (const i of failureIncidents) failurePerTask.set(String(i.subject_id), (failurePerTask.get(String(i.subject_id)) ?? 0) + 1);

    // The receiver's view.
    const byId = new Map<string, number>();
    for (const r of receiver.received) byId.set(r.id, (byId.get(r.id) ?? 0) + 1);
    const redeliveries = [...byId.values()].reduce((sum, n) => sum + n - 1, 0);
    const changes = new Map<string, Set<string>>();
    for (const r of receiver.received) {
      const key = `${r.incidentId}|${r.state}`;
      changes.set(key, (changes.get(key) ?? new Set()).add(r.id));
    }
    const duplicateChanges = [...changes.values()].filter((ids) => ids.size > 1).length;
    const lost = notifications.filter((n) => !byId.has(String(n.id))).length;
    const unsent = notifications.filter((n) => n.state !== 'sent').length;
    const crashes = cluster.processes.filter((p) => p.end === 'crash').length;

    console.log('');
    console.log(`missed-fire incidents: ${missed.length} for ${taskCount} tasks; tasks with exactly one: ${tasksWithOne}; with more than one: ${twice}; not resolved at the end: ${unresolvedMissed}`);
    console.log(`instants missed per incident: ${Math.min(...missedCounts)}–${Math.max(...missedCounts)} (expected ${expectedMissed}: I2..I${expectedMissed + 1})`);
    console.log(`opened after due (the later of the last missed instant's grace end and the cluster's return ${new Date(backAt).toISOString()}): `
      + `p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms, max ${Math.max(...latencies)} ms; over 5 s: ${latencies.filter((l) => l > 5000).length}`);
    console.log(`failure incidents: ${failureIncidents.length} for ${failingIds.size} failing tasks; tasks with more than one: ${[...failurePerTask.values()].filter((n) => n > 1).length}`);
    console.log(`notifications: ${notifications.length} in the store, ${unsent} not sent; received ${receiver.received.length} (${byId.size} distinct ids, ${redeliveries} raw redeliveries); `
      + `changes of state notified twice after dedup: ${duplicateChanges}; lost: ${lost}; bad signatures: ${receiver.badSignatures}`);
    console.log(`node crashes: ${crashes}`);

    if (tasksWithOne !== taskCount) failures.push(`${taskCount - tasksWithOne} tasks without exactly one missed-fire incident`);
    if (unresolvedMissed > 0) failures.push(`${unresolvedMissed} missed-fire incidents not resolved`);
    if (failureIncidents.length !== failingIds.size || [...failurePerTask.keys()].some((id) => !failingIds.has(id))) failures.push('failure incidents do not match the failing tasks');
    if (duplicateChanges > 0) failures.push(`${duplicateChanges} changes of state notified twice`);
    if (lost > 0) failures.push(`${lost} notifications lost`);
    if (unsent > 0) failures.push(`${unsent} notifications not sent`);
    if (receiver.badSignatures > 0) failures.push(`${receiver.badSignatures} bad signatures`);
    if (crashes > 0) failures.push(`${crashes} node crashes`);
    const result = {
      scenario: 'alerts-chaos', run: RUN, tasks: taskCount, failing: failingIds.size, downS, graceS, missedIncidents: missed.length, tasksWithOne, twice, unresolvedMissed,
      openedAfterDue: { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies), over5s: latencies.filter((l) => l > 5000).length },
      failureIncidents: failureIncidents.length, notifications: notifications.length, received: receiver.received.length, redeliveries, duplicateChanges, lost, unsent, crashes, failures,
    };
    printResult(result);
    if (values.out) writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await executor?.stop(0);
    receiver.close();
    await cluster.stop().catch(() => {});
    await cluster.dropStore(false).catch(() => {});
  }
  console.log(failures.length === 0 ? 'alerts-chaos: ok' : `alerts-chaos: FAILED: ${failures.join('; ')}`);
  process.exitCode = failures.length === 0 ? 0 : 1;
}

await main();
