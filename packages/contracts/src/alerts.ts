/**
 * Alert channels and notifications (issue 19): where an incident's changes of state are sent, and
 * what is sent. A channel belongs to a namespace and has one `type`, whose `config` this file
 * validates (`POST /api/v1/alert-channels`); a notification is one change of state of one incident
 * (firing, resolved, or a repeat while it stays open), rendered per channel in its `locale`.
 *
 * Secrets (a webhook's signing secret, a Feishu or DingTalk signing secret, an SMTP password, and
 * the tokens platforms put in their URLs: Slack's and Feishu's hook path, DingTalk's
 * `access_token`, WeCom's `key`) are shown to readers as {@link ALERT_SECRET_MASK}; the server's
 * `alerts/channel-secrets.ts` masks and restores them. docs/alerts.md describes every type.
 */
import { z } from 'zod';
import { duration } from './duration.ts';
import { ExecutorGroupNameSchema } from './executors.ts';
import { TaskLabelsSchema, TaskSpecSchema } from './task-spec.ts';

export const ALERT_CHANNEL_TYPES = ['webhook', 'email', 'slack', 'feishu', 'dingtalk', 'wecom'] as const;
export type AlertChannelType = (typeof ALERT_CHANNEL_TYPES)[number];

export const ALERT_LOCALES = ['en', 'zh'] as const;
export type AlertLocale = (typeof ALERT_LOCALES)[number];

/** What a reader sees in place of a secret. */
export const ALERT_SECRET_MASK = '***';

/** What an alert rule watches (`on` of `POST /api/v1/alert-rules`). */
export const ALERT_RULE_KINDS = [
  'failure', 'timeout', 'consecutive-failures', 'failure-rate', 'missed-fire', 'late-start', 'long-running', 'no-executor', 'node-lost',
] as const;
export type AlertRuleKind = (typeof ALERT_RULE_KINDS)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/** `repeat`: the incident is still open after the rule's repeat interval. */
export const ALERT_NOTIFICATION_STATES = ['firing', 'resolved', 'repeat'] as const;
export type AlertNotificationState = (typeof ALERT_NOTIFICATION_STATES)[number];

export const ALERT_SUBJECT_KINDS = ['task', 'workflow', 'namespace', 'group', 'node'] as const;
export type AlertSubjectKind = (typeof ALERT_SUBJECT_KINDS)[number];

/** How long one send may take, from connect to the answer. */
const timeoutMs = z.number().int().min(100).max(120_000).default(10_000)
  .describe('how long one send may take, from connect to the answer, in milliseconds; default 10000');

const httpUrl = z.string().max(2048)
  .regex(/^https?:\/\/[^\s]+$/i, 'expected an http:// or https:// URL')
  .refine((value) => URL.canParse(value), 'not a valid URL');

/** An http(s) URL whose query holds `param` (the token a platform puts in its robot's address). */
function urlWithParam(param: string, where: string) {
  return httpUrl.refine((value) => !URL.canParse(value) || Boolean(new URL(value).searchParams.get(param)),
    `expected the robot's URL with its ${param} (${where})`);
}

/** A signing secret given by a platform (Feishu, DingTalk): kept as given. */
const platformSecret = z.string().min(1).max(512).refine((value) => value !== ALERT_SECRET_MASK, `"${ALERT_SECRET_MASK}" is the mask of a secret, not a secret`);

const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/;
/** Headers a generic webhook sets itself. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'host', 'idempotency-key']);

export const WebhookAlertConfigSchema = z.strictObject({
  url: httpUrl,
  secret: z.string().min(16, 'at least 16 characters').max(512).optional()
    .describe('the HMAC key of x-ecron-signature; generated (32 random bytes, base64url) when absent, and shown only once'),
  headers: z.record(z.string().regex(HEADER_NAME, 'expected a header name'), z.string().max(8192))
    .refine((headers) => Object.keys(headers).length <= 64, 'at most 64 headers')
    .refine((headers) => Object.keys(headers).every((name) => !RESERVED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith('x-ecron-')),
      'content-type, host, idempotency-key and the x-ecron-* headers are set by ecron')
    .optional().describe('sent with every request; values are masked for readers'),
  timeoutMs,
});

const emailAddress = z.email('expected an e-mail address').max(320);
/** `ops@example.com` or `ecron alerts <ops@example.com>`. */
const fromAddress = z.string().max(400).refine((value) => {
  const angled = /^[^<>\r\n]*<([^<>\s]+)>$/.exec(value.trim());
  return emailAddress.safeParse(angled ? angled[1] : value.trim()).success;
}, 'expected an e-mail address, or "Name <address>"');

