/**
 * A real gRPC executor edge for tests: a grpc-js server of the Executor service
 * (proto/ecron/executor/v1/executor.proto) that verifies each request's signature over `body_json`,
 * records it, and answers with the behaviour set for its method.
 */
import { EventEmitter } from 'node:events';
import { loadPackageDefinition, Server, ServerCredentials, status, type Metadata, type ServiceDefinition, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { SIGNATURE_HEADER } from '@ecron/contracts';
import { EXECUTOR_PROTO_LOADER_OPTIONS, type GrpcCancelReply, type GrpcRunReply, type GrpcStatusReply } from '@ecron/contracts/executor-grpc';
import { EXECUTOR_PROTO_PATH, PROTO_ROOT } from '@ecron/contracts/proto-path';
import { verifySignature } from '@ecron/contracts/signature';

export type GrpcMethod = 'Run' | 'Cancel' | 'Status';

export interface GrpcReceived {
  method: GrpcMethod;
  /** body_json as received. */
  raw: string;
  body: Record<string, any>;
  signature: string | undefined;
  signatureOk: boolean;
  /** The call's gRPC deadline (ms since the epoch), or null without one. */
  deadline: number | null;
  /** The request's other (typed) fields, as they arrived. */
  typed: Record<string, unknown>;
  metadata: Metadata;
  /** The caller's address (host:port of its connection). */
  peer: string;
}

/** A reply, or a gRPC error `{ code, details }`. */
export type GrpcAnswer<R> = R | { code: status; details: string };
export type GrpcBehaviour<R> = (received: GrpcReceived, signal: AbortSignal) => Promise<GrpcAnswer<R>> | GrpcAnswer<R>;

export class GrpcTestExecutor extends EventEmitter<{ request: [GrpcReceived]; cancelled: [GrpcReceived] }> {
  readonly received: GrpcReceived[] = [];
  run: GrpcBehaviour<Partial<GrpcRunReply>> = () => ({ status: 'SUCCEEDED', output_json: JSON.stringify({ ok: true }) });
  cancel: GrpcBehaviour<GrpcCancelReply> = () => ({ cancelled: 1 });
  status: GrpcBehaviour<Partial<GrpcStatusReply>> = () => ({ status: 'UNKNOWN' });
  readonly #secret: () => string;
  readonly #server = new Server();
  address = '';

  /** `secret`: the HMAC secret requests must be signed with (a function when known only later). */
  constructor(secret: string | (() => string)) {
    super();
    this.#secret = typeof secret === 'string' ? () => secret : secret;
    const definition = loadSync(EXECUTOR_PROTO_PATH, { ...EXECUTOR_PROTO_LOADER_OPTIONS, includeDirs: [PROTO_ROOT] });
    const loaded = loadPackageDefinition(definition) as unknown as { ecron: { executor: { v1: { Executor: { service: ServiceDefinition } } } } };
    this.#server.addService(loaded.ecron.executor.v1.Executor.service, {
      Run: this.#handler('Run', () => this.run),
      Cancel: this.#handler('Cancel', () => this.cancel),
      Status: this.#handler('Status', () => this.status),
    });
  }

  async start(port = 0): Promise<string> {
    const bound = await new Promise<number>((resolve, reject) => {
      this.#server.bindAsync(`127.0.0.1:${port}`, ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p)));
    });
    this.address = `127.0.0.1:${bound}`;
    return this.address;
  }

  /** Requests of one method. */
  of(method: GrpcMethod): GrpcReceived[] {
    return this.received.filter((r) => r.method === method);
  }

  /** Resolves with the next request of `method`. */
  next(method: GrpcMethod): Promise<GrpcReceived> {
    return new Promise((resolve) => {
      const listener = (received: GrpcReceived): void => {
        if (received.method !== method) return;
        this.off('request', listener);
        resolve(received);
      };
      this.on('request', listener);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#server.forceShutdown(), 1000);
      this.#server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #handler<R>(method: GrpcMethod, behaviour: () => GrpcBehaviour<R>) {
    return (call: ServerUnaryCall<Record<string, unknown>, R>, callback: sendUnaryData<R>): void => {
      const { body_json: raw, ...typed } = call.request as { body_json: string };
      const signature = call.metadata.get(SIGNATURE_HEADER)[0] as string | undefined;
      let body: Record<string, any> = {};
      try {
        body = JSON.parse(raw);
      } catch {
        // recorded as {}
      }
      const deadline = call.getDeadline();
      const received: GrpcReceived = {
        method, raw, body, signature, typed, metadata: call.metadata, peer: call.getPeer(),
        signatureOk: verifySignature(this.#secret(), raw, signature, Date.now(), Number.MAX_SAFE_INTEGER).ok,
        deadline: deadline === Infinity ? null : deadline instanceof Date ? deadline.getTime() : Number(deadline),
      };
      this.received.push(received);
      this.emit('request', received);
      const controller = new AbortController();
      call.on('cancelled', () => {
        controller.abort();
        this.emit('cancelled', received);
      });
      Promise.resolve(behaviour()(received, controller.signal)).then((answer) => {
        if (answer && typeof answer === 'object' && 'code' in answer && 'details' in answer) callback({ code: answer.code, details: answer.details });
        else callback(null, answer as R);
      }, (error: unknown) => callback({ code: status.INTERNAL, details: String(error) }));
    };
  }
}
