import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './exitCodes';

type Options = NonNullable<ParseArgsConfig['options']>;

/** A command as the parser and --help know it. */
export interface CommandSpec {
  name: string;
  /** The arguments after the command, as shown in usage: `NAME`, `ID`. */
  args: string[];
  summary: string;
  options: Options;
  /** One line per option and argument, for --help. */
  help: string[];
}

/** Options every command takes. */
export const GLOBAL_OPTIONS: Options = {
  json: { type: 'boolean' },
  url: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

const GLOBAL_HELP = [
  '--json          print JSON for scripts instead of tables',
  '--url URL       the API (default: $TASKS_URL, else http://localhost:3000)',
  '-h, --help      this help',
];

export interface Invocation {
  command: CommandSpec;
  args: string[];
  values: Record<string, string | boolean | undefined>;
}

/** The command line as a command, its arguments and its options; throws UsageError for anything it cannot take. */
export function parseInvocation(argv: string[], commands: CommandSpec[]): Invocation | { help: string } {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') return { help: overview(commands) };
  const command = commands.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"; one of: ${commands.map((c) => c.name).join(', ')}`);
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: rest, options: { ...GLOBAL_OPTIONS, ...command.options }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message, command.name);
  }
  if (parsed.values.help) return { help: usage(command) };
  if (parsed.positionals.length !== command.args.length) {
    throw new UsageError(`${command.name} takes ${command.args.length === 0 ? 'no arguments' : command.args.join(' ')}, not "${parsed.positionals.join(' ')}"`, command.name);
  }
  return { command, args: parsed.positionals, values: parsed.values as Invocation['values'] };
}

/** A whole number option within bounds, or undefined when not given. */
export function intOption(values: Invocation['values'], name: string, min: number, max: number): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim()) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${String(raw)}"`);
  return n;
}

export function usage(command: CommandSpec): string {
  return [`usage: tasks ${[command.name, ...command.args].join(' ')} [options]`, '', command.summary, '', 'options:', ...[...command.help, ...GLOBAL_HELP].map((l) => `  ${l}`)].join('\n');
}

function overview(commands: CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => [c.name, ...c.args].join(' ').length));
  return [
    'usage: tasks <command> [options]',
    '',
    'Enqueue and follow background tasks through the HTTP API. Reads TASKS_URL',
    '(default http://localhost:3000, the local stack) and TASKS_API_KEY (default local-dev-key).',
    '',
    'commands:',
    ...commands.map((c) => `  ${[c.name, ...c.args].join(' ').padEnd(width)}  ${c.summary}`),
    '',
    '`tasks <command> --help` shows its options.',
    'exit codes: 0 ok, 1 task failed or request refused, 2 usage, 3 not found, 4 API unreachable, 5 wait timed out',
  ].join('\n');
}
