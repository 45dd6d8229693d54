/**
 * The text `ecron import` prints: the specs as a YAML stream (what `ecron task apply -f` reads),
 * the explanation of what was not converted, and the agent config a crontab's commands need.
 * Pure: returns strings.
 */
import { stringify } from 'yaml';
import type { ImportProblem, ImportedTask } from './common.ts';
import type { AgentConfigSnippet } from './crontab.ts';

const YAML_OPTIONS = { lineWidth: 0 } as const;

/** The specs as YAML documents, each starting with `---` and a comment naming its source. */
export function specsYaml(tasks: readonly ImportedTask[]): string {
  return tasks.map((task) => {
    const paused = task.paused ? ' (suspended: paused once created)' : '';
    return `---\n# ${task.source}${paused}\n${stringify(task.spec, YAML_OPTIONS)}`;
  }).join('');
}

/** The part of an agent config file that runs the imported commands (agent/config.ts's format). */
export function agentConfigYaml(snippet: AgentConfigSnippet): string {
  const config: Record<string, unknown> = { group: snippet.group, namespace: snippet.namespace };
  if (Object.keys(snippet.env).length > 0) config.env = snippet.env;
  config.allow = snippet.allow;
  return stringify(config, YAML_OPTIONS);
}

const HEADINGS: readonly [ImportProblem['severity'][], string][] = [
  [['error', 'skipped'], 'Not converted'],
  [['warning'], 'Warnings (converted without these)'],
  [['note'], 'Notes'],
];

/** The problems under three headings, one `where: message` line each. */
export function problemsText(problems: readonly ImportProblem[]): string {
  let text = '';
  for (const [severities, heading] of HEADINGS) {
    const listed = problems.filter((p) => severities.includes(p.severity));
    if (listed.length === 0) continue;
    text += `${heading}:\n${listed.map((p) => `  ${p.where}: ${p.message}\n`).join('')}`;
  }
  return text;
}

/** The report after the tasks: the problems, then the agent config (for a crontab). */
export function reportText(p: { summary: string; problems: readonly ImportProblem[]; agentConfig?: AgentConfigSnippet }): string {
  let text = `${p.summary}\n`;
  const problems = problemsText(p.problems);
  if (problems) text += `\n${problems}`;
  if (p.agentConfig && (p.agentConfig.allow.length > 0 || Object.keys(p.agentConfig.env).length > 0)) {
    text += `\nThe agent of group ${p.agentConfig.group} needs these settings in its config file (ecron agent --config FILE; docs/executors.md#agent):\n`
      + agentConfigYaml(p.agentConfig).replace(/^(?=.)/gm, '  ');
  }
  return text;
}

/** Every line of `text` as a YAML comment, so that a dry run's whole output stays a valid spec file. */
export function asComments(text: string): string {
  return text.replace(/\n$/, '').split('\n').map((line) => (line === '' ? '#' : `# ${line}`)).join('\n') + '\n';
}
