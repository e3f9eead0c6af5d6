import { Agent, request } from 'node:http';
import { processTreeCpuMs } from './processCpu';
import { percentiles } from './stats';

/** A system that serves the seed's route: POST /send-notification?email=, and a count of notifications it has finished. */
export interface SeedTarget {
  name: string;
  baseUrl: string;
  headers?: Record<string, string>;
  /** How many notifications the system has finished so far (its own count, read over HTTP). */
  finished(): Promise<number>;
  /** The system's processes (each with all it starts), for its CPU time per task. */
  pids?: number[];
}

export interface SeedReport {
  name: string;
  accepted: number;
  rejected: number;
  /** Round trip of the POST, as the client sees it. */
  acceptMs: { p50: number; p95: number };
  /** Accepted notifications per second, from the first POST to the last one finished. */
  tasksPerSecond: number;
  wallMs: number;
  /** CPU time of the system's processes per accepted notification, where /proc tells it. */
  cpuMsPerTask?: number;
}

/**
 * The one load driver for every system compared: `count` POST
 * /send-notification with `inFlight` in flight over keep-alive connections,
 * then waits until the system says all of them are finished. The same client
 * for all, so the figures differ only by the system.
 */
export async function driveSeed(target: SeedTarget, options: { count: number; inFlight: number; timeoutMs?: number }): Promise<SeedReport> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.inFlight });
  const before = await target.finished();
  const cpuBefore = target.pids ? processTreeCpuMs(target.pids) : 0;
  const latencies: number[] = [];
  let rejected = 0;
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: options.inFlight }, async () => {
      while (next < options.count) {
        const i = next++;
        const sentAt = performance.now();
        const status = await post(agent, `${target.baseUrl}/send-notification?email=seed${i}%40example.com`, target.headers ?? {}).catch(() => 0);
        latencies.push(performance.now() - sentAt);
        if (status < 200 || status >= 300) rejected++;
      }
    }),
  );
  const accepted = options.count - rejected;
  const deadline = Date.now() + (options.timeoutMs ?? 300_000);
  let done = 0;
  let progressAt = Date.now();
  // Gives up at the deadline, or after 30 s without one more finished (a system that stopped working).
  while (done < accepted && Date.now() < deadline && Date.now() - progressAt < 30_000) {
    const now = (await target.finished()) - before;
    if (now > done) progressAt = Date.now();
    done = now;
    if (done < accepted) await new Promise((r) => setTimeout(r, 100));
  }
  const wallMs = performance.now() - started;
  const cpuMs = target.pids ? processTreeCpuMs(target.pids) - cpuBefore : 0;
  agent.destroy();
  if (done < accepted) throw new Error(`${target.name}: ${accepted - done} of ${accepted} notifications not finished in time`);
  const p = percentiles(latencies);
  return { name: target.name, accepted, rejected, acceptMs: { p50: p.p50, p95: p.p95 }, tasksPerSecond: (accepted / wallMs) * 1000, wallMs, ...(cpuMs > 0 ? { cpuMsPerTask: cpuMs / accepted } : {}) };
}

function post(agent: Agent, url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': '0' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET a JSON document (for the systems' counts). */
export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<T> {
  const res = await fetch(url, { headers });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return (await res.json()) as T;
}
