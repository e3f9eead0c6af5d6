import { loggableError } from '../taskError';
import type { Engine } from '../engine';
import { nextCronRun, parseCron, type CronSchedule } from './cron';
import { nextRateRun, parseEvery, type Rate } from './every';
import { scheduleStates } from './scheduleStore';
import { fireDueTimers } from './tableTimers';
import { SCHEDULED_TIME } from './tick';

/**
 * EventBridge Scheduler for `npm start`, which has none: it runs the
 * template's AWS::Scheduler::Schedule resources (made from the task
 * definitions, lib/build/schedules.cjs) with the same cron semantics and time
 * zones, sending each tick to its queue as Scheduler would; and it fires the
 * task timers kept in the table (tableTimers.ts) once a second. Timers live in
 * the table, so a restart loses none, and one that came due while the stack
 * was down fires at start. Recurring ticks missed while it was down are not
 * made up (nor are they on AWS, where the schedules never stop); a rate runs
 * on from its last tick, as a deployed one does.
 */
export interface LocalSchedule {
  /** The task it enqueues (from the tick it sends). */
  name: string;
  expression: string;
  timezone: string;
  queueUrl: string;
  /** The message, with `<aws.scheduler.scheduled-time>` where the tick's time goes. */
  input: string;
  when: { cron: CronSchedule } | { rate: Rate };
}

/** What the resources of one schedule look like once serverless.yml is read (after the plugin added them). */
interface ScheduleResource {
  Type: string;
  Properties?: { ScheduleExpression?: string; ScheduleExpressionTimezone?: string; State?: string; Target?: { Arn?: unknown; Input?: string } };
}

/**
 * The template's enabled schedules, each with the local URL of its target
 * queue (`queueUrlOf` maps the ARN that `resolve` makes of `Target.Arn`).
 */
export function localSchedules(resources: Record<string, ScheduleResource>, resolve: (value: unknown) => unknown, queueUrlOf: (arn: string) => string | undefined): LocalSchedule[] {
  const schedules: LocalSchedule[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type !== 'AWS::Scheduler::Schedule' || resource.Properties?.State === 'DISABLED') continue;
    const { ScheduleExpression: expression = '', ScheduleExpressionTimezone: timezone = 'UTC', Target } = resource.Properties ?? {};
    const queueUrl = queueUrlOf(String(resolve(Target?.Arn)));
    const input = Target?.Input ?? '';
    const m = /^(cron|rate)\((.*)\)$/.exec(expression);
    if (!m || !queueUrl) throw new Error(`Schedule ${id}: only cron() and rate() schedules sending to a queue of serverless.yml run locally`);
    const name = (JSON.parse(input.replace(SCHEDULED_TIME, '1970-01-01T00:00:00Z')) as { tick?: string }).tick ?? id;
    schedules.push({ name, expression, timezone, queueUrl, input, when: m[1] === 'cron' ? { cron: parseCron(m[2]!) } : { rate: parseEvery(m[2]!) } });
  }
  return schedules;
}

/** How often the table's timers are looked at: a task due more than 15 minutes ahead starts within about this of its runAt. */
const TIMER_POLL_MS = 1_000;
/** setTimeout's longest wait is about 24.8 days: longer waits are taken in steps. */
const MAX_WAIT_MS = 2 ** 31 - 1;
/** A tick SQS refused is sent again this often, for up to a day (Scheduler's own retry window). */
const RETRY_MS = 5_000;

export interface SchedulerLog {
  notice(message: string): void;
  warning(message: string): void;
}

export class LocalScheduler {
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;
  private polling?: Promise<void>;
  private pollFailing = false;
  /** Each schedule's next tick, epoch ms (undefined: none to come). */
  readonly nextRuns = new Map<string, number | undefined>();

  constructor(
    private readonly engine: Engine,
    readonly schedules: LocalSchedule[],
    private readonly send: (queueUrl: string, body: string) => Promise<void>,
    private readonly log: SchedulerLog,
    private readonly now: () => number = Date.now,
  ) {}

  /** Arms every schedule (a rate from its last run in the table, or at once) and starts polling the timers, the first time now. */
  async start(): Promise<void> {
    const states = this.schedules.some((s) => 'rate' in s.when) ? await scheduleStates(this.engine.store).catch(() => new Map()) : new Map();
    const now = this.now();
    for (const schedule of this.schedules) {
      const last = states.get(schedule.name)?.lastRunAt as string | undefined;
      const next = 'cron' in schedule.when ? nextCronRun(schedule.when.cron, schedule.timezone, now) : last === undefined ? now : nextRateRun(schedule.when.rate, Date.parse(last), now);
      this.arm(schedule, next);
    }
    await this.pollTimers();
    const interval = setInterval(() => void this.pollTimers(), TIMER_POLL_MS);
    this.timers.add(interval);
  }

  /** Stops ticking and polling; resolves once a poll in progress has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await this.polling;
  }

  private arm(schedule: LocalSchedule, at: number | undefined): void {
    this.nextRuns.set(schedule.name, at);
    if (at === undefined || this.stopped) return;
    const wait = at - this.now();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (wait > MAX_WAIT_MS) this.arm(schedule, at);
      else void this.tick(schedule, at);
    }, Math.max(0, Math.min(wait, MAX_WAIT_MS)));
    this.timers.add(timer);
  }

  /** Sends the tick due at `at` (tried again for a day if SQS refuses it), and arms the next one. */
  private async tick(schedule: LocalSchedule, at: number): Promise<void> {
    const next = 'cron' in schedule.when ? nextCronRun(schedule.when.cron, schedule.timezone, at) : nextRateRun(schedule.when.rate, at, at);
    this.arm(schedule, next);
    // EventBridge's form: UTC, to the second.
    const body = schedule.input.split(SCHEDULED_TIME).join(new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z'));
    for (let tries = 0; !this.stopped; tries++) {
      try {
        await this.send(schedule.queueUrl, body);
        return;
      } catch (error) {
        if (tries * RETRY_MS > 86_400_000) return this.log.warning(`schedule ${schedule.name}: tick of ${new Date(at).toISOString()} dropped after a day of failed sends`);
        if (tries === 0) this.log.warning(`schedule ${schedule.name}: cannot send its tick (${(error as Error).message}); trying again`);
        await new Promise((r) => setTimeout(r, RETRY_MS));
      }
    }
  }

  private async pollTimers(): Promise<void> {
    if (this.stopped || this.polling) return;
    this.polling = fireDueTimers(this.engine.store, this.engine.queue, this.now())
      .then(() => {
        if (this.pollFailing) this.log.notice('timers: polling the table again');
        this.pollFailing = false;
      })
      .catch((error: unknown) => {
        if (!this.pollFailing) this.log.warning(`timers: cannot send the tasks due now (${String(loggableError(error).message)}); retrying`);
        this.pollFailing = true;
      })
      .finally(() => (this.polling = undefined));
    await this.polling;
  }
}
