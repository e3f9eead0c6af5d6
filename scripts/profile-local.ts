/**
 * `npm run profile:local [-- --count 1000 --in-flight 20]`: where the local
 * stack's CPU goes under the seed load. Runs the stack as `npm start` does, but
 * under `node --cpu-prof` (NODE_OPTIONS refuses that flag), with source maps
 * beside the handler bundles so that code bundled into a handler is counted
 * under its package; drives bench/seedLoad.ts's load; stops the stack
 * gracefully so every thread writes its profile. Writes the profiles (open
 * them in Chrome DevTools' Performance tab) and summary.json to
 * reports/profile/, and prints busy time per thread and by origin.
 * `--by-file` breaks origins down to the file within each package.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_KEY, copyCheckout, startStack } from '../test/support/stack';
import { grouped, sourceMapsBeside, summarise, type CpuProfile, type ThreadSummary } from '../bench/profile';
import { driveSeed, getJson } from '../bench/seedLoad';

const OUT = join(__dirname, '..', 'reports', 'profile');

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

async function main(): Promise<void> {
  const count = arg('count', 1000);
  const inFlight = arg('in-flight', 20);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  const checkout = copyCheckout();
  try {
    withSourceMaps(join(checkout.dir, 'serverless.yml'));
    const stack = await startStack(
      checkout.dir,
      { LOCAL_DIR: join(checkout.dir, '.local'), LOCAL_FRESH: '1', POWERTOOLS_METRICS_DISABLED: 'true' },
      { command: [process.execPath, '--cpu-prof', `--cpu-prof-dir=${OUT}`, 'node_modules/serverless/bin/serverless.js', 'offline', 'start'] },
    );
    const headers = { 'x-api-key': API_KEY };
    const finished = async () => (await getJson<{ totals: { succeeded: number } }>(`${stack.url}/stats`, headers)).totals.succeeded;
    // A short warm-up, so that the profile shows the steady state rather than bundling and first loads.
    await driveSeed({ name: 'warm-up', baseUrl: stack.url, headers, finished }, { count: 100, inFlight });
    const load = await driveSeed({ name: 'npm start', baseUrl: stack.url, headers, finished }, { count, inFlight });
    stack.signalServer('SIGTERM');
    await stack.exited;
    await stack.closed;
    const threads = readProfiles(checkout.dir);
    const tasks = count + 100;
    const summary = { date: new Date().toISOString(), load, tasksProfiled: tasks, threads, groups: grouped(threads) };
    writeFileSync(join(OUT, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    console.log(report(summary.load, tasks, threads));
    console.log(`\nProfiles and summary.json in ${OUT}`);
  } finally {
    checkout.remove();
  }
}

/** The copy's bundles get source maps (a separate .map beside each, not referenced from the code). */
function withSourceMaps(serverlessYml: string): void {
  const text = readFileSync(serverlessYml, 'utf8');
  const patched = text.replace(/^(\s+)sourcemap: false$/m, '$1sourcemap: external');
  if (patched === text) throw new Error('serverless.yml has no `sourcemap: false` under custom.esbuild: update scripts/profile-local.ts');
  writeFileSync(serverlessYml, patched);
}

function readProfiles(checkoutDir: string): ThreadSummary[] {
  const maps = sourceMapsBeside();
  const files = readdirSync(OUT).filter((f) => f.endsWith('.cpuprofile'));
  // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile
  const pids = [...new Set(files.map((f) => f.split('.')[3]!))];
  return files
    .map((file) => {
      const [, , , pid, thread] = file.split('.');
      const profile = JSON.parse(readFileSync(join(OUT, file), 'utf8')) as CpuProfile;
      const urls = new Set(profile.nodes.map((n) => n.callFrame.url));
      const bundle = [...urls].find((u) => u.includes(`${checkoutDir}/.esbuild/`));
      const label = bundle
        ? `handler thread: ${bundle.split('/').pop()}`
        : [...urls].some((u) => u.endsWith('emulators.cjs'))
          ? 'emulators (SQS, DynamoDB)'
          : thread === '0'
            ? `serverless process${pids.length > 1 ? ` (pid ${pid})` : ''}`
            : `thread ${thread} of pid ${pid}`;
      return summarise(profile, label, maps, process.argv.includes('--by-file'));
    })
    .filter((s) => s.busyMs > 50)
    .sort((a, b) => b.busyMs - a.busyMs);
}

function report(load: Awaited<ReturnType<typeof driveSeed>>, tasks: number, threads: ThreadSummary[]): string {
  const busy = threads.reduce((sum, t) => sum + t.busyMs, 0);
  const lines = [
    `Seed load: ${load.accepted} tasks, ${load.tasksPerSecond.toFixed(0)} tasks/s, accept p50 ${load.acceptMs.p50.toFixed(1)} ms, p95 ${load.acceptMs.p95.toFixed(1)} ms`,
    `CPU: ${busy.toFixed(0)} ms busy over ${tasks} tasks (with warm-up) = ${(busy / tasks).toFixed(2)} ms per task`,
    '',
    'By thread:',
    ...threads.map((t) => `  ${t.label.padEnd(40)} ${t.busyMs.toFixed(0).padStart(7)} ms  ${((100 * t.busyMs) / busy).toFixed(1).padStart(5)}%`),
    '',
    'By group (all threads):',
    ...grouped(threads).map((g) => `  ${g.group.padEnd(40)} ${g.ms.toFixed(0).padStart(7)} ms  ${(100 * g.share).toFixed(1).padStart(5)}%`),
  ];
  for (const t of threads) {
    lines.push('', `${t.label}: top origins`);
    for (const o of t.byOrigin.slice(0, 12)) lines.push(`  ${o.origin.padEnd(40)} ${o.ms.toFixed(0).padStart(7)} ms  ${(100 * o.share).toFixed(1).padStart(5)}%`);
  }
  return lines.join('\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
