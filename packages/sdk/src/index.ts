/**
 * @ecron/sdk: serve handlers to an ecron scheduler (`Executor`), and manage tasks and runs in
 * code (`EcronClient`).
 */
export { Executor, type ExecutorEvents, type ExecutorTaskSpec, type HandleOptions, type RunEventInfo } from './executor.ts';
export type { ExecutorOptions, ResolvedExecutorOptions } from './options.ts';
export type { AbortReason, DetachedRun, Handler, HandlerContext, ReduceInput, SubtaskInfo } from './context.ts';
export type { MapCallOptions } from './map-session.ts';
export type { SubtaskEventInfo } from './subtask-worker.ts';
export {
  type BackfillParams, type BackfillsApi, EcronClient, type EcronClientOptions, type ExecutorsApi, type ListRunsParams, type ListTasksParams,
  type ListWorkflowRunsParams, type ListWorkflowsParams, type RunLogsParams, type RunsApi, type TasksApi, type TaskTargets, UPSERT_MANY_CHUNK,
  type WorkflowRevision, type WorkflowRunsApi, type WorkflowsApi,
} from './client.ts';
export { EcronApiError, ExecutorError, type ExecutorErrorCode } from './errors.ts';
export { installSignalHandlers } from './signals.ts';
export { HANDED_BACK_HEADER, MAX_BODY_BYTES } from './http-transport.ts';
export type { LogLevel, SdkLogger } from './log.ts';
export type { RunOutcome } from './run-execution.ts';
export { SDK_VERSION } from './version.ts';
export { activeTraceparent } from './tracing.ts';
export { describeNetworkError } from './network-error.ts';
