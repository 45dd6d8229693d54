/**
 * Every MySQL/MariaDB migration, by name. The migrator applies them in name order, so names
 * start with a zero-padded sequence number. Append only: a released migration never changes.
 */
import type { Migration } from 'kysely/migration';
import * as init from './0001_init.ts';
import * as changeLog from './0002_change_log.ts';
import * as tasksLastRunStatus from './0003_tasks_last_run_status.ts';
import * as executors from './0004_executors.ts';
import * as taskNameSearch from './0005_task_name_search.ts';
import * as nodeTzVersion from './0006_node_tz_version.ts';
import * as workflows from './0007_workflows.ts';
import * as idempotencyKeys from './0008_idempotency_keys.ts';
import * as namespaces from './0009_namespaces.ts';
import * as tokenExpiry from './0010_token_expiry.ts';
import * as executorOwner from './0011_executor_owner.ts';
import * as quotaSlots from './0012_quota_slots.ts';
import * as sessions from './0013_sessions.ts';
import * as tokenGroups from './0014_token_groups.ts';
import * as groupSlots from './0015_group_slots.ts';
import * as events from './0016_events.ts';
import * as metricsRole from './0017_metrics_role.ts';
import * as eventSubscriptions from './0018_event_subscriptions.ts';
import * as alertConfig from './0019_alert_config.ts';
import * as alertIncidents from './0020_alert_incidents.ts';
import * as alertSilences from './0021_alert_silences.ts';
import * as executorGroups from './0022_executor_groups.ts';
import * as runSubtasks from './0023_run_subtasks.ts';
import * as taskListIndexes from './0024_task_list_indexes.ts';

export const MYSQL_MIGRATIONS: Readonly<Record<string, Migration>> = {
  '0001_init': init,
  '0002_change_log': changeLog,
  '0003_tasks_last_run_status': tasksLastRunStatus,
  '0004_executors': executors,
  '0005_task_name_search': taskNameSearch,
  '0006_node_tz_version': nodeTzVersion,
  '0007_workflows': workflows,
  '0008_idempotency_keys': idempotencyKeys,
  '0009_namespaces': namespaces,
  '0010_token_expiry': tokenExpiry,
  '0011_executor_owner': executorOwner,
  '0012_quota_slots': quotaSlots,
  '0013_sessions': sessions,
  '0014_token_groups': tokenGroups,
  '0015_group_slots': groupSlots,
  '0016_events': events,
  '0017_metrics_role': metricsRole,
  '0018_event_subscriptions': eventSubscriptions,
  '0019_alert_config': alertConfig,
  '0020_alert_incidents': alertIncidents,
  '0021_alert_silences': alertSilences,
  '0022_executor_groups': executorGroups,
  '0023_run_subtasks': runSubtasks,
  '0024_task_list_indexes': taskListIndexes,
};
