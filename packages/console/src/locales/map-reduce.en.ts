/** English strings of a run's map/reduce progress (run detail page): `mapReduce` in en.ts. */
export const mapReduceEn = {
  title: 'Map/reduce',
  hint: 'The run\'s handler emitted subtasks (ctx.map); nodes of its group run them, then the reduce runs once.',
  ended: '{{ended}} of {{total}} subtasks ended',
  pending: 'pending', running: 'running', succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled',
  reduce: 'Reduce', noReduce: 'none', onFailure: 'On subtask failure', attempt: 'Attempt',
  states: { mapping: 'mapping', running: 'running', reducing: 'reducing', succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled' },
  policies: { 'fail-run': 'fail the run', continue: 'continue' },
};
