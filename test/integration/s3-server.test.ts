import { CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../lib/payloads/s3Client';
import { createS3Server } from '../../lib/payloads/s3Server.cjs';
import { rejection } from '../support/faults';

/**
 * The local S3 server (lib/payloads/s3Server.cjs) against the real SDK
 * client: the calls this project makes, signatures checked as S3 checks them,
 * and presigned URLs that expire.
 */
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
let clock = Date.now();
let server: Server;
let endpoint: string;
let s3: S3Client;
const dir = mkdtempSync(join(tmpdir(), 'payloads-s3-server-'));

async function listening(options: Parameters<typeof createS3Server>[0]): Promise<{ server: Server; endpoint: string }> {
  const started = createS3Server(options);
  await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', () => resolve()));
  return { server: started, endpoint: `http://127.0.0.1:${(started.address() as AddressInfo).port}` };
}

beforeAll(async () => {
  ({ server, endpoint } = await listening({ directory: dir, credentials: { local: 'local' }, now: () => clock }));
  s3 = createS3Client({ endpoint, region: 'us-east-1', credentials }, { AWS_ENDPOINT_URL_S3: endpoint });
  await s3.send(new CreateBucketCommand({ Bucket: 'objects' }));
});
afterAll(async () => {
  s3.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('the local S3 server, with the real SDK client', () => {
  it('stores 5 MB and gives back every byte, its type and length; a missing key is NoSuchKey, and a second CreateBucket is fine', async () => {
    const body = JSON.stringify({ data: 'é'.repeat(2 * 1024 * 1024) });
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'payloads/a.json', Body: body, ContentType: 'application/json' }));

    const got = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'payloads/a.json' }));
    expect(await got.Body!.transformToString('utf8')).toBe(body);
    expect(got.ContentType).toBe('application/json');
    expect(got.ContentLength).toBe(Buffer.byteLength(body));
    const head = await s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'payloads/a.json' }));
    expect(head.ContentLength).toBe(Buffer.byteLength(body));
    expect((await rejection(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'payloads/none.json' })))).name).toBe('NoSuchKey');
    expect((await rejection(s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'payloads/none.json' })))).name).toBe('NotFound');
    await expect(s3.send(new CreateBucketCommand({ Bucket: 'objects' }))).resolves.toBeDefined();
  });

  it('deletes, and copies an object onto itself, which renews its age; a copy of nothing is NoSuchKey', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'payloads/b.json', Body: '{"b":1}' }));
    const before = (await s3.send(new HeadObjectCommand({ Bucket: 'objects', Key: 'payloads/b.json' }))).LastModified!;
    clock += 60_000;
    await s3.send(new CopyObjectCommand({ Bucket: 'objects', Key: 'payloads/b.json', CopySource: 'objects/payloads/b.json', MetadataDirective: 'REPLACE', ContentType: 'application/json' }));
    const after = await s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'payloads/b.json' }));
    expect(after.LastModified!.getTime() - before.getTime()).toBeGreaterThanOrEqual(59_000);
    expect(await after.Body!.transformToString()).toBe('{"b":1}');
    expect((await rejection(s3.send(new CopyObjectCommand({ Bucket: 'objects', Key: 'x.json', CopySource: 'objects/none.json' })))).name).toBe('NoSuchKey');

    await s3.send(new DeleteObjectCommand({ Bucket: 'objects', Key: 'payloads/b.json' }));
    expect((await rejection(s3.send(new GetObjectCommand({ Bucket: 'objects', Key: 'payloads/b.json' })))).name).toBe('NoSuchKey');
  });

  it('refuses an unknown key, a wrong secret and a bucket that does not exist', async () => {
    const stranger = createS3Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'someone', secretAccessKey: 'local' } }, { AWS_ENDPOINT_URL_S3: endpoint });
    const wrong = createS3Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'guess' } }, { AWS_ENDPOINT_URL_S3: endpoint });
    try {
      expect((await rejection(stranger.send(new GetObjectCommand({ Bucket: 'objects', Key: 'payloads/a.json' })))).name).toBe('InvalidAccessKeyId');
      expect((await rejection(wrong.send(new PutObjectCommand({ Bucket: 'objects', Key: 'payloads/c.json', Body: '{}' })))).name).toBe('SignatureDoesNotMatch');
      expect((await rejection(s3.send(new PutObjectCommand({ Bucket: 'elsewhere', Key: 'c.json', Body: '{}' })))).name).toBe('NoSuchBucket');
      expect((await fetch(`${endpoint}/objects/payloads/a.json`)).status).toBe(403);
    } finally {
      stranger.destroy();
      wrong.destroy();
    }
  });

  it('serves a presigned GET until it expires, and refuses one whose signature was changed', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'results/t/1-1.json', Body: '{"ok":true}', ContentType: 'application/json' }));
    const url = await getSignedUrl(s3, new GetObjectCommand({ Bucket: 'objects', Key: 'results/t/1-1.json' }), { expiresIn: 900 });

    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
    expect((await fetch(url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === 'a' ? 'b' : 'a'}`))).status).toBe(403);
    expect((await fetch(url.replace('results/t/1-1.json', 'results/t/1-2.json'))).status).toBe(403);
    clock += 901_000;
    const late = await fetch(url);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('Request has expired');
  });

  it('keeps objects in its directory: a new server on it finds them', async () => {
    clock = Date.now();
    await s3.send(new PutObjectCommand({ Bucket: 'objects', Key: 'payloads/kept.json', Body: '{"kept":1}', ContentType: 'application/json' }));
    const again = await listening({ directory: dir, credentials: { local: 'local' } });
    const client = createS3Client({ endpoint: again.endpoint, region: 'us-east-1', credentials }, { AWS_ENDPOINT_URL_S3: again.endpoint });
    try {
      const got = await client.send(new GetObjectCommand({ Bucket: 'objects', Key: 'payloads/kept.json' }));
      expect(await got.Body!.transformToString()).toBe('{"kept":1}');
      expect(got.ContentType).toBe('application/json');
    } finally {
      client.destroy();
      again.server.closeAllConnections();
      await new Promise((r) => again.server.close(r));
    }
  });
});
