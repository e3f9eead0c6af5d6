import type { Plugin } from 'esbuild';

export declare const REGISTER: RegExp;
export declare const TRACING_MODES: readonly string[];
/** Whether a build (for `serverless`'s stage, or npm start with LOCAL_TRACES in `env`) carries the OpenTelemetry SDK. */
export declare function tracingEnabled(serverless: unknown, env?: NodeJS.ProcessEnv): boolean;
export declare function tracingSetupPlugin(enabled: boolean): Plugin;
