/**
 * The executor protocol over gRPC (proto/ecron/executor/v1/executor.proto in @ecron/contracts):
 * a grpc-js server of the `Executor` service whose Run, Cancel and Status calls go to the same
 * {@link RunHost} as the HTTP transport's requests.
 *
 * Each call carries the HTTP protocol's JSON body in `body_json`, signed in the
 * `x-ecron-signature` metadata. The host's signature gate checks it (the same secret, freshness
 * and nonce memory as HTTP: a nonce used over either transport is spent), and the request is read
 * from `body_json` only; the unsigned typed fields are ignored. A body is bound to its method
 * (Cancel needs `"event":"cancel"`, Status `"event":"status"`, Run no event).
 *
 * Refusals are gRPC errors whose details start with the stable code; the `refused` event gets the
 * status the HTTP transport would have answered (401, 400, 404, 503), so listeners see one scale.
 */
import { loadPackageDefinition, Server, ServerCredentials, status as GrpcStatus, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { SIGNATURE_HEADER } from '@ecron/contracts';
import { EXECUTOR_PROTO_LOADER_OPTIONS, type GrpcCancelReply, type GrpcRunReply, type GrpcSignedRequest, type GrpcStatusReply } from '@ecron/contracts/executor-grpc';
import { EXECUTOR_PROTO_PATH, PROTO_ROOT } from '@ecron/contracts/proto-path';
import { ExecutorError } from './errors.ts';
import { HANDED_BACK_ERROR, type RunAnswer, type RunOutcome } from './run-execution.ts';
import { MAX_BODY_BYTES } from './http-transport.ts';
import { describeError } from './log.ts';
import { parseRunRequest, parseSelector, type ExecutorTransport, type RunHost } from './transport.ts';

/** How long close() lets answers drain before it cuts the remaining calls. */
const CLOSE_TIMEOUT_MS = 2000;

export interface GrpcTransportOptions {
  host: string;
  port: number;
  /** The `host:port` to advertise; default `<host>:<bound port>`. */
  advertiseAddress?: string | undefined;
}

/** A request refused before anything ran. */
class Refusal {
  readonly grpc: GrpcStatus;
  /** What the HTTP transport answers in the same case. */
  readonly http: number;
  readonly code: string;
  readonly message: string;

  constructor(grpc: GrpcStatus, http: number, code: string, message: string) {
    this.grpc = grpc;
    this.http = http;
    this.code = code;
    this.message = message;
  }
}

let serviceDefinition: ServiceDefinition | null = null;

/** The Executor service, loaded on first use (nothing is read at import). */
function executorService(): ServiceDefinition {
  if (!serviceDefinition) {
    const definition = loadSync(EXECUTOR_PROTO_PATH, { ...EXECUTOR_PROTO_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
    const loaded = loadPackageDefinition(definition) as unknown as { ecron: { executor: { v1: { Executor: { service: ServiceDefinition } } } } };
    serviceDefinition = loaded.ecron.executor.v1.Executor.service;
  }
  return serviceDefinition;
}

export class GrpcTransport implements ExecutorTransport {
  readonly kind = 'grpc' as const;
  readonly #host: RunHost;
  readonly #options: GrpcTransportOptions;
  readonly #server: Server;
  #started = false;

  constructor(host: RunHost, options: GrpcTransportOptions) {
    this.#host = host;
    this.#options = options;
    this.#server = new Server({ 'grpc.max_receive_message_length': MAX_BODY_BYTES + 64 * 1024 });
    this.#server.addService(executorService(), {
      Run: this.#unary((call) => this.#run(call)),
      Cancel: this.#unary((call) => this.#cancel(call)),
      Status: this.#unary((call) => this.#status(call)),
    });
  }

  async start(): Promise<string> {
    const { host, port } = this.#options;
    const listenHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    const bound = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(`${listenHost}:${port}`, ServerCredentials.createInsecure(), (error, boundPort) => {
        if (error) reject(new ExecutorError('EXECUTOR_LISTEN_FAILED', `cannot listen on ${host}:${port} (gRPC): ${error.message}`, { cause: error }));
        else resolve(boundPort);
      });
    });
    this.#started = true;
    if (this.#options.advertiseAddress) return this.#options.advertiseAddress;
    const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : listenHost;
    return `${shownHost}:${bound}`;
  }

  async quiesce(): Promise<void> {
    // New Run calls are refused with UNAVAILABLE (the host no longer accepts); Cancel and Status go on.
  }

  async close(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, CLOSE_TIMEOUT_MS);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Wraps a method: refusals become gRPC errors (and `refused` events), anything else thrown is INTERNAL. */
  #unary<R>(handle: (call: ServerUnaryCall<GrpcSignedRequest, R>) => Promise<R>) {
    return (call: ServerUnaryCall<GrpcSignedRequest, R>, callback: sendUnaryData<R>): void => {
      handle(call).then((reply) => callback(null, reply), (error: unknown) => {
        if (error instanceof Refusal) {
          this.#host.refused(error.code, error.http);
          callback({ code: error.grpc, details: `${error.code}: ${error.message}` });
          return;
        }
        this.#host.log('error', 'a gRPC executor call failed unexpectedly', { error: describeError(error) });
        callback({ code: GrpcStatus.INTERNAL, details: 'INTERNAL: internal error' });
      });
    };
  }

  /** The signed body, authenticated and parsed; `event` is what the method requires it to say. */
  #authenticate(call: ServerUnaryCall<GrpcSignedRequest, unknown>, event: 'cancel' | 'status' | undefined): unknown {
    const body = call.request.body_json ?? '';
    const signature = call.metadata.get(SIGNATURE_HEADER)[0];
    const gate = this.#host.authenticate(body, typeof signature === 'string' ? signature : undefined);
    if (!gate.ok) {
      const notReady = gate.code === 'EXECUTOR_NOT_READY';
      throw new Refusal(notReady ? GrpcStatus.UNAVAILABLE : GrpcStatus.UNAUTHENTICATED, notReady ? 503 : 401, gate.code, gate.message);
    }
    let message: unknown;
    try {
      message = JSON.parse(body);
    } catch {
      throw new Refusal(GrpcStatus.INVALID_ARGUMENT, 400, 'INVALID_JSON', 'body_json is not valid JSON');
    }
    const said = typeof message === 'object' && message !== null ? (message as { event?: unknown }).event : undefined;
    if (said !== event) {
      const expected = event === undefined ? 'no "event"' : `"event": "${event}"`;
      throw new Refusal(GrpcStatus.INVALID_ARGUMENT, 400, 'UNKNOWN_EVENT', `this method takes a body with ${expected}, not ${JSON.stringify(said ?? null)}`);
    }
    return message;
  }

  async #run(call: ServerUnaryCall<GrpcSignedRequest, GrpcRunReply>): Promise<GrpcRunReply> {
    const host = this.#host;
    const message = this.#authenticate(call, undefined);
    if (!host.accepting) throw new Refusal(GrpcStatus.UNAVAILABLE, 503, 'EXECUTOR_STOPPING', 'the executor is shutting down');
    const request = parseRunRequest(message);
    if (typeof request === 'string') throw new Refusal(GrpcStatus.INVALID_ARGUMENT, 400, 'VALIDATION_FAILED', request);
    const started = host.startRun(request, { acceptDetached: request.shard.total === 1 && request.fanOut !== true });
    if (started.kind === 'no-handler') throw new Refusal(GrpcStatus.NOT_FOUND, 404, 'HANDLER_NOT_FOUND', started.message);
    if (started.kind === 'recent') return runReply(started.outcome);
    const { execution, joined } = started;
    // The scheduler cancelled the call (its deadline, a user's cancel, shutdown) or went away.
    if (!joined) {
      if (call.cancelled) execution.connectionClosed();
      else call.on('cancelled', () => execution.connectionClosed());
    }
    return runReply(await execution.answer);
  }

  async #cancel(call: ServerUnaryCall<GrpcSignedRequest, GrpcCancelReply>): Promise<GrpcCancelReply> {
    const selector = parseSelector(this.#authenticate(call, 'cancel'));
    if (typeof selector === 'string') throw new Refusal(GrpcStatus.INVALID_ARGUMENT, 400, 'VALIDATION_FAILED', selector);
    return { cancelled: this.#host.cancel(selector) };
  }

  async #status(call: ServerUnaryCall<GrpcSignedRequest, GrpcStatusReply>): Promise<GrpcStatusReply> {
    const selector = parseSelector(this.#authenticate(call, 'status'));
    if (typeof selector === 'string') throw new Refusal(GrpcStatus.INVALID_ARGUMENT, 400, 'VALIDATION_FAILED', selector);
    const reply = this.#host.status(selector);
    return {
      status: reply.status.toUpperCase() as GrpcStatusReply['status'],
      output_json: reply.output === undefined ? '' : JSON.stringify(reply.output),
      error: reply.error ?? '',
    };
  }
}

function runReply(answer: RunAnswer | RunOutcome): GrpcRunReply {
  switch (answer.status) {
    case 'succeeded':
      return { status: 'SUCCEEDED', output_json: JSON.stringify(answer.output ?? null), error: '' };
    case 'failed':
      return { status: 'FAILED', output_json: '', error: answer.error };
    case 'accepted':
      return { status: 'ACCEPTED', output_json: '', error: '' };
    case 'handed-back':
      return { status: 'HANDED_BACK', output_json: '', error: HANDED_BACK_ERROR };
  }
}
