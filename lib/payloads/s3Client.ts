import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { CALL_TIMEOUTS } from '../clients';

/**
 * The S3 client, with the same bounds on every try as the others (a
 * connection within a second, no three seconds without an answer: the
 * request timeout is the socket's idle time, so a 5 MB transfer that keeps
 * moving is not cut). The endpoint comes from AWS_ENDPOINT_URL_S3 like the
 * others' from theirs; a server named there is addressed path-style
 * (`<endpoint>/<bucket>/<key>`), as S3-compatible servers expect, while S3
 * itself gets its virtual-hosted names.
 */
export function createS3Client(config: S3ClientConfig = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  return new S3Client({ requestHandler: CALL_TIMEOUTS, forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3), ...config });
}
