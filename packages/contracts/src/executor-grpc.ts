/**
 * The executor protocol over gRPC (proto/ecron/executor/v1/executor.proto), as the messages look
 * once loaded with {@link EXECUTOR_PROTO_LOADER_OPTIONS}: snake_case fields, enums as their names.
 * Only `body_json` is signed and read; see the .proto file's header.
 */

/** The fully qualified service name. */
export const EXECUTOR_GRPC_SERVICE = 'ecron.executor.v1.Executor';

/** Options both ends give @grpc/proto-loader's `load`/`loadSync`. */
export const EXECUTOR_PROTO_LOADER_OPTIONS = Object.freeze({ keepCase: true, enums: String, longs: Number, defaults: true, oneofs: true });

/** A request as ecron sends it: the signed JSON body (the HTTP protocol's body for the same request). */
export interface GrpcSignedRequest {
  body_json: string;
}

export type GrpcRunStatus = 'SUCCEEDED' | 'FAILED' | 'ACCEPTED' | 'HANDED_BACK';

export interface GrpcRunReply {
  status: GrpcRunStatus | 'STATUS_UNSPECIFIED';
  /** Any JSON value; empty means null. */
  output_json: string;
  error: string;
}

export interface GrpcCancelReply {
  cancelled: number;
}

export interface GrpcStatusReply {
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'UNKNOWN' | 'STATUS_UNSPECIFIED';
  output_json: string;
  error: string;
}
