/**
 * The words of alert messages, in English and Chinese: one table per locale, each with every state,
 * severity, subject kind, rule kind and detail label, so that a missing translation is a type error.
 */
import type { AlertLocale, AlertNotificationState, AlertRuleKind, AlertSeverity, AlertSubjectKind } from '@ecron/contracts';

export interface Phrases {
  state: Record<AlertNotificationState, string>;
  /** The state word of a test notification, and what its title says happened. */
  test: string;
  testWhat: string;
  severity: Record<AlertSeverity, string>;
  subject: Record<AlertSubjectKind, string>;
  /** What the rule saw (firing, repeat) and what it sees when the incident resolves. */
  rule: Record<AlertRuleKind, { firing: (d: Record<string, unknown>) => string; resolved: string }>;
  labels: {
    rule: string; severity: string; namespace: string; at: string; incident: string; open: string; details: string;
  };
  /** Labels of the details ecron's rules fill in; other keys are shown as they are. */
  details: Record<string, string>;
  testSummary: string;
  /** "A: b" or "A：b". */
  colon: string;
}

const count = (d: Record<string, unknown>, key: string): string | null =>
  typeof d[key] === 'number' || typeof d[key] === 'string' ? String(d[key]) : null;

const percent = (value: unknown): string | null =>
  typeof value === 'number' && Number.isFinite(value) ? `${Math.round(value * 1000) / 10}%` : null;

const en: Phrases = {
  state: { firing: 'FIRING', resolved: 'RESOLVED', repeat: 'STILL FIRING' },
  test: 'TEST',
  testWhat: 'test notification',
  severity: { info: 'info', warning: 'warning', critical: 'critical' },
  subject: { task: 'Task', workflow: 'Workflow', namespace: 'Namespace', group: 'Executor group', node: 'Scheduler node' },
  rule: {
    'failure': { firing: () => 'run failed', resolved: 'succeeded again' },
    'timeout': { firing: () => 'run timed out', resolved: 'finished in time again' },
    'consecutive-failures': { firing: (d) => (count(d, 'count') ? `failed ${count(d, 'count')} times in a row` : 'failed several times in a row'), resolved: 'no longer failing in a row' },
    'failure-rate': { firing: (d) => (percent(d.failureRate) ? `failure rate ${percent(d.failureRate)}` : 'failure rate over its threshold'), resolved: 'failure rate back under its threshold' },
    'missed-fire': { firing: () => 'missed a scheduled fire', resolved: 'fires on schedule again' },
    'late-start': { firing: () => 'started late', resolved: 'starts on time again' },
    'long-running': { firing: () => 'still running', resolved: 'no longer running too long' },
    'no-executor': { firing: () => 'no live executor', resolved: 'has a live executor again' },
    'node-lost': { firing: () => 'node lost', resolved: 'node back' },
  },
  labels: { rule: 'Rule', severity: 'Severity', namespace: 'Namespace', at: 'Time', incident: 'Incident', open: 'Open in ecron', details: 'Details' },
  details: {
    error: 'Error', runId: 'Run', attempt: 'Attempt', attempts: 'Attempts', count: 'Failures in a row', failureRate: 'Failure rate',
    threshold: 'Threshold', runs: 'Runs', failures: 'Failures', windowMs: 'Window (ms)', scheduledAt: 'Scheduled at', graceMs: 'Grace (ms)',
    lagMs: 'Lag (ms)', runningMs: 'Running for (ms)', group: 'Executor group', node: 'Node', lastSeenAt: 'Last seen',
  },
  testSummary: 'This is a test notification from ecron: the channel works.',
  colon: ': ',
};

const zh: Phrases = {
  state: { firing: '告警', resolved: '已恢复', repeat: '持续告警' },
  test: '测试',
  testWhat: '测试通知',
  severity: { info: '提示', warning: '警告', critical: '严重' },
  subject: { task: '任务', workflow: '工作流', namespace: '命名空间', group: '执行器组', node: '调度节点' },
  rule: {
    'failure': { firing: () => '运行失败', resolved: '已恢复成功' },
    'timeout': { firing: () => '运行超时', resolved: '已恢复按时完成' },
    'consecutive-failures': { firing: (d) => (count(d, 'count') ? `连续失败 ${count(d, 'count')} 次` : '连续多次失败'), resolved: '连续失败已结束' },
    'failure-rate': { firing: (d) => (percent(d.failureRate) ? `失败率 ${percent(d.failureRate)}` : '失败率超过阈值'), resolved: '失败率已回落到阈值以下' },
    'missed-fire': { firing: () => '错过计划触发', resolved: '已恢复按时触发' },
    'late-start': { firing: () => '启动延迟', resolved: '已恢复按时启动' },
    'long-running': { firing: () => '运行时间过长', resolved: '运行时间已恢复正常' },
    'no-executor': { firing: () => '没有在线的执行器', resolved: '已有在线的执行器' },
    'node-lost': { firing: () => '节点失联', resolved: '节点已恢复' },
  },
  labels: { rule: '规则', severity: '级别', namespace: '命名空间', at: '时间', incident: '事件', open: '在 ecron 中查看', details: '详情' },
  details: {
    error: '错误', runId: '运行', attempt: '尝试', attempts: '尝试次数', count: '连续失败次数', failureRate: '失败率',
    threshold: '阈值', runs: '运行次数', failures: '失败次数', windowMs: '窗口（毫秒）', scheduledAt: '计划时间', graceMs: '宽限（毫秒）',
    lagMs: '延迟（毫秒）', runningMs: '已运行（毫秒）', group: '执行器组', node: '节点', lastSeenAt: '最后在线',
  },
  testSummary: '这是一条来自 ecron 的测试通知：该通道工作正常。',
  colon: '：',
};

export const PHRASES: Record<AlertLocale, Phrases> = { en, zh };

/** A detail's value as text: failure rates as percentages, the rest as JSON unless a string. */
export function detailText(key: string, value: unknown): string {
  if (key === 'failureRate') return percent(value) ?? String(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}
