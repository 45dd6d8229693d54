/**
 * The crontab converter of `ecron import crontab` (cli/import/crontab.ts, shell-command.ts) and the
 * report it prints (report.ts), as pure functions: every mapping and every refusal.
 */
import { TaskSpecSchema } from '@ecron/contracts';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { resolveAgentConfig } from '../../src/agent/config.ts';
import { type CrontabOptions, convertCrontab, detectCrontabFormat } from '../../src/cli/import/crontab.ts';
import { agentConfigYaml, asComments, reportText, specsYaml } from '../../src/cli/import/report.ts';
import { agentCommand, taskNameOf, unescapePercent } from '../../src/cli/import/shell-command.ts';

const convert = (lines: string[], options: Partial<CrontabOptions> = {}) => convertCrontab(lines.join('\n'), { group: 'ops', ...options });
const problemAt = (result: ReturnType<typeof convert>, line: number) => result.problems.filter((p) => p.where === `line ${line}`);
const target = (result: ReturnType<typeof convert>, i = 0) => result.tasks[i]!.spec.target as { type: string; group: string; command: string };
const schedule = (result: ReturnType<typeof convert>, i = 0) => result.tasks[i]!.spec.schedule as { cron: string; timezone: string };

describe('convertCrontab: job lines', () => {
  it('turns a 5-field line into a shell task named from its command and line, labelled source=crontab, with the line as description', () => {
    const result = convert(['# backups', '', '30 2 * * 1-5 /usr/local/bin/backup-db.sh --full'], { namespace: 'ops-ns', file: 'my.crontab' });
    expect(result.format).toBe('user');
    expect(result.tasks).toHaveLength(1);
    expect(result.tasks[0]).toEqual({
      source: 'line 3',
      spec: {
        namespace: 'ops-ns', name: 'backup-db-l3', description: 'crontab my.crontab line 3: 30 2 * * 1-5 /usr/local/bin/backup-db.sh --full',
        labels: { source: 'crontab' }, schedule: { cron: '30 2 * * 1-5', timezone: 'UTC' },
        target: { type: 'shell', group: 'ops', command: '/usr/local/bin/backup-db.sh --full' },
      },
    });
    // Comments and blank lines are skipped silently; only the general note about the environment remains.
    expect(result.problems.map((p) => p.severity)).toEqual(['note']);
    expect(TaskSpecSchema.safeParse(result.tasks[0]!.spec).success).toBe(true);
  });

  it('maps every macro to its cron expression, in any case', () => {
    const macros: Record<string, string> = {
      '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0', '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *', '@DAILY': '0 0 * * *',
    };
    const result = convert(Object.keys(macros).map((macro) => `${macro} /bin/job`));
    expect(result.tasks.map((t) => (t.spec.schedule as { cron: string }).cron)).toEqual(Object.values(macros));
    expect(result.problems.filter((p) => p.severity === 'error')).toEqual([]);
  });

  it('explains @reboot, unknown macros, invalid schedules and lines without a command, each with its line number', () => {
    const result = convert(['@reboot /usr/bin/start', '@fortnightly /bin/x', '61 * * * * /bin/true', '0 0 31 2 * /bin/never', '0 0 * *', '0 3 * * *', '* * * * * /bin/ok']);
    expect(result.tasks.map((t) => t.source)).toEqual(['line 7']);
    expect(problemAt(result, 1)[0]).toMatchObject({ severity: 'error', message: expect.stringMatching(/^@reboot \/usr\/bin\/start: @reboot .*no schedule/) });
    expect(problemAt(result, 2)[0]!.message).toMatch(/unknown macro @fortnightly/);
    expect(problemAt(result, 3)[0]!.message).toMatch(/^61 \* \* \* \* \/bin\/true: invalid schedule: .*minute/);
    expect(problemAt(result, 4)[0]!.message).toMatch(/invalid schedule: .*never fires/);
    expect(problemAt(result, 5)[0]!.message).toMatch(/not a crontab entry: expected five time fields/);
    expect(problemAt(result, 6)[0]!.message).toMatch(/has no command/);
  });

  it('keeps month and weekday names and ranges as written, validated by the cron library', () => {
    const result = convert(['*/15 9-17 * jan-mar mon-fri /bin/poll']);
    expect(schedule(result)).toEqual({ cron: '*/15 9-17 * jan-mar mon-fri', timezone: 'UTC' });
  });
});