export const EmailAlertConfigSchema = z.strictObject({
  host: z.string().min(1).max(253).regex(/^[A-Za-z0-9.:[\]_-]+$/, 'expected a host name or an IP address'),
  port: z.number().int().min(1).max(65_535).optional().describe('default 465 with secure, else 587'),
  secure: z.boolean().default(false).describe('implicit TLS from the first byte (port 465); false: plain, upgraded by STARTTLS when the server offers it'),
  requireTLS: z.boolean().default(false).describe('fail unless the server upgrades the connection by STARTTLS'),
  ignoreTLS: z.boolean().default(false).describe('never use STARTTLS, even when the server offers it'),
  rejectUnauthorized: z.boolean().default(true).describe('refuse a server certificate that does not verify'),
  user: z.string().min(1).max(512).optional(),
  password: z.string().max(1024).optional().describe('masked for readers'),
  from: fromAddress,
  to: z.array(emailAddress).min(1, 'at least one recipient').max(100, 'at most 100 recipients'),
  timeoutMs,
}).superRefine((config, ctx) => {
  const issue = (message: string, path: string) => ctx.addIssue({ code: 'custom', message, path: [path], params: { ecronCode: 'INVALID_COMBINATION' } });
  if (config.requireTLS && config.ignoreTLS) issue('requireTLS and ignoreTLS exclude each other', 'ignoreTLS');
  if (config.secure && (config.requireTLS || config.ignoreTLS)) issue('secure (implicit TLS) uses no STARTTLS: leave requireTLS and ignoreTLS out', config.requireTLS ? 'requireTLS' : 'ignoreTLS');
  if ((config.user === undefined) !== (config.password === undefined)) issue('user and password go together', config.user === undefined ? 'user' : 'password');
  if (config.password === ALERT_SECRET_MASK) issue(`"${ALERT_SECRET_MASK}" is the mask of a password, not a password`, 'password');
});

export const SlackAlertConfigSchema = z.strictObject({
  url: httpUrl.describe('the incoming webhook URL (https://hooks.slack.com/services/…); its last path segment is masked for readers'),
  timeoutMs,
});

export const FeishuAlertConfigSchema = z.strictObject({
  url: httpUrl.describe('the custom bot\'s webhook URL (…/open-apis/bot/v2/hook/<token>); the token is masked for readers'),
  secret: platformSecret.optional().describe('the bot\'s signing secret ("signature verification" in its security settings)'),
  timeoutMs,
});

export const DingTalkAlertConfigSchema = z.strictObject({
  url: urlWithParam('access_token', 'https://oapi.dingtalk.com/robot/send?access_token=…').describe('the robot\'s webhook URL; access_token is masked for readers'),
  secret: platformSecret.optional().describe('the robot\'s signing secret ("SEC…", the "additional signature" security setting)'),
  timeoutMs,
});

export const WeComAlertConfigSchema = z.strictObject({
  url: urlWithParam('key', 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…').describe('the group robot\'s webhook URL; key is masked for readers'),
  timeoutMs,
});

export const ALERT_CHANNEL_CONFIG_SCHEMAS = {
  webhook: WebhookAlertConfigSchema,
  email: EmailAlertConfigSchema,
  slack: SlackAlertConfigSchema,
  feishu: FeishuAlertConfigSchema,
  dingtalk: DingTalkAlertConfigSchema,
  wecom: WeComAlertConfigSchema,
} as const;

