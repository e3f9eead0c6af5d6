import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { ListBucketsCommand, type S3Client } from '@aws-sdk/client-s3';
import { ListQueuesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createDocumentClient } from '../clients';
import { loadConfig } from '../config';
import { createEngine } from '../engine';
import { loadApiKeys } from '../http/apiKeys';
import { createS3Client } from '../payloads/s3Client';
import { TaskQueue } from '../queue';
import { LocalScheduler, localSchedules } from '../schedules/localScheduler';
import { TaskStore } from '../store/taskStore';
import { banner } from './banner';
import { SqsEventSource, type BatchReport } from './eventSource';
import { invokeThroughOffline } from './invoke';
import { eventSourceMappings, queueConsumers } from './mappings';
import { adaptOffline } from './offline';
import { localOptions, type LocalOptions } from './options';
import { requeueUnfinishedTasks } from './recovery';
import { createResources, type CfnResource, type CreatedResources } from './resources';
import { ensurePortFree, ensureReachable, startEndpoints, type Endpoint } from './servers';

/** The parts of the Serverless Framework's service object the runtime reads. */
export interface ServerlessLike {
  service: {
    service: string;
    provider: {
      stage: string;
      region: string;
      timeout?: number;
      environment?: Record<string, unknown>;
      httpApi?: { cors?: { allowedOrigins?: unknown } };
    };
    custom?: Record<string, unknown>;
    resources?: { Resources?: Record<string, CfnResource> };
    getAllFunctions(): string[];
    getFunction(key: string): { name: string; timeout?: number; environment?: Record<string, unknown>; events?: Record<string, unknown>[] };
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
  'IDEMPOTENCY_HOLD_MS',
  'TASK_RETENTION_DAYS',
  'POWERTOOLS_LOG_LEVEL',
  'POWERTOOLS_METRICS_DISABLED',
];
/** How often to check whether npm, our parent, is still there. */
const PARENT_CHECK_MS = 500;

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
  private scheduler?: LocalScheduler;
  private sqs?: SQSClient;
  private dynamo?: DynamoDBClient;
  private s3?: S3Client;
  private parentWatch?: NodeJS.Timeout;

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
    await adaptOffline({ environmentsPerFunction: options.environmentsPerFunction, uncapped: queueConsumers(this.serverless.service) });
    // Offline's own ports fail later with a stack trace; check them first, on
    // the host offline binds, for a clear message.
    await ensurePortFree('localhost', options.httpPort, 'API', 'PORT');
    await ensurePortFree('localhost', options.lambdaPort, 'Lambda invoke endpoint', 'LAMBDA_PORT');
    const { region } = this.serverless.service.provider;
    process.env.AWS_ACCESS_KEY_ID ??= 'local';
    process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
    const { sqs, dynamo, s3 } = await startEndpoints({
      host: options.host,
      region,
      sqs: { override: options.sqsEndpoint, port: options.sqsPort },
      dynamo: { override: options.dynamoEndpoint, port: options.dynamoPort, dataDir: options.dataDir, fresh: options.fresh },
      // The embedded S3 server checks signatures, with the key pair the handlers sign with.
      s3: { override: options.s3Endpoint, port: options.s3Port, credentials: { [process.env.AWS_ACCESS_KEY_ID]: process.env.AWS_SECRET_ACCESS_KEY } },
    });
    this.endpoints.push(sqs, dynamo, s3!);
    // Offline copies every AWS_* variable into the handlers: this is how they find the servers.
    process.env.AWS_ENDPOINT_URL_SQS = sqs.url;
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.url;
    process.env.AWS_ENDPOINT_URL_S3 = s3!.url;
    this.sqs = new SQSClient({ endpoint: sqs.url, region });
    this.dynamo = new DynamoDBClient({ endpoint: dynamo.url, region });
    this.s3 = createS3Client({ endpoint: s3!.url, region });
    await ensureReachable(sqs, 'SQS', 'AWS_ENDPOINT_URL_SQS', (abortSignal) => this.sqs!.send(new ListQueuesCommand({ MaxResults: 1 }), { abortSignal }));
    await ensureReachable(dynamo, 'DynamoDB', 'AWS_ENDPOINT_URL_DYNAMODB', (abortSignal) =>
      this.dynamo!.send(new ListTablesCommand({ Limit: 1 }), { abortSignal }),
    );
    await ensureReachable(s3!, 'S3', 'AWS_ENDPOINT_URL_S3', (abortSignal) => this.s3!.send(new ListBucketsCommand({}), { abortSignal }));
    this.resources = await createResources(this.serverless.service.resources?.Resources ?? {}, { sqs: this.sqs, dynamo: this.dynamo, s3: this.s3 });
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
    const recovery = await requeueUnfinishedTasks(engine);
    // The schedules of the template (EventBridge Scheduler on AWS) and the timers in the table.
    const queueUrlOf = (arn: string) => [...this.resources!.queues.values()].find((q) => q.arn === arn)?.url;
    const send = async (QueueUrl: string, MessageBody: string) => void (await this.sqs!.send(new SendMessageCommand({ QueueUrl, MessageBody })));
    this.scheduler = new LocalScheduler(engine, localSchedules(this.serverless.service.resources?.Resources ?? {}, this.resources!.resolve, queueUrlOf), send, this.log);
    await this.scheduler.start();
    const invoke = invokeThroughOffline(`http://localhost:${this.options.lambdaPort}`);
    const mappings = eventSourceMappings(this.serverless.service, this.resources!, (fn, arn) =>
      this.log.warning(`${fn}: no local queue for ${arn}; only queues declared in resources are emulated`),
    );
    for (const mapping of mappings) {
      const source = new SqsEventSource(this.sqs!, mapping, invoke, {
        onBatch: (report) => this.reportBatch(report),
        onOutage: (error) => this.log.warning(`${mapping.functionName}: cannot poll SQS (${(error as Error).message}); retrying`),
        onRecovered: () => this.log.notice(`${mapping.functionName}: polling SQS again`),
        onError: (error) => this.log.warning(`${mapping.functionName}: ${(error as Error).message}`),
      });
      source.start();
      this.sources.push(source);
    }
    this.watchParent();
    // Read as the api function reads it here, so the banner shows a key it accepts.
    const [apiKey] = await loadApiKeys({ API_KEY: process.env.API_KEY, IS_OFFLINE: 'true' });
    const [sqs, dynamo, s3] = this.endpoints;
    process.stdout.write(
      banner({
        httpPort: this.options.httpPort,
        apiKey: apiKey ?? '(none: API_KEY lists no key, so every request is refused)',
        apiKeyFromEnv: Boolean(process.env.API_KEY),
        sqs: sqs!,
        dynamo: dynamo!,
        s3: s3!,
        dataDir: this.options.dataDir,
        mappings,
        recovery,
        schedules: this.scheduler.schedules.map((s) => ({ name: s.name, expression: s.expression, timezone: s.timezone, nextRunAt: this.scheduler!.nextRuns.get(s.name) })),
        ...(this.options.traces ? { traces: this.options.traces } : {}),
      }),
    );
  }

  /**
   * npm stops a script by killing the shell it runs in, not this process,
   * which would go on with no parent and never drain. Losing the parent is
   * taken as the SIGTERM it stands for; serverless-offline's handler then
   * runs `stop()`.
   */
  private watchParent(): void {
    const parent = process.ppid;
    this.parentWatch = setInterval(() => {
      if (process.ppid === parent) return;
      clearInterval(this.parentWatch);
      this.log.notice('npm has exited (it stops the shell, not this process): stopping as if sent SIGTERM');
      process.kill(process.pid, 'SIGTERM');
    }, PARENT_CHECK_MS).unref();
  }

  /** On SIGINT/SIGTERM: stop receiving, let every batch in flight finish (each bounded by its function's timeout), close the servers. */
  async stop(): Promise<void> {
    clearInterval(this.parentWatch);
    const busy = this.sources.reduce((n, s) => n + s.busy, 0);
    if (busy > 0) this.log.notice(`Draining: waiting for ${busy} batch(es) in flight to finish (Ctrl+C again to quit now)`);
    // A second Ctrl+C (or SIGTERM) quits at once, with the shell's code for
    // that signal. Signals within the first second are the same one arriving
    // twice (the terminal and npm both forward it).
    const drainStarted = Date.now();
    const forceQuit = (signal: NodeJS.Signals) => {
      if (Date.now() - drainStarted > 1_000) process.exit(signal === 'SIGINT' ? 130 : 143);
    };
    process.on('SIGINT', forceQuit).on('SIGTERM', forceQuit);
    await this.scheduler?.stop();
    await Promise.all(this.sources.map((s) => s.stop()));
    if (busy > 0) this.log.notice('Drained: every task in flight has finished');
    await this.close();
  }

  private async close(): Promise<void> {
    this.sqs?.destroy();
    this.dynamo?.destroy();
    this.s3?.destroy();
    await Promise.all(this.endpoints.map((e) => e.close()));
    this.endpoints = [];
  }

  /**
   * Replaces Ref/GetAtt in the environment with local URLs and ARNs; drops the
   * SSM key parameter and the schedule group, which have no local server (so
   * timers stay in the table, where this runtime fires them).
   */
  private resolveEnvironment(): void {
    const { provider } = this.serverless.service;
    const env = this.resources!.resolve(provider.environment ?? {}) as Record<string, unknown>;
    delete env.API_KEY_PARAMETER;
    delete env.SCHEDULE_GROUP;
    delete env.SCHEDULER_ROLE_ARN;
    // EMF lines have no CloudWatch to read them here: metrics are off unless asked for (POWERTOOLS_METRICS_DISABLED=false).
    env.POWERTOOLS_METRICS_DISABLED = 'true';
    for (const name of PASSED_THROUGH) if (process.env[name] !== undefined) env[name] = process.env[name];
    // Resolved against the directory npm start runs in; the bundles carry the SDK only when it is set (lib/build/tracingSetup.cjs).
    if (this.options.traces) env.LOCAL_TRACES = this.options.traces;
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

  private reportBatch(report: BatchReport): void {
    if (report.error) this.log.warning(`${report.functionName}: batch of ${report.size} failed (${report.error}); SQS will deliver it again`);
    else this.log.verbose(`${report.functionName}: batch of ${report.size}, ${report.deleted} done, ${report.retried} to retry`);
  }
}
