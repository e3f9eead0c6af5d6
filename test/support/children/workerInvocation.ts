/**
 * One invocation of the deployed worker handler (functions/worker.ts) in a
 * process of its own, as Lambda runs it: the runtime's listener for
 * unhandled rejections is in place first (it fails the invocation and exits
 * the process, code 128, as AWS's Node.js runtime does), then the handler
 * runs the SQS event read from stdin, and its response goes to stdout.
 * The task types of test/support/children/strayTasks.ts are registered too.
 */
import './strayTasks';

process.on('unhandledRejection', () => {
  process.stdout.write('RUNTIME: unhandled rejection, invocation failed\n');
  process.exit(128);
});

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const { handler } = await import('../../../functions/worker');
  const context = { getRemainingTimeInMillis: () => 60_000 } as never;
  const response = await handler(JSON.parse(Buffer.concat(chunks).toString('utf8')), context);
  process.stdout.write(`RESPONSE ${JSON.stringify(response)}\n`);
}

void main();