export type WebhookAlertConfig = z.output<typeof WebhookAlertConfigSchema>;
export type EmailAlertConfig = z.output<typeof EmailAlertConfigSchema>;
export type SlackAlertConfig = z.output<typeof SlackAlertConfigSchema>;
export type FeishuAlertConfig = z.output<typeof FeishuAlertConfigSchema>;
export type DingTalkAlertConfig = z.output<typeof DingTalkAlertConfigSchema>;
export type WeComAlertConfig = z.output<typeof WeComAlertConfigSchema>;

const base = {
  namespace: TaskSpecSchema.shape.namespace,
  name: TaskSpecSchema.shape.name,
  description: z.string().max(2000).optional(),
  locale: z.enum(ALERT_LOCALES).default('en').describe('the language of its messages: "en" or "zh"'),
};
const channel = <T extends AlertChannelType, C extends z.ZodType>(type: T, config: C) =>
  z.strictObject({ ...base, type: z.literal(type), config });

/** The body of `POST /api/v1/alert-channels`. */
export const AlertChannelSpecSchema = z.discriminatedUnion('type', [
  channel('webhook', WebhookAlertConfigSchema),
  channel('email', EmailAlertConfigSchema),
  channel('slack', SlackAlertConfigSchema),
  channel('feishu', FeishuAlertConfigSchema),
  channel('dingtalk', DingTalkAlertConfigSchema),
  channel('wecom', WeComAlertConfigSchema),
], { error: `type must be one of ${ALERT_CHANNEL_TYPES.map((t) => `"${t}"`).join(', ')}` });
export type AlertChannelSpecInput = z.input<typeof AlertChannelSpecSchema>;
/** A validated channel, defaults applied. */
export type AlertChannelSpec = z.output<typeof AlertChannelSpecSchema>;
/** The config of one channel type. */
export type AlertChannelConfigOf<T extends AlertChannelType> = Extract<AlertChannelSpec, { type: T }>['config'];

/** One change of state of one incident, as every channel is given it (and the generic webhook sends it). */
export const AlertNotificationSchema = z.object({
  /** Stable across retries of the same send: receivers deduplicate on it. */
  id: z.string().min(1).max(256),
  incidentId: z.string().min(1).max(256),
  state: z.enum(ALERT_NOTIFICATION_STATES),
  severity: z.enum(ALERT_SEVERITIES),
  rule: z.object({ name: z.string().max(256), on: z.enum(ALERT_RULE_KINDS) }),
  subject: z.object({ kind: z.enum(ALERT_SUBJECT_KINDS), id: z.string().max(256), name: z.string().max(512) }),
  namespace: z.string().max(128),
  /** One sentence saying what happened, in the rule's words (not translated). */
  summary: z.string().max(4000),
  /** Figures of the condition: `error`, `runId`, `count`, `failureRate`, `lagMs`… (see docs/alerts.md). */
  details: z.record(z.string(), z.unknown()),
  /** When the incident changed state: ISO-8601 UTC. */
  at: z.iso.datetime({ offset: true }),
  /** A link to the incident or its subject in the console. */
  url: z.string().max(2048).optional(),
  /** A "send a test" notification: no incident exists. */
  test: z.boolean().optional(),
});
export type AlertNotification = z.output<typeof AlertNotificationSchema>;

// ---- rules -------------------------------------------------------------------------------------

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** The keys of a rule's `scope`: it holds exactly one of them. */
export const ALERT_RULE_SCOPE_KEYS = ['taskId', 'workflowId', 'labels', 'namespace'] as const;

/** What a rule watches: one task, one workflow, the tasks with some labels, or its whole namespace. */
export type AlertRuleScope = { taskId: string } | { workflowId: string } | { labels: Record<string, string> } | { namespace: string };

/**
 * A scope (of a rule, or of a silence): exactly one of taskId, workflowId, labels (not empty) or
 * namespace, each described as `describe` says for the owner.
 */
