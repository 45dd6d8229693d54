/**
 * `ecron import crontab`: a crontab's text into task specs with `shell` targets, the `ecron agent`
 * config (allowlist, environment) their commands need, and an explanation of every line that did
 * not become a task. Pure: the caller reads the file and talks to the server.
 *
 * The crontab is read as cronie and Vixie cron read it:
 * - blank lines and lines starting with `#` (after blanks) are skipped;
 * - `NAME=value` lines set a variable for the lines after them. `CRON_TZ` and `TZ` set the time zone
 *   of the following schedules, `SHELL` the shell that commands needing one run through; the others
 *   (PATH, HOME, MAILTO…) cannot be carried by a task and are explained;
 * - a job is five time fields (or a macro such as `@daily`), in a system crontab (/etc/crontab,
 *   /etc/cron.d) a user name, then the command, with cron's `%` rule (shell-command.ts).
 *
 * Schedules are checked with the project's cron library (`checkCronExpression`, croner), never
 * parsed here.
 */
import { checkCronExpression, isValidTimeZone } from '@ecron/contracts';
import { type ImportProblem, type ImportResult, type ImportedTask, cronOfMacro, specIssues, truncate } from './common.ts';
import { DEFAULT_CRON_SHELL, agentCommand, taskNameOf } from './shell-command.ts';

export type CrontabFormat = 'user' | 'system';

export interface CrontabOptions {
  /** The executor group of the shell targets (the group `ecron agent` serves). */
  group: string;
  /** @default default */
  namespace?: string;
  /** The time zone of the schedules until a `CRON_TZ=`/`TZ=` line. Checked by the caller. @default UTC */
  timezone?: string;
  /** `auto` reads a system crontab (a user column) when {@link detectCrontabFormat} says so. @default auto */
  format?: CrontabFormat | 'auto';
  /** The file's path, for `auto` and for the tasks' descriptions. */
  file?: string;
}

/** What `ecron agent` needs to run the imported commands: a part of its config file (agent/config.ts). */
export interface AgentConfigSnippet {
  group: string;
  namespace: string;
  /** Variables the crontab set (PATH…), for the config's `env`. */
  env: Record<string, string>;
  /** One exact entry per distinct command (the config's `allow`). */
  allow: string[];
}

export interface CrontabImport extends ImportResult {
  format: CrontabFormat;
  agentConfig: AgentConfigSnippet;
}

/** Variables about cron's mail, which ecron replaces with alert rules. */
const MAIL_VARIABLES = new Set(['MAILTO', 'MAILFROM', 'CONTENT_TYPE', 'CONTENT_TRANSFER_ENCODING']);
const ENV_LINE = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/;
const DESCRIPTION_MAX = 2000;

/**
 * `system` when the file is /etc/crontab or in a `cron.d` directory, or carries the header comment
 * of a system crontab (`# m h dom mon dow user command`, or `# * * * * * user-name command`); otherwise `user`.
 */
export function detectCrontabFormat(text: string, file?: string): CrontabFormat {
  if (file !== undefined && (/(^|\/)etc\/crontab$/.test(file) || /(^|\/)cron\.d\/[^/]+$/.test(file))) return 'system';
  const header = /^\s*#.*(\b(dow|day-of-week)\s+(user|user-name|username)\s+command\b|\*\s+(user|user-name|username)\s+command\b)/im;
  return header.test(text) ? 'system' : 'user';
}

/**
 * Cron's day rule, in the cron library's syntax. Cron runs a job on a day that matches the
 * day-of-month field OR the day-of-week field when both are restricted, and on a day that matches
 * both when either field starts with `*`. Vixie cron and cronie test only that first character, so
 * a day-of-month of "every 10th day" written with a `*` and a step counts as unrestricted: with a
 * day-of-week of 5 the job runs on the 1st, 11th, 21st and 31st only when they are Fridays. The
 * library treats only a bare `*` that way, so such a line gets its day-of-week prefixed with `+`,
 * the library's AND.
 */
export function vixieDays(cron: string): string {
  const fields = cron.split(' ');
  const [dom, dow] = [fields[2]!, fields[4]!];
  if (dom === '*' || dow === '*' || !(dom.startsWith('*') || dow.startsWith('*'))) return cron;
  fields[4] = `+${dow}`;
  return fields.join(' ');
}

