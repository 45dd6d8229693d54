/** Notifications and channels shared by the alert channel tests. */
import type { AlertNotification } from '@ecron/contracts';

export function notification(overrides: Partial<AlertNotification> = {}): AlertNotification {
  return {
    id: 'ntf-1',
    incidentId: 'inc-1',
    state: 'firing',
    severity: 'critical',
    rule: { name: 'nightly-fails', on: 'failure' },
    subject: { kind: 'task', id: 'task-42', name: 'nightly-report' },
    namespace: 'billing',
    summary: 'nightly-report failed after 3 attempts',
    details: { runId: 'run-7', attempts: 3, error: 'HTTP 500 from http://10.0.0.5/run <boom>' },
    at: '2026-12-07T02:30:05.000Z',
    url: 'https://ecron.example.com/console/incidents/inc-1',
    ...overrides,
  };
}
