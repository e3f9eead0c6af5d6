import { CopyObjectCommand, GetObjectCommand, NoSuchKey, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { boundCalls } from '../deadline';
import { DependencyUnavailableError } from '../errors';

export type { ObjectRef } from '../types';

/**
 * The stage's bucket of payloads and results: the only code that knows S3's
 * names and errors. Every call is held to the invocation's budget, like the
 * table's and the queues' (lib/deadline.ts).
 */
export class PayloadObjects {
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
  ) {
    boundCalls(client);
  }

  /** Writes JSON text under `key`. Writing the same bytes again (an SDK retry, a second request of one Idempotency-Key) changes nothing. */
  async put(key: string, json: string): Promise<void> {
    await callBucket('PutObject', () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: json, ContentType: 'application/json' })));
  }

  /** The JSON text under `key`, or undefined if there is none (expired by the lifecycle rule). */
  async get(key: string): Promise<string | undefined> {
    try {
      const out = await callBucket('GetObject', () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
      return await callBucket('GetObject', () => out.Body!.transformToString('utf8'));
    } catch (error) {
      if (error instanceof DependencyUnavailableError && error.cause instanceof NoSuchKey) return undefined;
      throw error;
    }
  }

  /**
   * Copies the object onto itself, which starts its age again: the lifecycle
   * rule expires objects by age, and a manually retried task gets the whole
   * retention again (its record does too). The bytes stay in S3: one COPY
   * request. False if the object is gone.
   */
  async renew(key: string): Promise<boolean> {
    try {
      await callBucket('CopyObject', () =>
        this.client.send(
          new CopyObjectCommand({
            Bucket: this.bucket,
            Key: key,
            CopySource: `${this.bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`,
            // S3 copies an object onto itself only when something changes: its metadata, here set again as it was.
            MetadataDirective: 'REPLACE',
            ContentType: 'application/json',
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof DependencyUnavailableError && isMissing(error.cause)) return false;
      throw error;
    }
  }

  /** A URL that reads the object without a key, for `seconds` (and no longer than the signing credentials last). */
  async urlOf(key: string, seconds: number): Promise<string> {
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: seconds });
  }
}

/** One S3 call: anything it throws becomes a DependencyUnavailableError (503), with S3's error as its cause. */
async function callBucket<T>(action: string, send: () => Promise<T>): Promise<T> {
  try {
    return await send();
  } catch (error) {
    throw new DependencyUnavailableError('s3', action, error);
  }
}

/** CopyObject reports a missing source as NoSuchKey, in its XML error. */
function isMissing(error: unknown): boolean {
  return error instanceof NoSuchKey || (error as { name?: string } | undefined)?.name === 'NoSuchKey';
}
