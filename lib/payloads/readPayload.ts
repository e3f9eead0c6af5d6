import type { Engine } from '../engine';
import type { LoadedTask } from '../store/taskStore';

/**
 * The worker's hook: a task's payload as JSON text, from its definition, or
 * from S3 when it was kept there (read after the claim, so a message that
 * runs nothing reads nothing). Undefined when the object is gone (expired
 * under a record that outlived it): no attempt can run then. A read that
 * fails throws; the worker gives the claim back and the message returns.
 * Every attempt reads the same object: retries and manual retries upload nothing.
 */
export async function readPayload(engine: Pick<Engine, 'objects'>, loaded: LoadedTask): Promise<string | undefined> {
  if (loaded.payloadJson !== undefined) return loaded.payloadJson;
  const key = loaded.task.payloadObject;
  // Stryker disable next-line ConditionalExpression: TaskStore.load returns a task without its payload only when the payload is in S3
  if (key === undefined || !engine.objects) return undefined;
  return engine.objects.get(key);
}