describe('convertCrontab: the % rule and commands that need a shell', () => {
  it('turns \\% into % and refuses a command with an unescaped %', () => {
    const result = convert(['0 1 * * * date +\\%F', '0 2 * * * mail -s hi ops%body of the mail%', '0 3 * * * echo \\\\%x']);
    expect(target(result).command).toBe('date +%F');
    expect(problemAt(result, 2)[0]).toMatchObject({ severity: 'error', message: expect.stringContaining('unescaped "%" (at character 15 of the command)') });
    expect(problemAt(result, 2)[0]!.message).toMatch(/standard input/);
    // As cron reads it: "\\" is a backslash kept for the shell, and the % after it is unescaped.
    expect(problemAt(result, 3)[0]!.message).toMatch(/unescaped "%"/);
    expect(unescapePercent('a \\% b \\n')).toEqual({ ok: true, command: 'a % b \\n' });
    expect(unescapePercent('50%')).toEqual({ ok: false, at: 2 });
  });

  it('wraps a command that needs a shell in SHELL -c (the crontab\'s, else /bin/sh) and says why', () => {
    const result = convert(['0 1 * * * /opt/a.sh > /var/log/a.log 2>&1', 'SHELL=/bin/bash', '0 2 * * * cd /srv && make', '0 3 * * * ~/bin/run', '0 4 * * * echo $HOME']);
    expect(result.tasks.map((t) => (t.spec.target as { command: string }).command)).toEqual([
      "/bin/sh -c '/opt/a.sh > /var/log/a.log 2>&1'",
      "/bin/bash -c 'cd /srv && make'",
      "/bin/bash -c '~/bin/run'",
      "/bin/bash -c 'echo $HOME'",
    ]);
    expect(problemAt(result, 1)[0]!.message).toMatch(/runs through \/bin\/sh -c, .*shell operator ">"/);
    expect(problemAt(result, 2)[0]).toMatchObject({ severity: 'note', message: expect.stringMatching(/run through \/bin\/bash -c/) });
    expect(problemAt(result, 4)[0]!.message).toMatch(/"~"/);
    expect(agentCommand("echo 'it''s'")).toEqual({ ok: true, command: "echo 'it''s'" });
    expect(agentCommand('   ')).toEqual({ ok: false, reason: 'the line has no command' });
  });

  it('prints allowlist entries in the agent config format that the agent accepts and that allow each task\'s command', () => {
    const result = convert([
      'PATH=/usr/local/bin:/usr/bin:/bin', '0 1 * * * /opt/a.sh > /dev/null', '0 2 * * * /opt/b.sh --x "two words"', '5 2 * * * /opt/b.sh --x "two words"', "0 3 * * * echo 'it'\\''s' | wc -c",
    ]);
    expect(result.agentConfig).toEqual({
      group: 'ops', namespace: 'default', env: { PATH: '/usr/local/bin:/usr/bin:/bin' },
      allow: ["/bin/sh -c '/opt/a.sh > /dev/null'", '/opt/b.sh --x "two words"', `/bin/sh -c 'echo '\\''it'\\''\\'\\'''\\''s'\\'' | wc -c'`],
    });
    const { parse } = { parse: (text: string) => parseAllDocuments(text)[0]!.toJS() as Record<string, unknown> };
    const config = resolveAgentConfig({ ...parse(agentConfigYaml(result.agentConfig)), token: 't' }, { baseDir: '/', cwd: '/' });
    expect(config.warnings).toEqual([]);
    for (const task of result.tasks) expect(config.allowlist.check((task.spec.target as { command: string }).command).allowed).toBe(true);
    expect(config.allowlist.check('/opt/b.sh --x other').allowed).toBe(false);
  });
});

