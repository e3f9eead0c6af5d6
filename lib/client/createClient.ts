import { TasksUnreachableError, WaitTimeoutError } from './errors';
import { createTransport, type TransportOptions } from './transport';
import type { Accepted, AnyTasks, BatchItem, BatchResult, EnqueueOptions, ListQuery, PayloadFor, Schedule, SchedulePage, SignalAccepted, Stats, Task, TaskName, TaskPage, TaskSet, WorkflowRequest } from './types';

export type ClientOptions = TransportOptions;

export interface WaitOptions {
  /** Give up after this long (WaitTimeoutError). Default 60 s. */
  timeoutMs?: number;
  /** The first pause between reads; each next one is 1.5 times longer, up to maxIntervalMs. Default 250 ms. */
  intervalMs?: number;
  /** Default 5 s. */
  maxIntervalMs?: number;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'CANCELLED']);

/**
 * A client of the tasks API, typed by the task definitions `T`
 * (`createClient<typeof import('./tasks')>(...)`): `enqueue` takes a
 * registered name and that task's payload, and a wrong one does not compile.
 * It uses only `fetch`, so it runs in Node and in browsers. A non-2xx answer
 * throws TasksApiError with the API's code; 429 and 503 are tried again,
 * after Retry-After, when that is safe (every enqueue carries an
 * Idempotency-Key, its own unless given).
 */
export function createClient<T extends TaskSet = AnyTasks>(options: ClientOptions) {
  const send = createTransport(options);
  const fetchFn = options.fetch ?? ((input, init) => fetch(input, init));

  /** The JSON behind a presigned link (no API key: the link carries its own signature). */
  async function readLinked(url: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetchFn(url, { method: 'GET' });
    } catch (cause) {
      throw new TasksUnreachableError(new URL(url).origin, cause);
    }
    if (!res.ok) throw new TasksUnreachableError(new URL(url).origin, new Error(`the link answered ${res.status} (links last 15 minutes: read the task again for a new one)`));
    return res.json();
  }
  const taskPath = (taskId: string) => `/tasks/${encodeURIComponent(taskId)}`;

  const client = {
    /** Enqueues one task; resolves once it is recorded and queued. */
    enqueue<N extends TaskName<T>>(name: N, payload: PayloadFor<T, N>, enqueueOptions: EnqueueOptions = {}): Promise<Accepted> {
      const { idempotencyKey = crypto.randomUUID(), ...rest } = enqueueOptions;
      return send<Accepted>({ method: 'POST', path: '/tasks', body: { name, payload, ...rest }, headers: { 'idempotency-key': idempotencyKey }, idempotent: true });
    },

    /** Enqueues up to 100 tasks; each is accepted or refused on its own (see `items`). */
    enqueueBatch(tasks: Array<BatchItem<T>>): Promise<BatchResult> {
      return send<BatchResult>({ method: 'POST', path: '/tasks/batch', body: { tasks }, idempotent: false });
    },

    /** A task's record, with its whole result (a result too large for one answer is read from its link, `resultUrl`); TaskNotFoundError if there is none. */
    async get(taskId: string): Promise<Task<T>> {
      const task = await send<Task<T>>({ method: 'GET', path: taskPath(taskId), idempotent: true });
      if (task.resultUrl === undefined) return task;
      return { ...task, result: (await readLinked(task.resultUrl)) as Task<T>['result'] };
    },

    /** A task's payload, read from its link (`payloadUrl`) when it is over 256 KB. */
    async payload(taskId: string): Promise<Task<T>['payload']> {
      const task = await send<Task<T>>({ method: 'GET', path: taskPath(taskId), idempotent: true });
      return task.payloadUrl === undefined ? task.payload : ((await readLinked(task.payloadUrl)) as Task<T>['payload']);
    },

    /** A page of tasks, newest first; follow `nextCursor` until it is null. */
    list(query: ListQuery = {}): Promise<TaskPage> {
      return send<TaskPage>({ method: 'GET', path: '/tasks', query: { ...query }, idempotent: true });
    },

    /**
     * Cancels a task; resolves with its record. A SCHEDULED, PENDING or
     * RETRYING one is CANCELLED at once; a RUNNING one comes back still
     * RUNNING, with `cancelRequestedAt`: its signal aborts within a few
     * seconds and it ends CANCELLED (waitFor it), unless it finishes first.
     */
    cancel(taskId: string): Promise<Task<T>> {
      return send<Task<T>>({ method: 'DELETE', path: taskPath(taskId), idempotent: false });
    },

    /** Enqueues a workflow (a chain, or a group with a fan-in); resolves with its id: `get` shows it and its steps. */
    enqueueWorkflow(workflow: WorkflowRequest<T>): Promise<Accepted> {
      // No Idempotency-Key on this route: a 503 is not sent again blindly.
      return send<Accepted>({ method: 'POST', path: '/workflows', body: workflow, idempotent: false });
    },

    /** Sends signal `name` to a workflow waiting for it; `data` is its next step's payload. A repeated signal is harmless, so it is sent again after a 503. */
    signal(taskId: string, name: string, data?: unknown): Promise<SignalAccepted> {
      return send<SignalAccepted>({ method: 'POST', path: `${taskPath(taskId)}/signal`, body: { name, ...(data === undefined ? {} : { data }) }, idempotent: true });
    },

    /** Runs a FAILED or CANCELLED task again. */
    retry(taskId: string): Promise<Accepted> {
      return send<Accepted>({ method: 'POST', path: `${taskPath(taskId)}/retry`, idempotent: false });
    },

    /** Finished tasks per minute over the last hour and the queues' depth. */
    stats(): Promise<Stats> {
      return send<Stats>({ method: 'GET', path: '/stats', idempotent: true });
    },

    /** The recurring schedules of the task definitions, with their next runs. */
    schedules(): Promise<SchedulePage> {
      return send<SchedulePage>({ method: 'GET', path: '/schedules', idempotent: true });
    },

    /** Pauses a schedule: its ticks enqueue nothing until it is resumed. TasksApiError `schedule_not_found` for a name no task has. */
    pauseSchedule(name: string): Promise<Schedule> {
      // Setting a flag: sending it again is safe.
      return send<Schedule>({ method: 'POST', path: `/schedules/${encodeURIComponent(name)}/pause`, idempotent: true });
    },

    /** Resumes a paused schedule from its next tick (ticks missed meanwhile are not made up). */
    resumeSchedule(name: string): Promise<Schedule> {
      return send<Schedule>({ method: 'POST', path: `/schedules/${encodeURIComponent(name)}/resume`, idempotent: true });
    },

    /** Reads the task until it is SUCCEEDED, FAILED or CANCELLED, pausing longer each time; resolves with its record. */
    async waitFor(taskId: string, { timeoutMs = 60_000, intervalMs = 250, maxIntervalMs = 5_000 }: WaitOptions = {}): Promise<Task<T>> {
      const deadline = Date.now() + timeoutMs;
      for (let pause = intervalMs; ; pause = Math.min(maxIntervalMs, pause * 1.5)) {
        const task = await client.get(taskId);
        if (TERMINAL.has(task.status)) return task;
        const left = deadline - Date.now();
        if (left <= 0) throw new WaitTimeoutError(task, timeoutMs);
        await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
      }
    },
  };
  return client;
}

export type TasksClient<T extends TaskSet = AnyTasks> = ReturnType<typeof createClient<T>>;
