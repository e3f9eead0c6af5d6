import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CALL_TIMEOUTS } from '../../lib/clients';

/**
 * EventBridge Scheduler's wire protocol (restJson1), for the operations the
 * engine makes: CreateSchedule (POST /schedules/{Name}), DeleteSchedule
 * (DELETE /schedules/{Name}?groupName=), GetSchedule, with the service's
 * answers and errors (ConflictException 409, ResourceNotFoundException 404,
 * ValidationException 400), ClientToken idempotency included. No local
 * server speaks this API: the real @aws-sdk/client-scheduler talks to this
 * one over HTTP, so every call is checked at the SDK's wire. `fire` does what
 * the service does at a schedule's time: it sends the target's Input to the
 * target queue (a real local SQS) and, with ActionAfterCompletion DELETE,
 * deletes the schedule.
 */
export interface StoredSchedule {
  Name: string;
  GroupName: string;
  ScheduleExpression: string;
  ScheduleExpressionTimezone?: string;
  ActionAfterCompletion?: string;
  FlexibleTimeWindow: { Mode: string };
  Target: { Arn: string; RoleArn: string; Input?: string; RetryPolicy?: unknown; DeadLetterConfig?: { Arn: string } };
  ClientToken?: string;
}

export interface SchedulerServer {
  endpoint: string;
  client: SchedulerClient;
  schedules: Map<string, StoredSchedule>;
  /** Every request as `METHOD path`, in order. */
  calls: string[];
  /** Answers the next `count` requests with this status after doing their work (an answer lost after it landed) or before it (refused). */
  failNext(count: number, how: { status: number; landed: boolean }): void;
  fire(name: string, group: string, sqs: SQSClient, queueUrlOf: (arn: string) => string): Promise<void>;
  close(): Promise<void>;
}

const key = (group: string, name: string) => `${group}/${name}`;

export async function startSchedulerServer(): Promise<SchedulerServer> {
  const schedules = new Map<string, StoredSchedule>();
  const calls: string[] = [];
  const failures: Array<{ status: number; landed: boolean }> = [];

  const answer = (res: ServerResponse, status: number, body: unknown, errorType?: string) => {
    res.writeHead(status, { 'content-type': 'application/json', ...(errorType ? { 'x-amzn-errortype': errorType } : {}) });
    res.end(JSON.stringify(body));
  };

  const handle = (req: IncomingMessage, raw: string, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://local');
    calls.push(`${req.method} ${url.pathname}`);
    const name = decodeURIComponent(url.pathname.replace(/^\/schedules\//, ''));
    const failure = failures.shift();
    if (failure && !failure.landed) return answer(res, failure.status, { Message: 'injected' }, 'InternalServerException');
    let status = 200;
    let body: unknown = {};
    let errorType: string | undefined;
    if (req.method === 'POST') {
      const input = JSON.parse(raw) as Omit<StoredSchedule, 'Name'>;
      const existing = schedules.get(key(input.GroupName, name));
      if (!/^(at|cron|rate)\(/.test(input.ScheduleExpression)) [status, body, errorType] = [400, { Message: 'Invalid Schedule Expression' }, 'ValidationException'];
      else if (existing && existing.ClientToken !== input.ClientToken) [status, body, errorType] = [409, { Message: `Schedule ${name} already exists.` }, 'ConflictException'];
      else {
        schedules.set(key(input.GroupName, name), { ...input, Name: name });
        body = { ScheduleArn: `arn:aws:scheduler:us-east-1:000000000000:schedule/${input.GroupName}/${name}` };
      }
    } else if (req.method === 'DELETE' || req.method === 'GET') {
      const group = url.searchParams.get('groupName') ?? 'default';
      const found = schedules.get(key(group, name));
      if (!found) [status, body, errorType] = [404, { Message: `Schedule ${name} does not exist.` }, 'ResourceNotFoundException'];
      else if (req.method === 'DELETE') schedules.delete(key(group, name));
      else body = found;
    }
    if (failure) return answer(res, failure.status, { Message: 'injected' }, 'InternalServerException');
    answer(res, status, body, errorType);
  };

  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => handle(req, raw, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new SchedulerClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: CALL_TIMEOUTS,
  });
  return {
    endpoint,
    client,
    schedules,
    calls,
    failNext: (count, how) => failures.push(...Array.from({ length: count }, () => how)),
    async fire(name, group, sqs, queueUrlOf) {
      const schedule = schedules.get(key(group, name));
      if (!schedule) throw new Error(`no schedule ${group}/${name}`);
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrlOf(schedule.Target.Arn), MessageBody: schedule.Target.Input ?? '' }));
      if (schedule.ActionAfterCompletion === 'DELETE') schedules.delete(key(group, name));
    },
    async close() {
      client.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
