'use strict';
/**
 * A small S3-compatible server for `npm start` and the tests: the part of S3
 * this project's code calls, path-style, as the AWS SDK v3 sends it:
 * CreateBucket, HeadBucket, PutObject (and CopyObject onto an object, which
 * renews it), GetObject, HeadObject, DeleteObject, and GetObject through a
 * presigned URL. Every request is checked as S3 checks it: SigV4, in the
 * Authorization header or the query (a presigned URL), against the secret of
 * its access key, and a presigned URL refused once it has expired. Objects
 * live in memory, or in files under `directory` (npm start keeps them beside
 * dynalite's data, so that a record that names one still finds it after a
 * restart).
 *
 * Why not a package: s3rver (last release 2021) and its maintained fork
 * @20minutes/s3rver accept only their built-in key pair (S3RVER), and the fork
 * refuses the current SDK's signatures (SignatureDoesNotMatch) unless told to
 * skip the check; fauxqs needs node:sqlite (Node 22.5), and this project runs on
 * Node 20 too. CommonJS and no dependency, so that emulators.cjs starts it in a
 * few milliseconds without a loader.
 */
const { createHash, createHmac, timingSafeEqual } = require('node:crypto');
const { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { createServer } = require('node:http');
const { join } = require('node:path');

/** S3's bucket names: 3 to 63 lower-case letters, digits, dots and hyphens. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** S3's longest presigned URL: seven days. */
const MAX_EXPIRES_SECONDS = 604_800;
/** How far a signed request's time may be from the server's (S3 allows 15 minutes). */
const CLOCK_SKEW_MS = 15 * 60_000;

/** Objects in memory: bucket → key → object. */
function memoryStore() {
  const buckets = new Map();
  return {
    hasBucket: (bucket) => buckets.has(bucket),
    createBucket: (bucket) => void (buckets.has(bucket) || buckets.set(bucket, new Map())),
    get: (bucket, key) => buckets.get(bucket)?.get(key),
    put: (bucket, key, object) => void buckets.get(bucket).set(key, object),
    delete: (bucket, key) => void buckets.get(bucket)?.delete(key),
  };
}

/** Objects in files: `<directory>/<bucket>/<key, URI-encoded>` and its metadata beside it (`.meta.json`). */
function fileStore(directory) {
  mkdirSync(directory, { recursive: true });
  const bucketDir = (bucket) => join(directory, bucket);
  const file = (bucket, key) => join(bucketDir(bucket), encodeURIComponent(key));
  return {
    hasBucket: (bucket) => existsSync(join(bucketDir(bucket), '.bucket')),
    createBucket: (bucket) => {
      mkdirSync(bucketDir(bucket), { recursive: true });
      writeFileSync(join(bucketDir(bucket), '.bucket'), '');
    },
    get: (bucket, key) => {
      try {
        const meta = JSON.parse(readFileSync(`${file(bucket, key)}.meta.json`, 'utf8'));
        return { ...meta, lastModified: new Date(meta.lastModified), body: readFileSync(file(bucket, key)) };
      } catch {
        return undefined;
      }
    },
    put: (bucket, key, object) => {
      const path = file(bucket, key);
      const { body, ...meta } = object;
      // Body first, then its metadata, each renamed into place: a reader sees the old object or the new one.
      writeFileSync(`${path}.tmp`, body);
      renameSync(`${path}.tmp`, path);
      writeFileSync(`${path}.meta.tmp`, JSON.stringify(meta));
      renameSync(`${path}.meta.tmp`, `${path}.meta.json`);
    },
    delete: (bucket, key) => {
      rmSync(`${file(bucket, key)}.meta.json`, { force: true });
      rmSync(file(bucket, key), { force: true });
    },
  };
}

/** RFC 3986 encoding, as SigV4 canonicalises query strings. */
function uriEncode(text) {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const sha256 = (data) => createHash('sha256').update(data).digest('hex');
const hmac = (key, data) => createHmac('sha256', key).update(data).digest();

class S3Error extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** `20261207T165727Z` → epoch ms. */
function amzDateMs(text) {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text || '');
  if (!m) throw new S3Error(403, 'AccessDenied', 'The request has no valid X-Amz-Date');
  return Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
}

/**
 * Checks a request's SigV4 signature (header or presigned URL) against the
 * secret of its access key. `credentials`: access key id → secret.
 */
function authenticate(req, url, body, credentials, now) {
  const query = url.searchParams;
  const presigned = query.has('X-Amz-Signature');
  let credential, signedHeaders, signature, amzDate, payloadHash;
  if (presigned) {
    if (query.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') throw new S3Error(400, 'AuthorizationQueryParametersError', 'Only AWS4-HMAC-SHA256 is supported');
    credential = query.get('X-Amz-Credential') || '';
    signedHeaders = query.get('X-Amz-SignedHeaders') || '';
    signature = query.get('X-Amz-Signature') || '';
    amzDate = query.get('X-Amz-Date');
    payloadHash = 'UNSIGNED-PAYLOAD';
    const expires = Number(query.get('X-Amz-Expires'));
    if (!Number.isInteger(expires) || expires < 1 || expires > MAX_EXPIRES_SECONDS) {
      throw new S3Error(400, 'AuthorizationQueryParametersError', 'X-Amz-Expires must be from 1 to 604800 seconds');
    }
    if (now > amzDateMs(amzDate) + expires * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');
  } else {
    const header = req.headers.authorization || '';
    const m = /^AWS4-HMAC-SHA256 Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$/.exec(header);
    if (!m) throw new S3Error(403, 'AccessDenied', 'Anonymous access is not allowed: sign the request (SigV4)');
    [, credential, signedHeaders, signature] = m;
    amzDate = req.headers['x-amz-date'];
    payloadHash = req.headers['x-amz-content-sha256'] || sha256(body);
    if (Math.abs(now - amzDateMs(amzDate)) > CLOCK_SKEW_MS) throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large');
    if (/^[0-9a-f]{64}$/.test(payloadHash) && payloadHash !== sha256(body)) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed');
    }
  }
  const [accessKeyId, date, region, service, terminator] = credential.split('/');
  const secret = credentials[accessKeyId];
  if (secret === undefined) throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
  const canonicalQuery = [...query]
    .filter(([name]) => name !== 'X-Amz-Signature')
    .map(([name, value]) => [uriEncode(name), uriEncode(value)])
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const names = signedHeaders.split(';');
  const canonicalHeaders = names.map((name) => `${name}:${String(req.headers[name] ?? '').trim().replace(/\s+/g, ' ')}\n`).join('');
  const canonicalRequest = [req.method, url.pathname, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = [date, region, service, terminator].join('/');
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), terminator);
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
}

function xmlEscape(text) {
  return String(text).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]);
}

