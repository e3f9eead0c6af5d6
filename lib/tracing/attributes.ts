/**
 * The span attributes the engine sets. Messaging ones follow OpenTelemetry's
 * semantic conventions for messaging (an SQS message is sent by the enqueue
 * and processed by each attempt); the task's own are under `task.`.
 * Copied, not imported: the conventions package is large, and these names are stable.
 */
export const ATTR = {
  messagingSystem: 'messaging.system',
  messagingOperationType: 'messaging.operation.type',
  messagingOperationName: 'messaging.operation.name',
  messagingDestination: 'messaging.destination.name',
  messagingMessageId: 'messaging.message.id',
  errorType: 'error.type',
  httpMethod: 'http.request.method',
  httpRoute: 'http.route',
  httpStatus: 'http.response.status_code',
  urlPath: 'url.path',
  taskId: 'task.id',
  taskName: 'task.name',
  taskPriority: 'task.priority',
  taskRun: 'task.run',
  taskAttempt: 'task.attempt',
  taskMaxAttempts: 'task.max_attempts',
  taskOutcome: 'task.outcome',
  /** What the task became when the attempt ended: SUCCEEDED, RETRYING or FAILED. */
  taskStatus: 'task.status',
  /** Whether the enqueue made the task (false: an Idempotency-Key returned an existing one). */
  taskCreated: 'task.created',
  /** Milliseconds from when the task could first run (its enqueue, or the end of its delay) to its first attempt. */
  taskQueueWaitMs: 'task.queue_wait_ms',
} as const;

/** `messaging.system` for Amazon SQS. */
export const SQS_SYSTEM = 'aws_sqs';