function scopeSchema(describe: Record<(typeof ALERT_RULE_SCOPE_KEYS)[number], string>) {
  return z.strictObject({
    taskId: z.string().min(1).max(128).optional().describe(describe.taskId),
    workflowId: z.string().min(1).max(128).optional().describe(describe.workflowId),
    labels: TaskLabelsSchema.refine((labels) => Object.keys(labels).length > 0, 'at least one label').optional().describe(describe.labels),
    namespace: TaskSpecSchema.shape.name.optional().describe(describe.namespace),
  }).superRefine((scope, ctx) => {
    const given = ALERT_RULE_SCOPE_KEYS.filter((key) => scope[key] !== undefined);
    if (given.length === 1) return;
    ctx.addIssue({
      code: 'custom',
      message: given.length === 0 ? 'give one of taskId, workflowId, labels or namespace' : `give one of taskId, workflowId, labels or namespace, not ${given.join(' and ')}`,
      params: { ecronCode: given.length === 0 ? 'INVALID_VALUE' : 'INVALID_COMBINATION' },
    });
  });
}

export const AlertRuleScopeSchema = scopeSchema({
  taskId: 'one task of the rule\'s namespace',
  workflowId: 'one workflow of the rule\'s namespace',
  labels: 'the tasks of the namespace whose labels hold every one of these pairs',
  namespace: 'every task and workflow of the namespace: the rule\'s own',
});

/** Rule kinds that watch a namespace as a whole (executor groups, scheduler nodes): their scope is `{ namespace }`. */
export const NAMESPACE_ONLY_RULE_KINDS: readonly AlertRuleKind[] = ['no-executor', 'node-lost'];

const channelNames = z.array(TaskSpecSchema.shape.name).min(1, 'at least one channel').max(20, 'at most 20 channels')
  .refine((names) => new Set(names).size === names.length, 'a channel is named twice');

const ruleBase = {
  namespace: TaskSpecSchema.shape.namespace,
  name: TaskSpecSchema.shape.name,
  description: z.string().max(2000).optional(),
  scope: AlertRuleScopeSchema,
  channels: channelNames.describe('names of alert channels of the rule\'s namespace; each notification goes to each of them'),
  severity: z.enum(ALERT_SEVERITIES).default('warning'),
  enabled: z.boolean().default(true).describe('a disabled rule opens no incident'),
  repeatInterval: duration({ min: MINUTE, max: 30 * DAY }).optional()
    .describe('notify again while the incident stays open, this often (1m to 30d); absent: once'),
  sendResolved: z.boolean().default(true).describe('notify when the incident resolves'),
};

const kind = <K extends AlertRuleKind, P extends z.ZodRawShape>(on: K, params: P) =>
  z.strictObject({ ...ruleBase, on: z.literal(on), ...params });

/** Each kind of rule with its parameters (durations as milliseconds once parsed). */
const RULE_KINDS = [
  kind('failure', {
    attempts: z.enum(['final', 'every']).default('final')
      .describe('"final": a run that failed after its retries; "every": every failed attempt, retries included'),
  }),
  kind('timeout', {}),
  kind('consecutive-failures', {
    count: z.number().int('a whole number').min(2, 'at least 2').max(1000, 'at most 1000').describe('this many runs in a row failed (2 or more)'),
  }),
  kind('failure-rate', {
    rate: z.number().gt(0, 'greater than 0').max(1, 'at most 1 (every run)').describe('the share of failed runs, 0 < rate <= 1 (0.2: 20 %)'),
    window: duration({ min: MINUTE, max: 30 * DAY }).describe('over the runs that finished in this window (1m to 30d)'),
    minRuns: z.number().int('a whole number').min(1, 'at least 1').max(100_000, 'at most 100000').default(5).describe('and at least this many runs finished in it'),
  }),
  kind('missed-fire', {
    grace: duration({ min: 0, max: DAY }).default(MINUTE).describe('no run started within this long after an instant of the schedule; default 1m'),
  }),
  kind('late-start', {
    lag: duration({ min: SECOND, max: DAY }).describe('a run started this long or more after its scheduled instant'),
  }),
  kind('long-running', {
    after: duration({ min: SECOND, max: 30 * DAY }).describe('a run still running this long after it started'),
  }),
  kind('no-executor', {
    group: ExecutorGroupNameSchema.describe('the executor group of the namespace'),
    for: duration({ min: SECOND, max: DAY }).default(MINUTE).describe('without a live executor node for this long; default 1m'),
  }),
  kind('node-lost', {}),
] as const;