function sendError(res, error, resource) {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${error.code}</Code><Message>${xmlEscape(error.message)}</Message><Resource>${xmlEscape(resource)}</Resource></Error>`;
  res.writeHead(error.status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function objectHeaders(object) {
  return {
    'content-type': object.contentType,
    'content-length': object.body.length,
    etag: object.etag,
    'last-modified': object.lastModified.toUTCString(),
  };
}

/**
 * The server's request handler. `options.directory`: keep objects in files
 * there (else in memory); `options.credentials`: access key id → secret
 * (default: the process's AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else
 * local/local); `options.now`: the clock presigned URLs expire by.
 */
function createS3Handler(options = {}) {
  const store = options.directory ? fileStore(options.directory) : memoryStore();
  const credentials = options.credentials || { [process.env.AWS_ACCESS_KEY_ID || 'local']: process.env.AWS_SECRET_ACCESS_KEY || 'local' };
  const now = options.now || Date.now;

  const handle = (req, res, body) => {
    const url = new URL(req.url, 'http://s3.local');
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    authenticate(req, url, body, credentials, now());
    if (!BUCKET_NAME.test(bucket)) throw new S3Error(400, 'InvalidBucketName', 'The specified bucket is not valid.');
    if (key === '') {
      if (req.method === 'PUT') {
        store.createBucket(bucket);
        res.writeHead(200, { location: `/${bucket}`, 'content-length': 0 });
        return res.end();
      }
      if (req.method === 'HEAD') {
        res.writeHead(store.hasBucket(bucket) ? 200 : 404, { 'content-length': 0 });
        return res.end();
      }
      throw new S3Error(405, 'MethodNotAllowed', 'This server supports CreateBucket and HeadBucket on a bucket');
    }
    if (!store.hasBucket(bucket)) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist');
    switch (req.method) {
      case 'PUT': {
        const source = req.headers['x-amz-copy-source'];
        if (source) {
          // CopyObject: here only onto an object from this server (this project copies an object onto itself to renew it).
          const [fromBucket, ...fromKey] = decodeURIComponent(String(source).split('?')[0]).replace(/^\//, '').split('/');
          const from = store.get(fromBucket, fromKey.join('/'));
          if (!from) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
          const copied = { ...from, lastModified: new Date(now()) };
          store.put(bucket, key, copied);
          const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><ETag>${xmlEscape(copied.etag)}</ETag><LastModified>${copied.lastModified.toISOString()}</LastModified></CopyObjectResult>`;
          res.writeHead(200, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) });
          return res.end(xml);
        }
        const object = {
          body,
          contentType: req.headers['content-type'] || 'binary/octet-stream',
          etag: `"${createHash('md5').update(body).digest('hex')}"`,
          lastModified: new Date(Math.floor(now() / 1000) * 1000),
        };
        store.put(bucket, key, object);
        res.writeHead(200, { etag: object.etag, 'content-length': 0 });
        return res.end();
      }
      case 'GET':
      case 'HEAD': {
        const object = store.get(bucket, key);
        if (!object) {
          // HEAD answers without a body, as S3 does: the SDK reads the status (NotFound).
          if (req.method === 'HEAD') {
            res.writeHead(404, { 'content-length': 0 });
            return res.end();
          }
          throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
        }
        res.writeHead(200, objectHeaders(object));
        return res.end(req.method === 'GET' ? object.body : undefined);
      }
      case 'DELETE':
        store.delete(bucket, key);
        res.writeHead(204);
        return res.end();
      default:
        throw new S3Error(405, 'MethodNotAllowed', `${req.method} is not supported on an object`);
    }
  };

  return (req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => {
      try {
        handle(req, res, Buffer.concat(chunks));
      } catch (error) {
        sendError(res, error instanceof S3Error ? error : new S3Error(500, 'InternalError', String(error && error.message)), req.url);
      }
    });
  };
}

/** An HTTP server speaking that subset of S3; call `listen` on it. */
function createS3Server(options = {}) {
  return createServer(createS3Handler(options));
}

module.exports = { createS3Server, createS3Handler };
