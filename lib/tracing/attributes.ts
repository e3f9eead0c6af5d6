/**
 * The span attributes the engine sets. Messaging ones follow OpenTelemetry's
 * semantic conventions for messaging (an SQS message is sent by the enqueue
 * and processed by each attempt); the task's own are under `task.`.
 * Copied, not imported: the conventions package is large, and these names are
 * stable. Constants rather than an object's properties: the bundles keep only
 * those a function uses, and minified names in place of property names.
 */
export const MESSAGING_SYSTEM = 'messaging.system';
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const MESSAGING_DESTINATION = 'messaging.destination.name';
export const MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ERROR_TYPE = 'error.type';
export const HTTP_METHOD = 'http.request.method';
export const HTTP_ROUTE = 'http.route';
export const HTTP_STATUS = 'http.response.status_code';
export const URL_PATH = 'url.path';
export const TASK_ID = 'task.id';
export const TASK_NAME = 'task.name';
export const TASK_PRIORITY = 'task.priority';
export const TASK_RUN = 'task.run';
export const TASK_ATTEMPT = 'task.attempt';
export const TASK_MAX_ATTEMPTS = 'task.max_attempts';
export const TASK_OUTCOME = 'task.outcome';
/** What the task became when the attempt ended: SUCCEEDED, RETRYING or FAILED. */
export const TASK_STATUS = 'task.status';
/** Whether the enqueue made the task (false: an Idempotency-Key returned an existing one). */
export const TASK_CREATED = 'task.created';
/** Milliseconds from when the task could first run (its enqueue, or the end of its delay) to its first attempt. */
export const TASK_QUEUE_WAIT_MS = 'task.queue_wait_ms';

/** `messaging.system` for Amazon SQS. */
export const SQS_SYSTEM = 'aws_sqs';
