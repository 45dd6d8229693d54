/**
 * The small pieces the alert pages share: tags for severities, incident and delivery states, a
 * rule's scope in words (a task's or workflow's name, read once per id), and the live refresh of
 * incidents. No event tells of incidents: the evaluator opens and resolves them a moment after the
 * run and node events it reads, so the pages fetch them again on those events, once at once and
 * once after the evaluator's pass, and poll besides.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { Space, Tag, Tooltip, Typography } from 'antd';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router-dom';
import { api, type TaskResource, type WorkflowResource } from '../../api.ts';
import { paramsText } from '../../alerts/rule-form.ts';
import type { AlertRuleResource, AlertRuleScope, AlertSeverity, IncidentResource, IncidentState, NotificationResource } from '../../alerts/types.ts';
import { useLiveRefresh } from '../../use-events.ts';
import { NOWRAP } from '../common.tsx';

const SEVERITY_COLORS: Record<AlertSeverity, string> = { info: 'blue', warning: 'orange', critical: 'red' };
const STATE_COLORS: Record<IncidentState, string> = { open: 'error', acknowledged: 'warning', resolved: 'success' };
const DELIVERY_COLORS: Record<NotificationResource['state'], string> = { pending: 'processing', sent: 'success', failed: 'error' };

export function SeverityTag({ severity }: { severity: AlertSeverity }) {
  const { t } = useTranslation();
  return <Tag color={SEVERITY_COLORS[severity]} data-severity={severity} style={NOWRAP}>{t(`alerts.severity.${severity}`)}</Tag>;
}

export function IncidentStateTag({ state }: { state: IncidentState }) {
  const { t } = useTranslation();
  return <Tag color={STATE_COLORS[state]} data-state={state} data-testid="incident-state" style={NOWRAP}>{t(`alerts.states.${state}`)}</Tag>;
}

export function DeliveryTag({ state }: { state: NotificationResource['state'] }) {
  const { t } = useTranslation();
  return <Tag color={DELIVERY_COLORS[state]} data-state={state} style={NOWRAP}>{t(`alerts.delivery.${state}`)}</Tag>;
}

/** A rule's parameters in the viewer's language: `Runs in a row 3`, `Attempts final`. */
export function RuleParams({ rule }: { rule: AlertRuleResource }) {
  const { t } = useTranslation();
  const text = paramsText(rule, (p) => t(`alerts.params.${p}`), (p, v) => (p === 'attempts' ? t(`alerts.attemptsShort.${v}`) : String(v)));
  return <Typography.Text type="secondary" style={{ fontSize: 12, ...NOWRAP }} data-testid="rule-params">{text}</Typography.Text>;
}

/** A task's name from its id (the id until it answers, or when it is gone). */
function TaskName({ id }: { id: string }) {
  const task = useQuery({ queryKey: ['alerts', 'task-name', id], queryFn: () => api<TaskResource>('GET', `/tasks/${encodeURIComponent(id)}`), staleTime: 60_000 });
  return <Link to={`/tasks/${id}`} style={NOWRAP}>{task.data?.name ?? id}</Link>;
}

function WorkflowName({ id }: { id: string }) {
  const workflow = useQuery({ queryKey: ['alerts', 'workflow-name', id], queryFn: () => api<WorkflowResource>('GET', `/workflows/${encodeURIComponent(id)}`), staleTime: 60_000 });
  return <Link to={`/workflows/${id}`} style={NOWRAP}>{workflow.data?.name ?? id}</Link>;
}

/** What a rule watches: `task nightly-report`, `labels team=data`, `namespace billing`. */
export function ScopeText({ scope }: { scope: AlertRuleScope }) {
  const { t } = useTranslation();
  const label = (key: string) => <Typography.Text type="secondary" style={NOWRAP}>{t(`alerts.rules.scopeShort.${key}`)}</Typography.Text>;
  if (scope.taskId) return <Space size={4} data-testid="rule-scope">{label('taskId')}<TaskName id={scope.taskId} /></Space>;
  if (scope.workflowId) return <Space size={4} data-testid="rule-scope">{label('workflowId')}<WorkflowName id={scope.workflowId} /></Space>;
  if (scope.labels) {
    return (
      <Space size={[0, 4]} wrap data-testid="rule-scope">
        {label('labels')}{Object.entries(scope.labels).map(([key, value]) => <Tag key={key} style={NOWRAP}>{key}={value}</Tag>)}
      </Space>
    );
  }
  return <Space size={4} data-testid="rule-scope">{label('namespace')}<span style={NOWRAP}>{scope.namespace}</span></Space>;
}

/** An incident's subject: its kind in words and its name, linked to a task's or workflow's page. */
export function SubjectText({ subject }: { subject: IncidentResource['subject'] }) {
  const { t } = useTranslation();
  const name = subject.kind === 'task' ? <Link to={`/tasks/${subject.id}`}>{subject.name}</Link>
    : subject.kind === 'workflow' ? <Link to={`/workflows/${subject.id}`}>{subject.name}</Link>
      : <Tooltip title={subject.id}><span>{subject.name}</span></Tooltip>;
  return (
    <Space size={4} data-testid="incident-subject">
      <Typography.Text type="secondary" style={NOWRAP}>{t(`alerts.subjects.${subject.kind}`)}</Typography.Text>
      <span style={NOWRAP}>{name}</span>
    </Space>
  );
}

/** How often the incident pages poll, besides the events. */
export const INCIDENT_POLL_MS = 5000;
/** The evaluator reads the event log every 250 ms: an incident follows its event within about that. */
const EVALUATOR_PASS_MS = 1000;
const LIVE_FILTER_TYPES = ['run.*', 'workflow.*', 'node.*'];
/** The events on which the rules may open or resolve an incident: the end of a run, a start (late-start), a node lost or back. */
const RELEVANT = /^(run|workflow)\.(failed|timed_out|lost|succeeded|running)$|^node\.(left|joined)$/;

/** Fetches the incidents (every query under `['incidents']`) again when a run of `namespace` ends or a node leaves or joins. */
export function useIncidentRefresh(namespace: string | null): void {
  const client = useQueryClient();
  const later = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => () => clearTimeout(later.current), []);
  useLiveRefresh({ namespace, types: LIVE_FILTER_TYPES }, () => {
    void client.invalidateQueries({ queryKey: ['incidents'] });
    clearTimeout(later.current);
    later.current = setTimeout(() => void client.invalidateQueries({ queryKey: ['incidents'] }), EVALUATOR_PASS_MS);
  }, { relevant: (event) => RELEVANT.test(event.type), throttleMs: 1000 });
}
