import { setupTracing } from './provider';

/**
 * Imported first by the api and worker functions (functions/*.ts): sets up
 * the SDK when the environment asks for it, in a function's execution
 * environment only (Lambda's, or npm start's, both of which name the
 * function), never in a process that merely loads the handler's module (the
 * OpenAPI build, a test). The Lambda bundles carry this module, and with it
 * the SDK, only when tracing is on for the stage or LOCAL_TRACES is set under
 * `npm start` (lib/build/tracingSetup.cjs); otherwise it is empty there.
 */
if (process.env.AWS_LAMBDA_FUNCTION_NAME) setupTracing(process.env);
