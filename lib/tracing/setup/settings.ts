import { isAbsolute, resolve } from 'node:path';

/** Where a function's spans go, as its environment says. */
export type TraceExport =
  /** To the X-Ray daemon of a Lambda with active tracing (deployed stages with the `tracing` param on). */
  | { kind: 'xray'; host: string; port: number }
  /** One line per span on standard output (`LOCAL_TRACES=console` under `npm start`). */
  | { kind: 'console' }
  /** OTLP JSON, one export request per line, appended to a file (`LOCAL_TRACES=<path>`). */
  | { kind: 'file'; path: string };

/** The X-Ray daemon's address when AWS_XRAY_DAEMON_ADDRESS does not say (Lambda always sets it under active tracing). */
const DEFAULT_DAEMON = { host: '127.0.0.1', port: 2000 };

/**
 * What the environment asks for: `TRACING=xray` (set by serverless.yml's
 * `tracing` stage param) or `LOCAL_TRACES` (npm start), else nothing: no SDK
 * is set up and every tracing call of the engine stays a no-op. A value this
 * does not know turns tracing off with a warning rather than failing the
 * function: the template refuses it at package time already.
 */
export function traceExportOf(env: NodeJS.ProcessEnv, warn: (message: string) => void = (m) => console.warn(m)): TraceExport | undefined {
  const tracing = (env.TRACING ?? '').trim().toLowerCase();
  if (tracing === 'xray') return { kind: 'xray', ...daemonAddress(env.AWS_XRAY_DAEMON_ADDRESS, warn) };
  if (tracing !== '' && tracing !== 'off') warn(`TRACING="${env.TRACING}" is not one of off, xray: tracing stays off`);
  const local = (env.LOCAL_TRACES ?? '').trim();
  if (local === '' || local === 'off') return undefined;
  if (local === 'console') return { kind: 'console' };
  return { kind: 'file', path: isAbsolute(local) ? local : resolve(local) };
}

/**
 * The daemon's UDP address: `host:port`, or the SDKs' two-address form
 * (`tcp:host:port udp:host:port`), whose udp part is the one spans go to.
 */
export function daemonAddress(value: string | undefined, warn: (message: string) => void): { host: string; port: number } {
  if (value === undefined || value.trim() === '') return DEFAULT_DAEMON;
  const udp = value.split(/\s+/).find((part) => part.startsWith('udp:'))?.slice(4) ?? value.trim();
  const match = /^([^:\s]+):(\d{1,5})$/.exec(udp);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65535) {
    warn(`AWS_XRAY_DAEMON_ADDRESS="${value}" is not host:port; spans go to ${DEFAULT_DAEMON.host}:${DEFAULT_DAEMON.port}`);
    return DEFAULT_DAEMON;
  }
  return { host: match[1]!, port };
}
