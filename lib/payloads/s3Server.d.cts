/** lib/payloads/s3Server.cjs, for the TypeScript that imports it (test/support/aws.ts, lib/local). */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface S3ServerOptions {
  /** Keep objects in files under this directory (default: in memory). */
  directory?: string;
  /** Access key id → secret; default: AWS_ACCESS_KEY_ID → AWS_SECRET_ACCESS_KEY, else local → local. */
  credentials?: Record<string, string>;
  /** The clock presigned URLs expire by (epoch ms). */
  now?: () => number;
}

declare const s3Server: {
  createS3Server(options?: S3ServerOptions): Server;
  createS3Handler(options?: S3ServerOptions): (req: IncomingMessage, res: ServerResponse) => void;
};
export = s3Server;
