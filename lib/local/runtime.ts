import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../clients';
import { loadConfig } from '../config';
import { createEngine } from '../engine';
import { LOCAL_DEV_KEY } from '../http/apiKeys';
import { TaskQueue } from '../queue';
import { TaskStore } from '../store';
import { SqsEventSource, type BatchReport, type EventSourceMapping } from './eventSource';
import { invokeThroughOffline } from './invoke';
import { localOptions, type LocalOptions } from './options';
import { requeueUnfinishedTasks, type RecoveryReport } from './recovery';
import { createResources, type CfnResource, type CreatedResources } from './resources';
import { dynamoEndpoint, ensurePortFree, sqsEndpoint, type Endpoint } from './servers';

/** The parts of the Serverless Framework's service object the runtime reads. */
export interface ServerlessLike {
  service: {
    service: string;
    provider: { stage: string; region: string; environment?: Record<string, unknown>; httpApi?: { cors?: { allowedOrigins?: unknown } } };
    custom?: Record<string, unknown>;
    resources?: { Resources?: Record<string, CfnResource> };
    getAllFunctions(): string[];
    getFunction(key: string): { name: string; environment?: Record<string, unknown>; events?: Record<string, unknown>[] };
  };
}

export interface RuntimeLog {
  notice(message: string): void;
  warning(message: string): void;
  error(message: string): void;
  verbose(message: string): void;
}

/** Engine settings a developer may set in the shell; handlers only see AWS_* variables otherwise. */
const PASSED_THROUGH = [
  'API_KEY',
  'WORKER_CONCURRENCY',
  'WORKER_DEADLINE_MARGIN_MS',
  'LEASE_MARGIN_MS',
  'TASK_RETENTION_DAYS',
  'POWERTOOLS_LOG_LEVEL',
  'POWERTOOLS_METRICS_DISABLED',
];
/** Lambda polls a queue with up to 1,000 concurrent batches unless capped; locally a few are plenty. */
const DEFAULT_LOCAL_CONCURRENCY = 5;

/**
 * `npm start`'s AWS half, driven by serverless-offline's lifecycle: servers
 * and resources before offline starts, the SQS event sources once its Lambda
 * endpoint listens, and a drain before it stops.
 */
export class LocalRuntime {
  private readonly options: LocalOptions;
  private endpoints: Endpoint[] = [];
  private resources?: CreatedResources;
  private sources: SqsEventSource[] = [];
  private sqs?: SQSClient;
  private dynamo?: DynamoDBClient;
  private recovery?: RecoveryReport;

  constructor(
    private readonly serverless: ServerlessLike,
    private readonly log: RuntimeLog,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.options = localOptions(env, process.cwd());
  }