/**
 * The body of `POST /api/v1/alert-rules`: a rule of kind `on`, with that kind's parameters at the
 * top level, over its `scope`, sending to its `channels`. docs/alerts.md "Rules" lists the kinds.
 */
export const AlertRuleSpecSchema = z.discriminatedUnion('on', RULE_KINDS, {
  error: `on must be one of ${ALERT_RULE_KINDS.map((k) => `"${k}"`).join(', ')}`,
}).superRefine((rule, ctx) => {
  const scope = rule.scope as Partial<Record<(typeof ALERT_RULE_SCOPE_KEYS)[number], unknown>>;
  if (NAMESPACE_ONLY_RULE_KINDS.includes(rule.on) && scope.namespace === undefined) {
    ctx.addIssue({
      code: 'custom', path: ['scope'], params: { ecronCode: 'INVALID_VALUE' },
      message: `a ${rule.on} rule watches a whole namespace: its scope is { "namespace": ${JSON.stringify(rule.namespace)} }`,
    });
  }
  if (scope.namespace !== undefined && scope.namespace !== rule.namespace) {
    ctx.addIssue({
      code: 'custom', path: ['scope', 'namespace'], params: { ecronCode: 'INVALID_VALUE' },
      message: `must be the rule's own namespace ${JSON.stringify(rule.namespace)}`,
    });
  }
});
export type AlertRuleSpecInput = z.input<typeof AlertRuleSpecSchema>;
/** A validated rule, defaults applied and durations in milliseconds. */
export type AlertRuleSpec = z.output<typeof AlertRuleSpecSchema>;
export type AlertRuleSpecOf<K extends AlertRuleKind> = Extract<AlertRuleSpec, { on: K }>;

// ---- silences ----------------------------------------------------------------------------------

/** The longest a silence may last, from its start to its end: 90 days. */
export const MAX_ALERT_SILENCE_MS = 90 * DAY;

/** What a silence covers: one task, one workflow, the tasks and workflows with some labels, or its whole namespace. */
export type AlertSilenceScope = AlertRuleScope;

export const AlertSilenceScopeSchema = scopeSchema({
  taskId: 'one task of the silence\'s namespace',
  workflowId: 'one workflow of the silence\'s namespace',
  labels: 'the tasks and workflows of the namespace whose labels hold every one of these pairs',
  namespace: 'every subject of the namespace (tasks, workflows, executor groups, nodes): the silence\'s own',
});

const silenceInstant = z.iso.datetime({ offset: true, error: 'expected an ISO-8601 instant such as "2026-12-01T02:00:00Z"' });
const silenceComment = z.string().trim().min(1, 'a comment is required: say why (1 to 1000 characters)').max(1000, 'at most 1000 characters');

/**
 * The body of `POST /api/v1/alert-silences`: while it lasts, `[startsAt, endsAt)`, the incidents of
 * the subjects in `scope` (of the rules `ruleIds`, or of every rule) still open and resolve, and no
 * notification is sent for them. `endsAt`, or `duration` from `startsAt`, is required; the instants
 * are checked against the server's clock by {@link alertSilenceWindow}. docs/alerts.md "Silences".
 */