/** A variable's value as cron reads it: trimmed, without one pair of matching quotes around it. */
function envValue(raw: string): string {
  const value = raw.trim();
  const quoted = /^(['"])(.*)\1$/.exec(value);
  return quoted ? quoted[2]! : value;
}

interface State {
  timezone: string;
  shell: string;
  readonly defaultTimezone: string;
}

class CrontabConverter {
  readonly tasks: ImportedTask[] = [];
  readonly problems: ImportProblem[] = [];
  readonly env = new Map<string, { value: string; line: number }>();
  readonly allow = new Set<string>();
  /** The lines of each user of a system crontab. */
  readonly users = new Map<string, number[]>();
  readonly state: State;
  readonly format: CrontabFormat;
  readonly namespace: string;
  readonly options: CrontabOptions;

  constructor(options: CrontabOptions, text: string) {
    this.options = options;
    const timezone = options.timezone ?? 'UTC';
    this.state = { timezone, shell: DEFAULT_CRON_SHELL, defaultTimezone: timezone };
    this.format = options.format === undefined || options.format === 'auto' ? detectCrontabFormat(text, options.file) : options.format;
    this.namespace = options.namespace ?? 'default';
  }

  problem(severity: ImportProblem['severity'], line: number, message: string): void {
    this.problems.push({ severity, where: `line ${line}`, message });
  }

  line(raw: string, n: number): void {
    const text = raw.replace(/\r$/, '').trim();
    if (text === '' || text.startsWith('#')) return;
    const env = ENV_LINE.exec(text);
    if (env) return this.variable(env[1]!, envValue(env[2]!), n, text);
    this.job(text, n);
  }

  variable(name: string, value: string, n: number, text: string): void {
    if (name === 'CRON_TZ' || name === 'TZ') {
      if (value === '') {
        this.state.timezone = this.state.defaultTimezone;
        return this.problem('note', n, `${name} is empty: the following lines are scheduled in ${this.state.timezone} again`);
      }
      if (!isValidTimeZone(value)) {
        return this.problem('error', n, `${text}: unknown time zone ${JSON.stringify(value)} (use an IANA name such as Europe/Paris); `
          + `the following lines stay in ${this.state.timezone}`);
      }
      this.state.timezone = value;
      const tzNote = name === 'TZ' ? '; cron also sets TZ in the commands\' environment: set it in the agent\'s env if a command reads it' : '';
      return this.problem('note', n, `${text}: the following lines are scheduled in ${value}${tzNote}`);
    }
    if (name === 'SHELL') {
      this.state.shell = value || DEFAULT_CRON_SHELL;
      return this.problem('note', n, `${text}: the agent runs commands without a shell; those that need one (pipes, redirections, $VAR…) `
        + `on the following lines run through ${this.state.shell} -c`);
    }
    if (MAIL_VARIABLES.has(name)) {
      if (name === 'MAILTO' && value === '') return this.problem('skipped', n, `${text}: cron sends no mail; ecron sends none either (nothing to convert)`);
      const how = name === 'MAILTO'
        ? 'To be told of failures, create an email alert channel and a failure rule for these tasks: '
          + `ecron alert channel create --namespace ${this.namespace} --name crontab-mail --type email --host SMTP_HOST --from ecron@HOST --to ${value}, `
          + `then ecron alert rule create --namespace ${this.namespace} --name crontab-failures --on failure -l source=crontab --channel crontab-mail `
          + '(docs/alerts.md). The output of a run is kept in its log (ecron run logs)'
        : 'it shapes cron\'s mail, which ecron replaces with alert rules and run logs (see MAILTO)';
      return this.problem('skipped', n, `${text}: cron mails the output of each command; ecron does not. ${how}`);
    }
    const previous = this.env.get(name);
    if (previous === undefined) this.env.set(name, { value, line: n });
    const where = name === 'PATH'
      ? 'the agent finds programs on its own PATH; the agent config below sets PATH in env'
      : 'set it in the agent\'s config (env; the config below has it) or inline it in the commands that need it';
    let message = `${text}: a task has no environment of its own: ${where}`;
    if (previous !== undefined && previous.value !== value) {
      message += `; ${name} was already set to another value on line ${previous.line}, which the agent config keeps (its env holds one value per variable)`;
    }
    this.problem('skipped', n, message);
  }

  job(text: string, n: number): void {
    const macro = /^(@\S+)(?:\s+(.*))?$/.exec(text);
    let cron: string | undefined;
    let rest: string;
    if (macro) {
      if (macro[1]!.toLowerCase() === '@reboot') {
        return this.problem('error', n, `${text}: @reboot runs once when cron starts, and ecron has no schedule for that; run it from the host's `
          + 'init system (a systemd unit, or @reboot in the host\'s crontab), or create a task with a manual schedule and trigger it at boot');
      }
      cron = cronOfMacro(macro[1]!);
      if (cron === undefined) return this.problem('error', n, `${text}: unknown macro ${macro[1]} (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, @reboot)`);
      rest = macro[2] ?? '';
    } else {
      const fields = /^(\S+\s+\S+\s+\S+\s+\S+\s+\S+)(?:\s+(.*))?$/.exec(text);
      if (!fields) return this.problem('error', n, `${text}: not a crontab entry: expected five time fields (or a macro such as @daily)${this.format === 'system' ? ', a user' : ''} and a command`);
      cron = vixieDays(fields[1]!.replace(/\s+/g, ' '));
      rest = fields[2] ?? '';
    }
    let user: string | undefined;
    if (this.format === 'system') {
      const split = /^(\S+)(?:\s+(.*))?$/.exec(rest);
      user = split?.[1];
      rest = split?.[2] ?? '';
      if (user === undefined || rest.trim() === '') return this.problem('error', n, `${text}: a system crontab line needs a user and a command after the schedule`);
    }
    if (rest.trim() === '') return this.problem('error', n, `${text}: the line has no command`);
    const check = checkCronExpression(cron);
    if (!check.ok) return this.problem('error', n, `${text}: invalid schedule: ${check.message}`);
    const converted = agentCommand(rest, this.state.shell);
    if (!converted.ok) return this.problem('error', n, `${text}: ${converted.reason}`);
    if (converted.wrapped) {
      this.problem('note', n, `runs through ${converted.wrapped.shell} -c, because the agent runs commands without a shell and ${converted.wrapped.reason}`);
    }
    const file = this.options.file ? `${this.options.file} ` : '';
    const spec: Record<string, unknown> = {
      namespace: this.namespace,
      name: taskNameOf(rest, n),
      description: truncate(`crontab ${file}line ${n}: ${text}`, DESCRIPTION_MAX),
      labels: { source: 'crontab', ...(user === undefined ? {} : { user }) },
      schedule: { cron, timezone: this.state.timezone },
      target: { type: 'shell', group: this.options.group, command: converted.command },
    };
    const issues = specIssues(spec);
    if (issues !== undefined) return this.problem('error', n, `${text}: the converted spec is invalid: ${issues}`);
    this.tasks.push({ source: `line ${n}`, spec });
    this.allow.add(converted.command);
    if (user !== undefined) this.users.set(user, [...(this.users.get(user) ?? []), n]);
  }

  finish(): CrontabImport {
    for (const [user, lines] of this.users) {
      this.problems.push({
        severity: 'warning', where: `line${lines.length > 1 ? 's' : ''} ${lines.join(', ')}`,
        message: `cron runs these commands as user ${user} (kept as the label user=${user}); the agent runs every command as its own user: `
          + `run the agent of group ${this.options.group} as ${user}, or give each user a group of its own`,
      });
    }
    if (this.tasks.length > 0) {
      this.problems.push({
        severity: 'note', where: 'all lines',
        message: 'cron starts each command in the user\'s home directory with a small environment (SHELL=/bin/sh, PATH=/usr/bin:/bin, HOME, LOGNAME); '
          + 'the agent starts it in its workingDir with its own environment plus its config\'s env: use absolute paths, or set workingDir and env',
      });
    }
    return {
      format: this.format,
      tasks: this.tasks,
      problems: this.problems,
      agentConfig: {
        group: this.options.group,
        namespace: this.namespace,
        env: Object.fromEntries([...this.env].map(([name, { value }]) => [name, value])),
        allow: [...this.allow],
      },
    };
  }
}

/** Converts the text of a crontab. Every line that is not a task is explained in `problems`, by its line number. */
export function convertCrontab(text: string, options: CrontabOptions): CrontabImport {
  const converter = new CrontabConverter(options, text);
  text.replace(/^\uFEFF/, '').split('\n').forEach((line, i) => converter.line(line, i + 1));
  return converter.finish();
}
