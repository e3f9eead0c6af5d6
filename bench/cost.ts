import { createApiHandler } from '../lib/http/api';
import { apiEvent, lambdaContext } from '../test/support/events';
import { blob, payloadOf, type Mode, type TaskCost } from './requests';
import type { BenchAws } from './servers';

/** AWS's published us-east-1 prices (USD), on-demand. */
export const PRICES = {
  httpApiPerMillion: 1.0,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  /** Per million requests; each 64 KB of a request's payload counts as one. */
  sqsPerMillionChunks: 0.4,
  dynamoWriteUnitsPerMillion: 0.625,
  dynamoReadUnitsPerMillion: 0.125,
};

/** What cannot be measured locally: Lambda durations on AWS. */
export const ASSUMPTIONS = {
  lambdaMemoryGb: 0.5,
  apiInvocationMs: 30,
  workerBatchMs: 100,
  tasksPerWorkerBatch: 10,
  note: 'DynamoDB units and SQS requests are measured (units by DynamoDB’s rules, from the items before and after each write); Lambda durations are assumptions; no status polling counted.',
};

export interface CostBreakdown {
  httpApi: number;
  lambda: number;
  sqs: number;
  dynamodb: number;
  total: number;
}

/** Dollars per million successful tasks, from what was measured for them. */
export function costPerMillion(mode: Mode, measured: TaskCost): CostBreakdown {
  const a = ASSUMPTIONS;
  // withBackgroundTasks rides on a request the application pays for anyway.
  const apiRequestsPerTask = mode === 'single' ? 1 : mode === 'batch' ? 1 / 100 : 0;
  const httpApi = apiRequestsPerTask * PRICES.httpApiPerMillion;
  const workerInvocationsPerTask = 1 / a.tasksPerWorkerBatch;
  const gbSeconds = apiRequestsPerTask * a.lambdaMemoryGb * (a.apiInvocationMs / 1000) + workerInvocationsPerTask * a.lambdaMemoryGb * (a.workerBatchMs / 1000);
  const lambda = (apiRequestsPerTask + workerInvocationsPerTask) * PRICES.lambdaRequestsPerMillion + gbSeconds * 1e6 * PRICES.lambdaArmGbSecond;
  // Task messages carry ids, not payloads: every request is one 64 KB chunk.
  const sqs = measured.sqsRequestsPerTask * PRICES.sqsPerMillionChunks;
  const dynamodb = measured.writeUnits * PRICES.dynamoWriteUnitsPerMillion + measured.readUnits * PRICES.dynamoReadUnitsPerMillion;
  return { httpApi, lambda, sqs, dynamodb, total: httpApi + lambda + sqs + dynamodb };
}

export interface DashboardReads {
  /** Tasks added to the table before this reading (the first reading follows the cost runs). */
  tasksAdded: number;
  /** Read units of one GET /stats, and of one GET /tasks page of 20 (all, and FAILED). */
  statsReadUnits: number;
  listPageReadUnits: number;
  failedPageReadUnits: number;
}

/** What the dashboard's refreshes read, with the table as the cost runs left it, then with more tasks in it. */
export async function measureDashboard(aws: BenchAws): Promise<DashboardReads[]> {
  const api = createApiHandler({ engine: aws.metered, apiKeys: async () => ['bench-key'] });
  const get = async (path: string, query?: Record<string, string>) => {
    aws.meter.reset();
    const res = await api(apiEvent('GET', path, { apiKey: 'bench-key', query }), lambdaContext());
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode}`);
    return aws.meter.readUnits();
  };
  const out: DashboardReads[] = [];
  for (const more of [0, 2_000]) {
    for (let i = 0; i < more; i += 100) {
      const tasks = Array.from({ length: 100 }, () => ({ name: blob.name, payload: payloadOf(100) }));
      await api(apiEvent('POST', '/tasks/batch', { apiKey: 'bench-key', body: { tasks } }), lambdaContext());
    }
    out.push({
      tasksAdded: more,
      statsReadUnits: await get('/stats'),
      listPageReadUnits: await get('/tasks', { limit: '20' }),
      failedPageReadUnits: await get('/tasks', { limit: '20', status: 'FAILED' }),
    });
  }
  return out;
}
