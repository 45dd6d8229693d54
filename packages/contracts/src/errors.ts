/**
 * The registry of stable error codes. A code, once published, keeps its meaning and is never reused.
 * `status` is the HTTP status the API answers with.
 */
export const ERROR_CODES = {
  VALIDATION_FAILED: { status: 400, message: 'the request is invalid' },
  INVALID_JSON: { status: 400, message: 'the body is not valid JSON' },
  BODY_EMPTY: { status: 400, message: 'the request body is empty' },
  BODY_TOO_LARGE: { status: 413, message: 'the request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'the body must be application/json' },
  UNAUTHENTICATED: { status: 401, message: 'a valid bearer token is required' },
  FORBIDDEN: { status: 403, message: 'the token does not allow this operation' },
  TOO_MANY_FAILED_AUTHENTICATIONS: { status: 429, message: 'too many failed authentications from this address: try again later' },
  CSRF_TOKEN_INVALID: { status: 403, message: 'a request signed in with the session cookie needs its CSRF token in the x-csrf-token header' },
  SSO_NOT_CONFIGURED: { status: 404, message: 'single sign-on is not configured on this server' },
  SSO_NO_ROLE: { status: 403, message: 'none of your groups is given a role on this server' },
  SSO_LOGIN_FAILED: { status: 400, message: 'the sign-in with the identity provider could not be completed' },
  SSO_PROVIDER_UNAVAILABLE: { status: 503, message: 'the identity provider cannot be reached' },
  NOT_FOUND: { status: 404, message: 'no such resource' },
  ROUTE_NOT_FOUND: { status: 404, message: 'no such route' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'method not allowed' },
  TASK_NOT_FOUND: { status: 404, message: 'no such task' },
  TASK_NAME_TAKEN: { status: 409, message: 'a task with this namespace and name exists' },
  TASK_VERSION_CONFLICT: { status: 409, message: 'the task changed since the given revision' },
  TARGET_NOT_SUPPORTED: { status: 422, message: 'this target type is not available on this server' },
  RUN_NOT_FOUND: { status: 404, message: 'no such run' },
  RUN_ALREADY_FINISHED: { status: 409, message: 'the run has already finished' },
  RUN_NOT_FINISHED: { status: 409, message: 'the run has not finished yet' },
  WORKFLOW_NOT_FOUND: { status: 404, message: 'no such workflow' },
  WORKFLOW_RUN_NOT_FOUND: { status: 404, message: 'no such workflow run' },
  WORKFLOW_RUN_NOT_STARTED: { status: 409, message: 'the workflow run has not started yet' },
  WORKFLOW_NODE_NOT_FOUND: { status: 404, message: 'the workflow run has no such node' },
  WORKFLOW_NODE_RUNNING: { status: 409, message: 'the node is running: cancel its run first' },
  WORKFLOW_NOTHING_TO_RERUN: { status: 409, message: 'the workflow run has no failed node to rerun' },
  BACKFILL_NOT_FOUND: { status: 404, message: 'no such backfill' },
  BACKFILL_TOO_LARGE: { status: 400, message: 'the range holds more fires than maxCount' },
  BACKFILL_EMPTY: { status: 400, message: 'the schedule has no fire in the range' },
  BACKFILL_RANGE_INVALID: { status: 400, message: 'the range is invalid' },
  BACKFILL_FINISHED: { status: 409, message: 'the backfill has already finished' },
  TOKEN_NOT_FOUND: { status: 404, message: 'no such token' },
  NAMESPACE_NOT_FOUND: { status: 404, message: 'no such namespace' },
  QUOTA_EXCEEDED: { status: 409, message: 'the namespace is at one of its quotas' },
  NAMESPACE_NOT_EMPTY: { status: 409, message: 'the namespace still has tasks or workflows: delete them first' },
  LAST_ADMIN_TOKEN: { status: 409, message: 'the last admin token for all namespaces cannot be revoked: create another one first' },
  EXECUTOR_NOT_FOUND: { status: 404, message: 'no such executor node' },
  EXECUTOR_ID_TAKEN: { status: 409, message: 'this executor id is registered, alive, by another credential or in another namespace' },
  EXECUTOR_GROUP_NOT_FOUND: { status: 404, message: 'no such executor group discovery' },
  CALLBACK_TOKEN_INVALID: { status: 401, message: 'the callback token is missing or invalid' },
  CALLBACK_RUN_MISMATCH: { status: 403, message: 'the callback token belongs to another run' },
  CALLBACK_ATTEMPT_SUPERSEDED: { status: 409, message: 'the report is for an attempt that is no longer current' },
  CALLBACK_REPLAYED: { status: 409, message: 'this report sequence number was already received' },
  MAP_NOT_ALLOWED: { status: 409, message: 'this attempt cannot map: only an unsharded executor run in flight can' },
  MAP_SEALED: { status: 409, message: 'the map of this attempt is sealed: no more subtasks can be added' },
  MAP_OFFSET_GAP: { status: 409, message: 'the batch does not follow the subtasks stored so far' },
  MAP_OPTIONS_CONFLICT: { status: 409, message: 'the map options differ from those of an earlier call of this attempt' },
  MAP_TOO_LARGE: { status: 413, message: 'the map has too many subtasks, or a payload is too large' },
  INVALID_CURSOR: { status: 400, message: 'the cursor is invalid' },
  NOT_READY: { status: 503, message: 'the server is not ready' },
  SHUTTING_DOWN: { status: 503, message: 'the server is shutting down' },
  STORE_LOCKED: { status: 500, message: 'the store is in use by another ecron process' },
  STORE_UNAVAILABLE: { status: 503, message: 'the store is unavailable' },
  CONFIG_INVALID: { status: 500, message: 'the configuration is invalid' },
  ADDRESS_IN_USE: { status: 500, message: 'the address to listen on is already in use' },
  SPEC_FILE_INVALID: { status: 400, message: 'the spec file cannot be read' },
  SERVER_UNREACHABLE: { status: 503, message: 'the ecron server cannot be reached' },
  BATCH_TOO_LARGE: { status: 400, message: 'the request names more items than one call may (10000)' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, message: 'this Idempotency-Key was used with another request' },
  IDEMPOTENCY_KEY_IN_PROGRESS: { status: 409, message: 'a request with this Idempotency-Key is still in progress' },
  OUTBOUND_DENIED: { status: 422, message: 'the outbound policy does not let the server call this address' },
  INCIDENT_NOT_FOUND: { status: 404, message: 'no such incident' },
  INCIDENT_STATE_CONFLICT: { status: 409, message: 'the incident is not in a state this action applies to' },
  SUBSCRIPTION_NOT_FOUND: { status: 404, message: 'no such event subscription' },
  SUBSCRIPTION_NAME_TAKEN: { status: 409, message: 'an event subscription with this namespace and name exists' },
  EVENTS_EXPIRED: { status: 410, message: 'events after this position were deleted by retention: read from the oldest kept, or start from now' },
  ALERT_CHANNEL_FAILED: { status: 502, message: 'the alert channel did not accept the notification' },
  ALERT_CHANNEL_NOT_FOUND: { status: 404, message: 'no such alert channel' },
  ALERT_CHANNEL_NAME_TAKEN: { status: 409, message: 'an alert channel with this namespace and name exists' },
  ALERT_CHANNEL_IN_USE: { status: 409, message: 'alert rules send through this channel: change or delete them first' },
  ALERT_RULE_NOT_FOUND: { status: 404, message: 'no such alert rule' },
  ALERT_RULE_NAME_TAKEN: { status: 409, message: 'an alert rule with this namespace and name exists' },
  ALERT_SILENCE_NOT_FOUND: { status: 404, message: 'no such alert silence' },
  ALERT_SILENCE_ENDED: { status: 409, message: 'the alert silence has ended: create another one' },
  INTERNAL: { status: 500, message: 'internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The body of every error answer of the REST API. */
export interface ErrorBody {
  error: { code: ErrorCode | string; message: string; details?: unknown };
}

/** One problem found while validating input, named by its JSON path ("schedule.cron"). */
export interface FieldIssue {
  path: string;
  code: string;
  message: string;
}
