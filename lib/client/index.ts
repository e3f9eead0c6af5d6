// The typed client of the tasks API, for Node and browsers: fetch only, no AWS SDK.
export { createClient, type ClientOptions, type TasksClient, type WaitOptions } from './createClient';
export { TaskNotFoundError, TasksApiError, TasksUnreachableError, WaitTimeoutError } from './errors';
export type * from './types';
