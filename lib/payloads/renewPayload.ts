import type { Engine } from '../engine';
import type { TaskRecord } from '../types';

/**
 * The manual retry's hook: a new run gets the whole retention, its record
 * does (lib/store's extendExpiry), and so must its payload kept in S3, which
 * the bucket's lifecycle rule expires by age. The object is copied onto
 * itself (one COPY request, the bytes stay in S3), which starts its age
 * again: the payload is reused, not uploaded. If the copy fails, the retry
 * is put back, as when its message cannot be sent (503). An object already
 * gone is left so: the run then ends FAILED (PayloadNotFound).
 */
export async function renewPayload(engine: Pick<Engine, 'objects'>, record: TaskRecord): Promise<void> {
  if (!record.payloadObject || !engine.objects) return;
  await engine.objects.renew(record.payloadObject.key);
}
