/** The one class lib/local/instances.ts reaches into: offline's Lambda, whose `get` hands out an environment per invocation. */
declare module 'serverless-offline/lambda' {
  const Lambda: { prototype: { get(functionKey: string): { setEvent(event: unknown): void; setClientContext(context: unknown): void; runHandler(): Promise<unknown> } } };
  export default Lambda;
}
