/**
 * The bulk task API: `POST /api/v1/tasks:batch` (create or upsert many specs) and
 * `POST /api/v1/tasks:pause|resume|delete|trigger` (one action on many tasks, by ids or by a label
 * selector). Every answer holds one result per item, in the order of the request.
 */
import { z } from 'zod';
import { TASK_LABEL_KEY } from './task-spec.ts';

/** The most items (specs or ids) one bulk call may name, and the most tasks a selector may match. */
export const MAX_BULK_ITEMS = 10_000;

/**
 * `POST /api/v1/tasks:batch`. Each item is a task spec as `POST /api/v1/tasks` takes it, validated on
 * its own: an invalid item is an error in its place and the others go on. More than
 * {@link MAX_BULK_ITEMS} items is BATCH_TOO_LARGE.
 */
export const TaskBatchRequestSchema = z.strictObject({
  items: z.array(z.unknown()).min(1).describe(`1..${MAX_BULK_ITEMS} task specs, as POST /api/v1/tasks takes them`),
});

export const ItemErrorSchema = z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() });
export type ItemError = z.output<typeof ItemErrorSchema>;

/**
 * One item's result in a `tasks:batch` answer: the task's id and what happened to it (`created`; `updated`
 * to a new revision; `unchanged` when the spec was the stored one), or its error.
 */
export const TaskBatchItemResultSchema = z.union([
  z.object({ id: z.string(), action: z.enum(['created', 'updated', 'unchanged']) }),
  z.object({ error: ItemErrorSchema }),
]);
export type TaskBatchItemResult = z.output<typeof TaskBatchItemResultSchema>;
export const TaskBatchResponseSchema = z.object({ items: z.array(TaskBatchItemResultSchema) });
export type TaskBatchResponse = z.output<typeof TaskBatchResponseSchema>;

/** Tasks whose labels include every given pair, in one namespace or in all the caller may see. */
export const TaskSelectorSchema = z.strictObject({
  labels: z.record(z.string().regex(TASK_LABEL_KEY, 'label keys are 1-63 characters: letters, digits, ".", "_", "/" or "-"'), z.string().max(256))
    .refine((labels) => Object.keys(labels).length >= 1, 'name at least one label'),
  namespace: z.string().min(1).max(128).optional(),
});
export type TaskSelector = z.output<typeof TaskSelectorSchema>;

const ids = z.array(z.string().min(1).max(64)).min(1).describe(`1..${MAX_BULK_ITEMS} task ids`);

/** `POST /api/v1/tasks:pause|resume|delete`: the tasks, by `ids` or by `selector` (exactly one). */
export const BulkTaskActionSchema = z.union([z.strictObject({ ids }), z.strictObject({ selector: TaskSelectorSchema })]);
/** `POST /api/v1/tasks:trigger`: as the others, with the params every run gets (shallow-merged over each task's). */
export const BulkTaskTriggerSchema = z.union([
  z.strictObject({ ids, params: z.record(z.string(), z.unknown()).optional() }),
  z.strictObject({ selector: TaskSelectorSchema, params: z.record(z.string(), z.unknown()).optional() }),
]);
export type BulkTaskAction = z.input<typeof BulkTaskActionSchema>;

/** One task's result of a bulk action; a trigger's success names the run it created. */
export const BulkActionItemResultSchema = z.union([
  z.object({ id: z.string(), ok: z.literal(true), runId: z.string().optional() }),
  z.object({ id: z.string(), error: ItemErrorSchema }),
]);
export type BulkActionItemResult = z.output<typeof BulkActionItemResultSchema>;
export const BulkActionResponseSchema = z.object({ items: z.array(BulkActionItemResultSchema) });
export type BulkActionResponse = z.output<typeof BulkActionResponseSchema>;

export const BULK_TASK_ACTIONS = ['pause', 'resume', 'delete', 'trigger'] as const;
export type BulkTaskActionName = (typeof BULK_TASK_ACTIONS)[number];
