/**
 * Pull mode, for networks where only the executor can open connections: one {@link PollLoop} per
 * live API node, the loops sharing one concurrency budget (see {@link PerNodeTransport}).
 */
import type { PollReply } from '@ecron/contracts';
import type { ApiConnection } from './api-request.ts';
import { PerNodeTransport } from './per-node-transport.ts';
import { PollLoop, type PollResult } from './poll-loop.ts';
import type { RunHost } from './transport.ts';

export interface PullTransportOptions {
  connection: ApiConnection;
  id: string;
  /** Most deliveries in flight at once, over all nodes. */
  maxConcurrency: number;
  /** Longest wait of one poll, in ms. */
  waitMs: number;
  onPolled(reply: PollReply): void;
  onPollFailed(error: Error): void;
  onResultsPosted(results: PollResult[]): void;
}

export class PullTransport extends PerNodeTransport<PollLoop> {
  readonly kind = 'pull' as const;

  constructor(host: RunHost, options: PullTransportOptions) {
    super(host, { ...options, create: (connection, slots) => new PollLoop(host, { ...options, connection, slots }) });
  }
}
