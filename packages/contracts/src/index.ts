export * from './duration.ts';
export * from './timezone.ts';
export * from './cron-expression.ts';
export * from './task-spec.ts';
export * from './errors.ts';
export * from './validation.ts';
export * from './resources.ts';
export * from './executor-protocol.ts';
