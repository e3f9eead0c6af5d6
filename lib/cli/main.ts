import { readFileSync } from 'node:fs';
import { createClient } from '../client';
import { LOCAL_DEV_KEY } from '../http/apiKeys';
import { parseInvocation, usage } from './args';
import { COMMANDS } from './commands';
import { describeFailure, exitCodeOf, UsageError } from './exitCodes';

/** Where the local stack (`npm start`) answers. */
export const LOCAL_URL = 'http://localhost:3000';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
}

/** `tasks <command> ...`: runs the command and resolves with the exit code; never throws. */
export async function main(argv: string[], io: Io): Promise<number> {
  let command: string | undefined;
  try {
    const invocation = parseInvocation(argv, COMMANDS);
    if ('help' in invocation) {
      io.out(invocation.help);
      return 0;
    }
    command = invocation.command.name;
    const client = createClient({
      baseUrl: (invocation.values.url as string | undefined) ?? (io.env.TASKS_URL || LOCAL_URL),
      apiKey: io.env.TASKS_API_KEY || LOCAL_DEV_KEY,
    });
    const readText = (path: string) => readFileSync(path === '-' ? 0 : path, 'utf8');
    return await COMMANDS.find((c) => c.name === command)!.run({ client, args: invocation.args, values: invocation.values, json: invocation.values.json === true, out: io.out, readText, signal: io.signal });
  } catch (error) {
    io.err(describeFailure(error));
    const named = error instanceof UsageError ? COMMANDS.find((c) => c.name === (error.command ?? command)) : undefined;
    if (named) io.err(`\n${usage(named)}`);
    return exitCodeOf(error);
  }
}
