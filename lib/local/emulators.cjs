'use strict';
/**
 * The embedded SQS (local-aws-sqs), DynamoDB (dynalite) and S3 (../payloads/s3Server.cjs) servers of
 * `npm start`, in a child process of their own (lib/local/servers.ts forks
 * this file): they then run on the second core, beside the process that
 * serves the API and runs the event sources, instead of sharing its one
 * thread. CommonJS, and no TypeScript, so that it starts in a few
 * milliseconds without a loader.
 *
 * Messages: {start: {sqs?: {host, port, region}, dynamo?: {host, port, path}, s3?: {host, port, directory, credentials}}}
 * → {ready: true} or {error: {server, code, message}}; {stop: true} closes
 * both and exits. It exits too when its parent goes (the IPC channel closes),
 * and only then: SIGINT and SIGTERM are left to the parent's drain.
 */
const { createServer } = require('node:http');

const servers = [];

function listen(server, port, host) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

async function start({ sqs, dynamo, s3 }) {
  if (sqs) {
    const { createRequestHandler } = require('local-aws-sqs');
    const { requestHandler, service } = createRequestHandler({ port: sqs.port, hostname: sqs.host, region: sqs.region, emulateQueueCreationLifecycle: false });
    const server = createServer((req, res) => void requestHandler(req, res));
    try {
      await listen(server, sqs.port, sqs.host);
    } catch (error) {
      throw Object.assign(error, { server: 'sqs' });
    }
    service.PORT = sqs.port;
    servers.push(server);
  }
  if (dynamo) {
    cacheTableDescriptions();
    require('./dynaliteGaps.cjs').fillDynaliteGaps();
    const dynalite = require('dynalite');
    const server = dynalite({ path: dynamo.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    try {
      await listen(server, dynamo.port, dynamo.host);
    } catch (error) {
      throw Object.assign(error, { server: 'dynamo' });
    }
    servers.push(server);
  }
  if (s3) {
    const server = require('../payloads/s3Server.cjs').createS3Server({ directory: s3.directory, credentials: s3.credentials });
    try {
      await listen(server, s3.port, s3.host);
    } catch (error) {
      throw Object.assign(error, { server: 's3' });
    }
    servers.push(server);
  }
}

/**
 * dynalite reads the table's description from LevelDB on every request (to
 * check the key and find the indexes): a tenth of its CPU under load. This
 * keeps each description in memory from its first read until the next write
 * of it (create, update, delete, status change), which all go through the
 * table store's put and del. A version per table keeps a read that raced
 * with a write from caching what the write replaced. Callers get a copy, as
 * they would from LevelDB, since some change the object before writing it back.
 */
function cacheTableDescriptions() {
  const dynaliteDb = require('dynalite/db');
  const create = dynaliteDb.create;
  dynaliteDb.create = function (options) {
    const store = create(options);
    const tables = store.tableDb;
    const { get, put, del } = tables;
    const cached = new Map();
    const versions = new Map();
    const changed = (name) => {
      versions.set(name, (versions.get(name) || 0) + 1);
      cached.delete(name);
    };
    tables.get = function (name, callback) {
      if (typeof callback !== 'function') return get.call(tables, name, callback);
      if (cached.has(name)) return void setImmediate(callback, null, structuredClone(cached.get(name)));
      const version = versions.get(name);
      get.call(tables, name, (error, table) => {
        if (!error && table && versions.get(name) === version) cached.set(name, structuredClone(table));
        callback(error, table);
      });
    };
    for (const [method, original] of [['put', put], ['del', del]]) {
      tables[method] = function (name, ...rest) {
        changed(name);
        const callback = typeof rest[rest.length - 1] === 'function' ? rest.pop() : undefined;
        return original.call(tables, name, ...rest, (error) => {
          changed(name);
          if (callback) callback(error);
        });
      };
    }
    return store;
  };
}

async function stop() {
  await Promise.all(
    servers.map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections?.();
          server.close(() => resolve());
        }),
    ),
  );
  process.exit(0);
}

process.on('message', (message) => {
  if (message && message.start) {
    start(message.start).then(
      () => process.send({ ready: true }),
      (error) => process.send({ error: { server: error.server, code: error.code, message: error.message } }),
    );
  } else if (message && message.stop) {
    void stop();
  }
});
// The parent is gone (killed, or exited without stopping us): so are we.
process.on('disconnect', () => process.exit(0));
// Ctrl+C in a terminal (and a process manager's SIGTERM to the group) reaches
// this process too, while the parent still drains: the running tasks must
// still record their outcomes here. The parent ends us ({stop}, or by going).
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => undefined);
