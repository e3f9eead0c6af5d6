/** Why a running task's `ctx.signal` aborted when a client cancelled it (DELETE /tasks/{id}). */
export class TaskCancelledError extends Error {
  constructor(readonly requestedAt: string) {
    super(`The task was cancelled while running (requested at ${requestedAt})`);
    this.name = 'TaskCancelledError';
  }
}
