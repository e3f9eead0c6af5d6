import type { Plugin } from 'esbuild';

/** The esbuild plugins of a Lambda build; `options.tracing` overrides what the Serverless instance says. */
declare function esbuildPlugins(serverless: unknown, options?: { tracing?: boolean }): Plugin[];
export = esbuildPlugins;