export const AlertSilenceSpecSchema = z.strictObject({
  namespace: TaskSpecSchema.shape.namespace,
  scope: AlertSilenceScopeSchema,
  ruleIds: z.array(z.string().min(1).max(128)).min(1, 'at least one rule id (leave ruleIds out to silence every rule)').max(100, 'at most 100 rules')
    .refine((ids) => new Set(ids).size === ids.length, 'a rule is named twice').optional()
    .describe('only the incidents of these rules of the namespace; absent: of every rule'),
  startsAt: silenceInstant.optional().describe('when it starts (ISO-8601); default: now'),
  endsAt: silenceInstant.optional().describe('when it ends (ISO-8601): after startsAt, at most 90 days after it; or give duration'),
  duration: duration({ min: MINUTE, max: MAX_ALERT_SILENCE_MS }).optional().describe('how long it lasts from startsAt, "2h" (1m to 90d), instead of endsAt'),
  comment: silenceComment.describe('why: a change number, the maintenance planned (1 to 1000 characters)'),
}).superRefine((spec, ctx) => {
  if (spec.endsAt === undefined && spec.duration === undefined) {
    ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'give endsAt (an ISO-8601 instant) or duration ("2h")', params: { ecronCode: 'INVALID_VALUE' } });
  } else if (spec.endsAt !== undefined && spec.duration !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['duration'], message: 'give endsAt or duration, not both', params: { ecronCode: 'INVALID_COMBINATION' } });
  }
  const scope = spec.scope as Partial<Record<(typeof ALERT_RULE_SCOPE_KEYS)[number], unknown>>;
  if (scope.namespace !== undefined && scope.namespace !== spec.namespace) {
    ctx.addIssue({
      code: 'custom', path: ['scope', 'namespace'], params: { ecronCode: 'INVALID_VALUE' },
      message: `must be the silence's own namespace ${JSON.stringify(spec.namespace)}`,
    });
  }
});
export type AlertSilenceSpecInput = z.input<typeof AlertSilenceSpecSchema>;
/** A silence as validated (instants still as written; {@link alertSilenceWindow} resolves them). */
export type AlertSilenceSpec = z.output<typeof AlertSilenceSpecSchema>;

/**
 * The body of `PUT /api/v1/alert-silences/{id}`: a new `endsAt` and/or `comment`. The other fields
 * of a silence as read may be sent back unchanged; a change of them is refused by the server.
 */
export const AlertSilenceUpdateSchema = z.strictObject({
  endsAt: silenceInstant.optional().describe('the new end: after startsAt and not in the past, at most 90 days after startsAt'),
  comment: silenceComment.optional(),
});
export type AlertSilenceUpdate = z.output<typeof AlertSilenceUpdateSchema>;

/** One problem of a silence's instants. */
export interface AlertSilenceWindowIssue { path: 'startsAt' | 'endsAt' | 'duration'; code: string; message: string }

/**
 * The instants (ms) of a validated silence at `now`: `startsAt` defaults to now, `endsAt` is given or
 * `startsAt + duration`. Issues, each naming its field: an end not after the start, one more than
 * 90 days after it, or one already past (a silence that would never be in force).
 */
export function alertSilenceWindow(spec: Pick<AlertSilenceSpec, 'startsAt' | 'endsAt' | 'duration'>, now: number): {
  startsAt: number; endsAt: number; issues: AlertSilenceWindowIssue[];
} {
  const startsAt = spec.startsAt === undefined ? now : Date.parse(spec.startsAt);
  const endsAt = spec.endsAt === undefined ? startsAt + (spec.duration ?? 0) : Date.parse(spec.endsAt);
  const path = spec.endsAt === undefined ? 'duration' : 'endsAt';
  const issues: AlertSilenceWindowIssue[] = [];
  const at = (ms: number) => new Date(ms).toISOString();
  if (endsAt <= startsAt) {
    issues.push({ path, code: 'OUT_OF_RANGE', message: `must end after it starts (${at(startsAt)})` });
  } else if (endsAt - startsAt > MAX_ALERT_SILENCE_MS) {
    issues.push({ path, code: 'OUT_OF_RANGE', message: `a silence lasts at most 90 days: end it by ${at(startsAt + MAX_ALERT_SILENCE_MS)}` });
  } else if (endsAt <= now) {
    issues.push({ path, code: 'OUT_OF_RANGE', message: `it would already have ended (${at(endsAt)}): the server's time is ${at(now)}` });
  }
  return { startsAt, endsAt, issues };
}
