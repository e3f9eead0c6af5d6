import { build } from 'esbuild';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CLIENT = join(__dirname, '../../lib/client');

describe('lib/client', () => {
  it('imports the engine for its types only, and nothing else from outside', () => {
    const outside: string[] = [];
    for (const file of readdirSync(CLIENT)) {
      const source = readFileSync(join(CLIENT, file), 'utf8');
      for (const [line] of source.matchAll(/^(?:import|export)\b[^;]*\bfrom '([^']+)';$/gm)) {
        const from = /from '([^']+)'/.exec(line)![1]!;
        if (from.startsWith('./')) continue;
        outside.push(from);
        expect(line, `${file}: ${line}`).toMatch(/^(import|export) type /);
      }
    }
    expect(outside).toEqual(expect.arrayContaining(['../task', '../http/errors']));
  });

  it('bundles for a browser with no Node module and no AWS SDK', async () => {
    const out = await build({ entryPoints: [join(CLIENT, 'index.ts')], bundle: true, write: false, platform: 'browser', format: 'esm', metafile: true, logLevel: 'silent' });

    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.every((i) => i.startsWith('lib/client/'))).toBe(true);
    expect(out.outputFiles[0]!.text).not.toMatch(/@aws-sdk|node:/);
  });
});
