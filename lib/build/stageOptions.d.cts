/** lib/build/stageOptions.cjs, for the tests that call it as serverless.yml's `${file(...)}` does. */
type Resolver = { resolveVariable: (variable: string) => Promise<unknown> };
declare const stageOptions: {
  apiKeyKmsStatement(resolver: Resolver): Promise<unknown>;
  alarmEmailSubscription(resolver: Resolver): Promise<unknown>;
  tracing(resolver: Resolver): Promise<string>;
  lambdaTracing(resolver: Resolver): Promise<'Active' | false>;
  xrayStatement(resolver: Resolver): Promise<unknown>;
  workerReservedConcurrency(resolver: Resolver): Promise<unknown>;
};
export = stageOptions;
