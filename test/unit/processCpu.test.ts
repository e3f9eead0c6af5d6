import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { processTreeCpuMs } from '../../bench/processCpu';

/** Burns `ms` of its own CPU time, says so, then idles until killed. */
const burner = (ms: number) => `while (process.cpuUsage().user < ${ms * 1000}); console.log('burnt'); setInterval(() => {}, 1000);`;

const started: ChildProcess[] = [];
afterEach(() => {
  // Each in a process group of its own: the group goes, grandchild included.
  for (const p of started.splice(0)) process.kill(-p.pid!, 'SIGKILL');
});

/** Resolves once `p` has printed 'burnt' `times` times (its own and its children's lines). */
function burnt(p: ChildProcess, times: number): Promise<void> {
  return new Promise((resolve) => {
    let seen = 0;
    p.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString().split('burnt').length - 1;
      if (seen >= times) resolve();
    });
  });
}

describe('processTreeCpuMs', () => {
  it('counts a process and the processes it started, and nothing outside the tree', async () => {
    // A child that starts a grandchild; each burns 300 ms of CPU.
    const child = spawn(process.execPath, ['-e', `require('node:child_process').spawn(process.execPath, ['-e', ${JSON.stringify(burner(300))}], { stdio: 'inherit' }); ${burner(300)}`], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore', detached: true });
    started.push(child, idle);
    await burnt(child, 2);

    expect(processTreeCpuMs([child.pid!])).toBeGreaterThanOrEqual(600);
    expect(processTreeCpuMs([idle.pid!])).toBeLessThan(300);
    // Every root counts: read after the two apart (times only grow), the pair has at least their sum.
    const [alone, idleAlone] = [processTreeCpuMs([child.pid!]), processTreeCpuMs([idle.pid!])];
    expect(idleAlone).toBeGreaterThan(0);
    expect(processTreeCpuMs([child.pid!, idle.pid!])).toBeGreaterThanOrEqual(alone + idleAlone);
  });

  it('is 0 for a process that is not there', () => {
    expect(processTreeCpuMs([2 ** 22 + 1])).toBe(0);
  });
});
