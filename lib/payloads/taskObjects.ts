import type { Engine } from '../engine';
import { byteLength } from '../text';
import type { TaskRecord } from '../types';
import { EMBEDDED_PAYLOAD_BYTES, LAMBDA_PAYLOAD_BYTES, OBJECT_URL_SECONDS } from './limits';

/** A task's record with what it keeps in S3 read in, or linked to. */
export type RecordWithObjects = TaskRecord & {
  /** A presigned GET of the payload, when it is not embedded (over 256 KB). */
  payloadUrl?: string;
  /** A presigned GET of the result, when embedding it would take the answer past Lambda's 6 MB. */
  resultUrl?: string;
};

/** Room in Lambda's 6 MB answer for the status, the headers and the envelope around the body. */
const ANSWER_ENVELOPE_BYTES = 16 * 1024;

/**
 * The API's hook: a record as GET /tasks/{id} answers it. A payload kept in
 * S3 is embedded up to 256 KB (what a payload could always be) and linked
 * above (`payloadUrl`): a running task's record is polled, and every poll
 * would otherwise move megabytes. A result kept in S3 is embedded whenever
 * the answer, as Lambda returns it (the body a JSON string inside its
 * response, each quote escaped), stays within Lambda's 6 MB; otherwise it is
 * linked (`resultUrl`). Links are presigned GETs that work for 15 minutes.
 * An object gone under a record that outlived it reads as null.
 */
export async function withObjects(engine: Pick<Engine, 'objects'>, record: TaskRecord): Promise<RecordWithObjects> {
  const { objects } = engine;
  const { payloadObject, resultObject, ...rest } = record;
  const out: RecordWithObjects = { ...rest };
  if (!objects || (!payloadObject && !resultObject)) return out;
  const [payloadJson, resultJson] = await Promise.all([
    payloadObject && payloadObject.bytes <= EMBEDDED_PAYLOAD_BYTES ? objects.get(payloadObject.key) : undefined,
    resultObject ? objects.get(resultObject.key) : undefined,
  ]);
  if (payloadObject) {
    if (payloadObject.bytes <= EMBEDDED_PAYLOAD_BYTES) out.payload = payloadJson === undefined ? null : (JSON.parse(payloadJson) as unknown);
    else out.payloadUrl = await objects.urlOf(payloadObject.key, OBJECT_URL_SECONDS);
  }
  if (resultObject) {
    if (resultJson === undefined) out.result = null;
    else {
      const result = JSON.parse(resultJson) as unknown;
      if (answerBytes({ ...out, result }) <= LAMBDA_PAYLOAD_BYTES - ANSWER_ENVELOPE_BYTES) out.result = result;
      else out.resultUrl = await objects.urlOf(resultObject.key, OBJECT_URL_SECONDS);
    }
  }
  return out;
}

/** The bytes a record takes in Lambda's answer: its JSON, as a string inside the response's JSON. */
export function answerBytes(record: unknown): number {
  return byteLength(JSON.stringify(JSON.stringify(record)));
}
