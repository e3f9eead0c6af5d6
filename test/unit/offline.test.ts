import { describe, expect, it } from 'vitest';
import { capEnvironments, quietRequestLines, type PluginLog } from '../../lib/local/offline';

/**
 * A stand-in for serverless-offline's Lambda with its pool's rule: an idle
 * environment is reused, otherwise a new one is made. It records how many
 * environments exist and run at once, and what each invocation ran with.
 */
function fakeOffline(runMs = 20) {
  const environments: FakeEnvironment[] = [];
  const stats = { running: 0, peakRunning: 0, ran: [] as Array<{ env: number; event: unknown; clientContext: unknown }> };
  class FakeEnvironment {
    status: 'IDLE' | 'BUSY' = 'IDLE';
    event: unknown;
    clientContext: unknown;
    constructor(readonly id: number) {}
    setEvent(event: unknown) {
      this.event = event;
    }
    setClientContext(context: unknown) {
      this.clientContext = context;
    }
    async runHandler() {
      this.status = 'BUSY';
      stats.peakRunning = Math.max(stats.peakRunning, ++stats.running);
      const { event, clientContext } = this;
      await new Promise((r) => setTimeout(r, runMs));
      stats.ran.push({ env: this.id, event, clientContext });
      stats.running--;
      this.status = 'IDLE';
      if ((event as { fail?: boolean }).fail) throw new Error('handler failed');
      return { echo: event };
    }
  }
  class Lambda {
    get(functionKey: string) {
      void functionKey;
      const idle = environments.find((e) => e.status === 'IDLE');
      if (idle) return idle;
      const made = new FakeEnvironment(environments.length);
      environments.push(made);
      return made;
    }
  }
  return { Lambda, environments, stats };
}

describe('capEnvironments (serverless-offline environments per function)', () => {
  it('keeps at most the cap of environments, and every invocation runs with its own event', async () => {
    const offline = fakeOffline();
    const restore = capEnvironments(offline.Lambda, 2);
    const lambda = new offline.Lambda();
    const results = await Promise.all(
      Array.from({ length: 9 }, (_, i) => {
        const fn = lambda.get('api');
        fn.setEvent({ n: i });
        return fn.runHandler();
      }),
    );
    restore();
    expect(results).toEqual(Array.from({ length: 9 }, (_, i) => ({ echo: { n: i } })));
    expect(offline.environments).toHaveLength(2);
    expect(offline.stats.peakRunning).toBe(2);
    expect(offline.stats.ran.map((r) => (r.event as { n: number }).n).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('counts each function on its own', async () => {
    const offline = fakeOffline();
    const restore = capEnvironments(offline.Lambda, 1);
    const lambda = new offline.Lambda();
    let peak = 0;
    const run = (key: string) => {
      const fn = lambda.get(key);
      fn.setEvent({ key });
      return fn.runHandler().finally(() => (peak = Math.max(peak, offline.stats.peakRunning)));
    };
    await Promise.all([run('api'), run('worker')]);
    restore();
    expect(peak).toBe(2);
  });

  it('serves waiting invocations first come, first served, and frees the slot when a handler throws', async () => {
    const offline = fakeOffline(5);
    const restore = capEnvironments(offline.Lambda, 1);
    const lambda = new offline.Lambda();
    const invoke = (event: object) => {
      const fn = lambda.get('api');
      fn.setEvent(event);
      return fn.runHandler();
    };
    const outcomes = await Promise.allSettled([invoke({ n: 0, fail: true }), invoke({ n: 1 }), invoke({ n: 2 })]);
    restore();
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(offline.stats.ran.map((r) => (r.event as { n: number }).n)).toEqual([0, 1, 2]);
  });

  it('leaves the functions it is told to as offline runs them: an environment per concurrent invocation', async () => {
    const offline = fakeOffline();
    const restore = capEnvironments(offline.Lambda, 1, ['worker']);
    const lambda = new offline.Lambda();
    const run = (key: string) => {
      const fn = lambda.get(key);
      fn.setEvent({ key });
      return fn.runHandler();
    };
    await Promise.all([run('worker'), run('worker'), run('worker')]);
    expect(offline.stats.peakRunning).toBe(3);
    await Promise.all([run('api'), run('api'), run('api')]);
    restore();
    expect(offline.environments).toHaveLength(3);
    expect(offline.stats.ran.filter((r) => (r.event as { key: string }).key === 'api').map((r) => r.env)).toEqual([0, 0, 0]);
  });

  it('passes the client context along, and the restore function puts offline back as it was', async () => {
    const offline = fakeOffline(1);
    const original = offline.Lambda.prototype.get;
    const restore = capEnvironments(offline.Lambda, 1);
    expect(offline.Lambda.prototype.get).not.toBe(original);
    const fn = new offline.Lambda().get('worker');
    fn.setClientContext({ custom: 1 });
    fn.setEvent({ n: 1 });
    await fn.runHandler();
    restore();
    expect(offline.Lambda.prototype.get).toBe(original);
    expect(offline.stats.ran[0]!.clientContext).toEqual({ custom: 1 });
  });
});

describe('quietRequestLines (serverless-offline log)', () => {
  function recordingLog() {
    const lines: Array<[keyof PluginLog, unknown[]]> = [];
    const at = (level: keyof PluginLog) => (...args: unknown[]) => void lines.push([level, args]);
    const log: PluginLog = { debug: at('debug'), info: at('info'), notice: at('notice'), verbose: at('verbose'), warning: at('warning'), error: at('error') };
    return { log, lines };
  }

  it('moves the per-request and per-invocation lines, and blank ones, to verbose; keeps every other line where it was', () => {
    const { log, lines } = recordingLog();
    const quiet = quietRequestLines(log);
    quiet.notice();
    quiet.notice('POST /send-notification (λ: api)');
    quiet.notice('ANY /tasks/01ABC (λ: api)');
    quiet.notice('(λ: worker) RequestId: 8e43cb7a  Duration: 309.18 ms  Billed Duration: 310 ms');
    quiet.notice('Server ready: http://localhost:3000 🚀');
    quiet.notice('Offline [http for lambda] listening on http://localhost:3002');
    quiet.warning('(λ: api) RequestId: kept as a warning');
    quiet.error('boom');
    quiet.debug('d');
    quiet.info('i');
    quiet.verbose('v');
    expect(lines).toEqual([
      ['verbose', []],
      ['verbose', ['POST /send-notification (λ: api)']],
      ['verbose', ['ANY /tasks/01ABC (λ: api)']],
      ['verbose', ['(λ: worker) RequestId: 8e43cb7a  Duration: 309.18 ms  Billed Duration: 310 ms']],
      ['notice', ['Server ready: http://localhost:3000 🚀']],
      ['notice', ['Offline [http for lambda] listening on http://localhost:3002']],
      ['warning', ['(λ: api) RequestId: kept as a warning']],
      ['error', ['boom']],
      ['debug', ['d']],
      ['info', ['i']],
      ['verbose', ['v']],
    ]);
  });
});
