/**
 * Where the bytes of a payload or a result live, and how many there may be.
 *
 * The line between DynamoDB and S3 is where S3 gets cheaper (us-east-1,
 * on demand, per million tasks; docs/payloads.md has the working): a KB kept
 * in DynamoDB costs its write ($0.625 per million write units of 1 KB), the
 * worker's read of it (eventually consistent, $0.125 per million 4 KB units,
 * halved) and 30 days of storage ($0.25 per GB-month): $0.88 per KB. In S3 an
 * object costs one PUT ($5.00 per million) and one GET ($0.40), whatever its
 * size, and 30 days of storage ($0.023 per GB-month): $5.40 + $0.02 per KB.
 * They cross at 6.3 KB (at 8.3 KB with a one-day retention, where storage
 * hardly counts): up to 6 KB DynamoDB is cheaper, from 7 KB S3 is.
 */
export const S3_THRESHOLD_BYTES = 6 * 1024;

/**
 * The largest payload and the largest result, as JSON: 5 MB. The transport
 * sets it: API Gateway hands Lambda at most 6 MB of request (the body and its
 * envelope, the body's quotes escaped) and takes at most 6 MB of answer.
 */
export const MAX_OBJECT_BYTES = 5 * 1024 * 1024;

/** Lambda's limit on a synchronous invocation's request, and on its response: what one API answer may carry. */
export const LAMBDA_PAYLOAD_BYTES = 6 * 1024 * 1024;

/**
 * Without a bucket (an engine built without PAYLOAD_BUCKET), everything stays
 * in DynamoDB, whose items stop at 400 KB: payloads up to 256 KB (an item of
 * their own), results up to 64 KB (in the state item every claim rewrites).
 */
export const TABLE_ONLY_LIMITS = { payloadBytes: 256 * 1024, resultBytes: 64 * 1024 } as const;

/**
 * GET /tasks/{id} embeds a payload kept in S3 up to this size (what any
 * payload could be before S3): a running task's record is read again and
 * again, and each read would otherwise move megabytes. Larger: a presigned URL.
 */
export const EMBEDDED_PAYLOAD_BYTES = 256 * 1024;

/** How long a presigned URL of a payload or result works: 15 minutes. */
export const OBJECT_URL_SECONDS = 900;