describe('convertCrontab: variables', () => {
  it('explains environment lines, carries PATH and the others into the agent config, and suggests an alert rule for MAILTO', () => {
    const result = convert(['MAILTO=ops@example.com', 'HOME = "/root"', 'PATH=/bin', 'MAILTO=""', 'HOME=/home/x', '0 1 * * * /bin/job'], { namespace: 'n1' });
    expect(result.tasks).toHaveLength(1);
    expect(problemAt(result, 1)[0]).toMatchObject({ severity: 'skipped' });
    expect(problemAt(result, 1)[0]!.message).toMatch(/ecron alert channel create --namespace n1 .*--type email .*--to ops@example.com.*ecron alert rule create --namespace n1 .*--on failure -l source=crontab/);
    expect(problemAt(result, 2)[0]!.message).toMatch(/^HOME = "\/root": .*set it in the agent's config \(env.*or inline it in the commands/);
    expect(problemAt(result, 3)[0]!.message).toMatch(/agent finds programs on its own PATH/);
    expect(problemAt(result, 4)[0]!.message).toMatch(/sends no mail/);
    expect(problemAt(result, 5)[0]!.message).toMatch(/already set to another value on line 2/);
    expect(result.agentConfig.env).toEqual({ HOME: '/root', PATH: '/bin' });
  });

  it('schedules the lines after CRON_TZ= or TZ= in that zone, refuses an unknown zone, and goes back to --timezone on an empty one', () => {
    const result = convert([
      '0 1 * * * /bin/a', 'CRON_TZ=Asia/Tokyo', '0 2 * * * /bin/b', 'TZ=Nowhere/Zone', '0 3 * * * /bin/c', 'TZ="America/New_York"', '0 4 * * * /bin/d', 'CRON_TZ=', '0 5 * * * /bin/e',
    ], { timezone: 'Europe/Paris' });
    expect(result.tasks.map((t) => (t.spec.schedule as { timezone: string }).timezone)).toEqual(['Europe/Paris', 'Asia/Tokyo', 'Asia/Tokyo', 'America/New_York', 'Europe/Paris']);
    expect(problemAt(result, 2)[0]).toMatchObject({ severity: 'note', message: expect.stringMatching(/scheduled in Asia\/Tokyo/) });
    expect(problemAt(result, 4)[0]).toMatchObject({ severity: 'error', message: expect.stringMatching(/unknown time zone "Nowhere\/Zone".*stay in Asia\/Tokyo/) });
    expect(problemAt(result, 6)[0]!.message).toMatch(/cron also sets TZ in the commands' environment/);
  });
});

describe('convertCrontab: system crontabs', () => {
  const system = ['SHELL=/bin/sh', '# m h dom mon dow user  command', '17 * * * * root cd / && run-parts --report /etc/cron.hourly', '@weekly www-data /usr/bin/php /var/www/artisan schedule:run', '0 3 * * * backup', '0 4 * * * root /bin/one'];

  it('reads the user column, keeps it as the label user=NAME and says the agent runs commands as its own user', () => {
    const result = convert(system);
    expect(result.format).toBe('system');
    expect(result.tasks.map((t) => [t.spec.name, t.spec.labels])).toEqual([
      ['cron-hourly-l3', { source: 'crontab', user: 'root' }], ['artisan-schedule-run-l4', { source: 'crontab', user: 'www-data' }], ['one-l6', { source: 'crontab', user: 'root' }],
    ]);
    expect(target(result, 1).command).toBe('/usr/bin/php /var/www/artisan schedule:run');
    expect(problemAt(result, 5)[0]!.message).toMatch(/^0 3 \* \* \* backup: a system crontab line needs a user and a command/);
    const users = result.problems.filter((p) => p.severity === 'warning');
    expect(users.map((p) => p.where)).toEqual(['lines 3, 6', 'line 4']);
    expect(users[0]!.message).toMatch(/cron runs these commands as user root \(kept as the label user=root\); the agent runs every command as its own user/);
  });

  it('detects the format from the path or the header, and --format overrides it', () => {
    expect(detectCrontabFormat('0 * * * * root x', '/etc/crontab')).toBe('system');
    expect(detectCrontabFormat('', '/etc/cron.d/backup')).toBe('system');
    expect(detectCrontabFormat('# *  *  *  *  * user-name  command to be executed\n', 'x')).toBe('system');
    expect(detectCrontabFormat('# m h  dom mon dow   command\n0 * * * * root x', 'mine.txt')).toBe('user');
    const asUser = convert(system, { format: 'user' });
    expect(asUser.format).toBe('user');
    expect(target(asUser, 2).command).toBe('backup');
  });
});

describe('task names', () => {
  it('are derived from the command and the line, unique per line and within the name pattern', () => {
    expect(taskNameOf('/usr/local/bin/backup-db.sh > /dev/null 2>&1', 12)).toBe('backup-db-l12');
    expect(taskNameOf('python3 /opt/jobs/Report.py --day daily', 4)).toBe('report-daily-l4');
    expect(taskNameOf('FOO=1 ./sync_all.sh', 9)).toBe('sync-all-l9');
    expect(taskNameOf('>/dev/null', 3)).toBe('cron-l3');
    expect(taskNameOf(`/bin/${'x'.repeat(300)}`, 99999)).toMatch(/^x{48}-l99999$/);
    const result = convert(['0 1 * * * /bin/same', '0 2 * * * /bin/same']);
    expect(result.tasks.map((t) => t.spec.name)).toEqual(['same-l1', 'same-l2']);
    expect(result.agentConfig.allow).toEqual(['/bin/same']);
  });
});

describe('the report', () => {
  it('prints the specs as a YAML stream that reads back as the same specs, and the report as comments only', () => {
    const result = convert(['@reboot x', "0 1 * * * echo 'a: b' # not a comment for cron"]);
    const yaml = specsYaml(result.tasks);
    expect(parseAllDocuments(yaml).map((d) => d.toJS())).toEqual(result.tasks.map((t) => t.spec));
    const report = reportText({ summary: 'summary', problems: result.problems, agentConfig: result.agentConfig });
    expect(report).toMatch(/^summary\n\nNot converted:\n {2}line 1: @reboot x: /);
    expect(report).toMatch(/Notes:\n {2}line 2: runs through \/bin\/sh -c/);
    expect(report).toMatch(/The agent of group ops needs these settings .*\n {2}group: ops\n {2}namespace: default\n {2}allow:\n {4}- /);
    const comments = asComments(report);
    expect(comments.split('\n').slice(0, -1).every((line) => line.startsWith('#'))).toBe(true);
    expect(parseAllDocuments(`${yaml}\n${comments}`).map((d) => d.toJS())).toEqual(result.tasks.map((t) => t.spec));
  });
});
