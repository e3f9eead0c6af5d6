import type { RequestsPerTask } from './requests';

/** AWS's published us-east-1 prices (USD), as given in the issue. */
export const PRICES = {
  httpApiPerMillion: 1.0,
  lambdaRequestsPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  sqsPerMillionChunks: 0.4,
  dynamoWriteUnitsPerMillion: 0.625,
  dynamoReadUnitsPerMillion: 0.125,
};

export const ASSUMPTIONS = {
  lambdaMemoryGb: 0.5,
  apiInvocationMs: 30,
  workerBatchMs: 100,
  tasksPerWorkerBatch: 10,
  itemKb: 1,
  /** Status changes write the status index too: the put (1), then RUNNING and the outcome, each a delete and a put (2 + 2). */
  indexWritesPerTask: 5,
  note: 'Durations are assumptions for AWS, not local measurements; one write_log task of a few hundred bytes; no status polling counted.',
};

export interface CostBreakdown {
  httpApi: number;
  lambda: number;
  sqs: number;
  dynamodb: number;
  total: number;
}

/** Dollars per million successful tasks, from the requests counted at the servers. */
export function costPerMillion(mode: 'single' | 'batch' | 'withBackgroundTasks', counted: RequestsPerTask): CostBreakdown {
  const a = ASSUMPTIONS;
  // withBackgroundTasks rides on a request the application pays for anyway.
  const apiRequestsPerTask = mode === 'single' ? 1 : mode === 'batch' ? 1 / 100 : 0;
  const httpApi = apiRequestsPerTask * PRICES.httpApiPerMillion;
  const workerInvocationsPerTask = 1 / a.tasksPerWorkerBatch;
  const gbSeconds = apiRequestsPerTask * a.lambdaMemoryGb * (a.apiInvocationMs / 1000) + workerInvocationsPerTask * a.lambdaMemoryGb * (a.workerBatchMs / 1000);
  const lambda = (apiRequestsPerTask + workerInvocationsPerTask) * PRICES.lambdaRequestsPerMillion + gbSeconds * 1e6 * PRICES.lambdaArmGbSecond;
  const sqsRequests = Object.values(counted.sqs).reduce((s, v) => s + v, 0);
  const sqs = sqsRequests * PRICES.sqsPerMillionChunks;
  // Table writes: one per record written (a batch write is still one unit per item) and two updates.
  const tableWrites = 3 * Math.ceil(a.itemKb);
  const writeUnits = tableWrites + a.indexWritesPerTask * Math.ceil(a.itemKb);
  const readUnits = counted.dynamodbReadRequestsPerTask; // consistent reads of ≤ 4 KB: one unit each
  const dynamodb = writeUnits * PRICES.dynamoWriteUnitsPerMillion + readUnits * PRICES.dynamoReadUnitsPerMillion;
  const total = httpApi + lambda + sqs + dynamodb;
  return { httpApi, lambda, sqs, dynamodb, total };
}
