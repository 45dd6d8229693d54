/** English strings. Every key here exists in zh.ts too (the same shape is enforced by its type). */
export const en = {
  common: { name: 'Name', namespace: 'Namespace', cancel: 'Cancel', back: 'Back', previous: 'Previous', next: 'Next', page: 'Page {{page}}' },
  nav: { dashboard: 'Dashboard', tasks: 'Tasks', runs: 'Runs', nodes: 'Nodes', tokens: 'Tokens', audit: 'Audit log' },
  header: { language: 'Language', signOut: 'Sign out', zone: 'Times in {{zone}}', openMenu: 'Open the menu', closeMenu: 'Close the menu' },
  describe: { every: 'every {{every}}', fixedDelay: 'every {{every}} after the previous run', at: 'once at {{at}}', manual: 'manual' },
  roles: { admin: 'admin', editor: 'editor', viewer: 'viewer' },
  login: {
    intro: 'Sign in with an API token. It is kept for this browser tab only and forgotten when you close it.',
    token: 'API token', tokenRequired: 'Enter a token', signIn: 'Sign in',
    refused: 'This token is unknown or revoked.', failed: 'Sign-in failed: {{message}}',
    expired: 'Your session ended: the token was refused. Sign in again.',
    hint: 'On first start, the admin token is written to .ecron/admin.token.',
  },
  errors: {
    forbiddenTitle: 'Not allowed', forbidden: 'Your token lacks the permission this page needs. Ask an admin for a token with a higher role or a wider namespace scope.',
    notFound: 'Not found', failed: 'The request failed',
  },
  status: {
    pending: 'pending', no_executor: 'no executor', dispatched: 'dispatched', running: 'running', succeeded: 'succeeded', failed: 'failed', timed_out: 'timed out',
    cancelled: 'cancelled', skipped: 'skipped', lost: 'lost', active: 'active', paused: 'paused', completed: 'completed',
  },
  dashboard: {
    title: 'Dashboard', tasks: 'Tasks by state', total: 'Total', lastHour: 'Last hour', lastDay: 'Last 24 hours', runs: 'Runs',
    successRate: 'success rate (succeeded ÷ ended)', fireLag: 'Fire lag', max: 'max',
    fireLagHint: 'Start minus scheduled instant, over {{count}} scheduled runs.', latestFailures: 'Latest failures', noFailures: 'No failed runs',
    polling: 'Refreshed every {{seconds}} s.', truncated: 'Figures cover the newest runs only (too many to count).',
  },
  tasks: {
    title: 'Tasks', new: 'New task', searchName: 'Search by name', state: 'State', lastOutcome: 'Last outcome', schedule: 'Schedule', nextFire: 'Next fire',
    selected: '{{count}} selected', pauseSelected: 'Pause', resumeSelected: 'Resume',
    pausedCount: 'Paused {{count}} task(s)', resumedCount: 'Resumed {{count}} task(s)', bulkFailed: '{{count}} failed: {{message}}',
  },
  kinds: { cron: 'Cron', every: 'Fixed rate', 'fixed-delay': 'Fixed delay', at: 'One-shot', manual: 'Manual' },
  targets: { http: 'HTTP endpoint', executor: 'Executor group', shell: 'Shell (agent)', grpc: 'gRPC' },
  backoff: { fixed: 'fixed', exponential: 'exponential' },
  overlap: { allow: 'allow', skip: 'skip', 'queue-one': 'queue one', 'cancel-previous': 'cancel previous' },
  misfire: { skip: 'skip', 'fire-once': 'fire once', 'catch-up': 'catch up' },
  cron: {
    expression: 'Cron expression', presets: 'Presets', second: 'Second', minute: 'Minute', hour: 'Hour', dayOfMonth: 'Day of month', month: 'Month',
    dayOfWeek: 'Day of week', modeOf: '{{field}}: how', step: 'Step', every: 'every', values: 'Values', from: 'From', to: 'To', custom: 'Expression',
    mode: { every: 'every', step: 'every N', at: 'at', between: 'between', custom: 'custom' },
    help: 'Six fields, seconds first. Day of week: 0 or 7 is Sunday. Custom accepts L, W and # too.',
    presetEvery5s: 'Every 5 seconds', presetEveryMinute: 'Every minute', presetEvery5m: 'Every 5 minutes', presetHourly: 'Hourly',
    presetDaily: 'Daily at 02:30', presetWeekdays: 'Weekdays at 09:00', presetMonthly: 'Monthly, on the 1st',
  },
  preview: {
    title: 'Next 10 fires', manual: 'A manual task fires only when triggered.', invalid: 'The schedule is not valid yet',
    none: 'No fire ahead', taskZone: 'Task zone ({{zone}})', yourZone: 'Your zone ({{zone}})',
  },
  taskForm: {
    newTitle: 'New task', editTitle: 'Edit {{name}} (revision {{revision}})', create: 'Create task', saveRevision: 'Save as new revision',
    created: 'Created {{name}}', updated: 'Saved {{name}}', general: 'General', description: 'Description', nameRequired: 'A task needs a name',
    schedule: 'Schedule', kind: 'Kind', cron: 'Cron (with seconds)', cronRequired: 'Enter a cron expression', timezone: 'Time zone',
    every: 'Interval', everyRequired: 'Enter an interval', durationHelp: 'Milliseconds, or a duration such as 500ms, 10s, 5m, 1h.',
    at: 'Instant', atRequired: 'Pick an instant', inYourZone: 'In your zone, {{zone}}', startAt: 'Not before', endAt: 'Not after', jitter: 'Jitter',
    target: 'Target', targetType: 'Type', url: 'URL', urlRequired: 'Enter the URL', cancelUrl: 'Cancel/status URL', headers: 'Extra headers (JSON)',
    secret: 'Signing secret', secretHelp: 'Leave empty to use the server signing key (an edit keeps the stored secret).',
    group: 'Executor group', handler: 'Handler', command: 'Command', routing: 'Routing', broadcast: 'Broadcast', shards: 'Shards',
    policies: 'Policies', maxAttempts: 'Max attempts', timeout: 'Timeout per attempt', backoff: 'Backoff', initialDelay: 'Initial delay',
    maxDelay: 'Max delay', multiplier: 'Multiplier', backoffJitter: 'Jitter (0–1)', overlap: 'Overlap', maxConcurrency: 'Max concurrency',
    misfire: 'Misfire', misfireWindow: 'Window', maxCatchUp: 'Max catch-up', params: 'Params', paramsHelp: 'A JSON object sent to the executor.',
    paramsInvalid: 'Params must be valid JSON', formView: 'Form', textHelp: 'Edit the spec directly; switch back to Form to see it in the fields. Save sends this text.',
    specText: 'Spec as {{format}}', cannotConvert: 'Cannot switch view: {{message}}',
  },
  task: {
    trigger: 'Trigger now', pause: 'Pause', resume: 'Resume', edit: 'Edit', delete: 'Delete', deleteConfirm: 'Delete task {{name}}?',
    deleteHint: 'It stops firing; its runs stay as history.', deleted: 'Task deleted', paused: 'Task paused', resumed: 'Task resumed',
    lastFire: 'Last fire', revision: 'Revision', skippedFires: 'Skipped fires', target: 'Target', created: 'Created', updated: 'Updated',
    runs: 'Runs', allRuns: 'All runs of this task →', spec: 'Spec', revisions: 'Revisions', revisionA: 'From revision', revisionB: 'To revision',
    oneRevision: 'This task has one revision so far.', triggerTitle: 'Trigger {{name}} now', triggerOk: 'Trigger',
    triggerHelp: 'The run gets the task params with these keys merged on top (shallow). The overlap policy does not apply.',
    taskParams: 'Task params', override: 'Params override (JSON object)', format: 'Format',
  },
  runs: {
    title: 'Runs', status: 'Status', task: 'Task', trigger: 'Trigger', scheduledAt: 'Scheduled', duration: 'Duration', attempts: 'Attempts', error: 'Error',
    range: 'Scheduled between', triggers: { schedule: 'schedule', manual: 'manual' },
  },
  run: {
    title: 'Run', error: 'Error', startedAt: 'Started', finishedAt: 'Finished', fireLag: 'Fire lag', progress: 'Progress', nextAttempt: 'Next attempt',
    attempts: 'Attempts ({{count}})', attempt: 'Attempt {{number}}', executor: 'Executor', ongoing: 'ongoing', noAttempts: 'Not dispatched yet',
    params: 'Params', output: 'Output', log: 'Log', liveTail: 'live', waitingForLog: 'Waiting for log lines…', noLog: 'No log lines.',
    cancel: 'Cancel run', cancelConfirm: 'Cancel this run? The executor is asked to stop.', cancelRequested: 'Run cancelled',
  },
  tokens: {
    title: 'API tokens', create: 'Create token', role: 'Role', namespaces: 'Namespaces', namespacesHelp: 'Empty means every namespace (*).',
    lastUsed: 'Last used', revokedAt: 'Revoked', revoke: 'Revoke', revokeConfirm: 'Revoke {{name}}? Clients using it are refused at once.',
    revoked: 'Token revoked', createdTitle: 'Token created', shownOnce: 'Copy the token now: it is shown only once and cannot be recovered.',
  },
  nodes: {
    title: 'Scheduler nodes', unavailable: 'This server has no nodes API (GET /api/v1/nodes) yet.', alive: 'Alive', dead: 'Dead, not yet forgotten',
    bucketsOwned: '{{owned}} of {{total}} buckets leased', node: 'Node', state: 'State', aliveTag: 'alive', deadTag: 'dead', address: 'Address',
    roles: 'Roles', version: 'Version', heartbeat: 'Last heartbeat', started: 'Started', buckets: 'Buckets', leaseExpires: 'Lease expires',
  },
  audit: { title: 'Audit log', at: 'When', actor: 'Actor', action: 'Action', resource: 'Resource', resourceId: 'Resource id' },
};

type Shape<T> = { [K in keyof T]: T[K] extends string ? string : Shape<T[K]> };
export type Strings = Shape<typeof en>;
