/** Where the executor protocol's .proto files are, for @grpc/proto-loader (loaded at run time, no generated code). */
import { resolve } from 'node:path';

/** The directory that proto imports are relative to (`includeDirs`). */
export const PROTO_ROOT = resolve(import.meta.dirname, '../proto');
/** The executor service: `ecron.executor.v1.Executor`. */
export const EXECUTOR_PROTO_PATH = resolve(PROTO_ROOT, 'ecron/executor/v1/executor.proto');