  /** Before offline starts: servers up, resources created, handlers' environment resolved. */
  async prepare(): Promise<void> {
    try {
      await this.startServers();
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private async startServers(): Promise<void> {
    const { options } = this;
    // Offline's own ports fail later with a stack trace; check them first for a clear message.
    await ensurePortFree(options.host, options.httpPort, 'API', 'PORT');
    await ensurePortFree(options.host, options.lambdaPort, 'Lambda invoke endpoint', 'LAMBDA_PORT');
    const { region } = this.serverless.service.provider;
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    const sqs = await sqsEndpoint({ override: options.sqsEndpoint, host: options.host, port: options.sqsPort, region });
    this.endpoints.push(sqs);
    const dynamo = await dynamoEndpoint({
      override: options.dynamoEndpoint,
      host: options.host,
      port: options.dynamoPort,
      dataDir: options.dataDir,
      fresh: options.fresh,
    });
    this.endpoints.push(dynamo);
    // Offline copies every AWS_* variable into the handlers: this is how they find the servers.
    process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
    this.sqs = new SQSClient({ endpoint: sqs.url, region });
    this.dynamo = new DynamoDBClient({ endpoint: dynamo.url, region });
    this.resources = await createResources(this.serverless.service.resources?.Resources ?? {}, { sqs: this.sqs, dynamo: this.dynamo });
    this.resolveEnvironment();
    // serverless-offline rejects an empty origin list, which means "no CORS": say that the way it understands.
    const { httpApi } = this.serverless.service.provider;
    if (Array.isArray(httpApi?.cors?.allowedOrigins) && httpApi.cors.allowedOrigins.length === 0) delete httpApi.cors;
    const custom = (this.serverless.service.custom ??= {});
    const offline = ((custom['serverless-offline'] as Record<string, unknown> | undefined) ??= {});
    offline.lambdaPort = options.lambdaPort;
  }

  /** Once offline listens: re-queue what a restart lost, then poll. */
  async start(): Promise<void> {
    const env = this.handlerEnvironment();
    const config = loadConfig(env as NodeJS.ProcessEnv);
    const engine = createEngine({
      config,
      store: new TaskStore(createDocumentClient(this.dynamo!), config.tableName),
      queue: new TaskQueue(this.sqs!, config.queueUrls),
    });
    this.recovery = await requeueUnfinishedTasks(engine);
    const invoke = invokeThroughOffline(`http://localhost:${this.options.lambdaPort}`);
    for (const mapping of this.mappings()) {
      const source = new SqsEventSource(this.sqs!, mapping, invoke, (r) => this.reportBatch(r), (e) => this.log.warning(`SQS polling: ${(e as Error).message}`));
      source.start();
      this.sources.push(source);
    }
    this.printBanner();
  }

  /** On SIGINT/SIGTERM: stop receiving, let every batch in flight finish (each bounded by its function's timeout), close the servers. */
  async stop(): Promise<void> {
    const busy = this.sources.reduce((n, s) => n + s.busy, 0);
    if (busy > 0) this.log.notice(`Draining: waiting for ${busy} batch(es) in flight to finish (Ctrl+C again to quit now)`);
    // A second Ctrl+C quits at once. Signals within the first second are the
    // same one arriving twice (the terminal and npm both forward it).
    const drainStarted = Date.now();
    const forceQuit = () => {
      if (Date.now() - drainStarted > 1_000) process.exit(130);
    };
    process.on('SIGINT', forceQuit).on('SIGTERM', forceQuit);
    await Promise.all(this.sources.map((s) => s.stop()));
    if (busy > 0) this.log.notice('Drained: every task in flight has finished');
    await this.close();
  }

  private async close(): Promise<void> {
    this.sqs?.destroy();
    this.dynamo?.destroy();
    await Promise.all(this.endpoints.map((e) => e.close()));
    this.endpoints = [];
  }

  /** Replaces Ref/GetAtt in the environment with local URLs and ARNs; drops the SSM key parameter, which has no local server. */
  private resolveEnvironment(): void {
    const { provider } = this.serverless.service;
    const env = this.resources!.resolve(provider.environment ?? {}) as Record<string, unknown>;
    delete env.API_KEY_PARAMETER;
    for (const name of PASSED_THROUGH) if (process.env[name] !== undefined) env[name] = process.env[name];
    provider.environment = env;
    for (const key of this.serverless.service.getAllFunctions()) {
      const fn = this.serverless.service.getFunction(key);
      if (fn.environment) {
        fn.environment = this.resources!.resolve(fn.environment) as Record<string, unknown>;
        delete fn.environment.API_KEY_PARAMETER;
      }
    }
  }

  private handlerEnvironment(): Record<string, string> {
    return Object.fromEntries(Object.entries(this.serverless.service.provider.environment ?? {}).map(([k, v]) => [k, String(v)]));
  }

  /** Every `sqs` event of every function, matched to its local queue. */
  private mappings(): EventSourceMapping[] {
    const { service } = this.serverless;
    const mappings: EventSourceMapping[] = [];
    for (const key of service.getAllFunctions()) {
      const fn = service.getFunction(key);
      for (const event of fn.events ?? []) {
        const sqs = event.sqs as Record<string, unknown> | string | undefined;
        if (!sqs) continue;
        const spec = typeof sqs === 'string' ? { arn: sqs } : sqs;
        const arn = String(this.resources!.resolve(spec.arn));
        const queue = [...this.resources!.queues.values()].find((q) => q.arn === arn);
        if (!queue) {
          this.log.warning(`${key}: no local queue for ${arn}; only queues declared in resources are emulated`);
          continue;
        }
        mappings.push({
          functionName: fn.name,
          queueUrl: queue.url,
          queueArn: queue.arn,
          region: service.provider.region,
          batchSize: Number(spec.batchSize ?? 10),
          maximumBatchingWindowSeconds: Number(spec.maximumBatchingWindow ?? 0),
          maximumConcurrency: Number(spec.maximumConcurrency ?? DEFAULT_LOCAL_CONCURRENCY),
          reportBatchItemFailures: spec.functionResponseType === 'ReportBatchItemFailures',
        });
      }
    }
    return mappings;
  }

  private reportBatch(report: BatchReport): void {
    if (report.error) this.log.warning(`${report.functionName}: batch of ${report.size} failed (${report.error}); SQS will deliver it again`);
    else this.log.verbose(`${report.functionName}: batch of ${report.size}, ${report.deleted} done, ${report.retried} to retry`);
  }

  private printBanner(): void {
    const { options } = this;
    const api = `http://localhost:${options.httpPort}`;
    const key = process.env.API_KEY?.split(',')[0]?.trim() || LOCAL_DEV_KEY;
    const [sqs, dynamo] = this.endpoints;
    const requeued = Object.entries(this.recovery?.requeued ?? {}).map(([status, n]) => `${n} ${status}`);
    const lines = [
      '',
      'Background tasks: local stack ready',
      `  API        ${api}`,
      `  Dashboard  ${api}/dashboard`,
      `  API key    ${key}${process.env.API_KEY ? ' (from API_KEY)' : '  (set API_KEY to change it)'}`,
      `  SQS        ${sqs!.url}${sqs!.embedded ? '  (embedded, in memory)' : '  (AWS_ENDPOINT_URL_SQS)'}`,
      `  DynamoDB   ${dynamo!.url}${dynamo!.embedded ? `  (embedded, data in ${options.dataDir})` : '  (AWS_ENDPOINT_URL_DYNAMODB)'}`,
      ...this.sources.map(
        (s) => `  Consumer   ${s.mapping.functionName} <- ${s.mapping.queueArn.split(':').pop()} (batch ${s.mapping.batchSize}, ${s.mapping.maximumConcurrency} at once)`,
      ),
      `  Recovered  ${requeued.length ? `${requeued.join(', ')} task(s) re-queued` : 'nothing to re-queue'}`,
      '',
      'Try it:',
      `  curl -X POST '${api}/send-notification?email=a@example.com' -H 'x-api-key: ${key}'`,
      `  curl ${api}/tasks/<taskId> -H 'x-api-key: ${key}'`,
      '',
      'Ctrl+C stops polling, lets running tasks finish, then exits.',
      '',
    ];
    process.stdout.write(lines.join('\n') + '\n');
  }
}
