import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import esbuildPlugins from '../../lib/build/esbuildPlugins.cjs';
import { tracingEnabled } from '../../lib/build/tracingSetup.cjs';

const ROOT = join(__dirname, '../..');

/** The register module bundled as a function's first import is, with the plugin deciding. */
async function bundleRegister(enabled: boolean): Promise<string> {
  const out = await build({
    stdin: { contents: "import './lib/tracing/setup/register';", resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'cjs',
    mainFields: ['module', 'main'],
    plugins: esbuildPlugins(undefined, { tracing: enabled }),
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

describe('whether the Lambda bundles carry the OpenTelemetry SDK', () => {
  it('follows the stage’s TRACING, and LOCAL_TRACES under npm start only', () => {
    const stage = (TRACING?: unknown, commands = ['package']) => ({ service: { provider: { environment: TRACING === undefined ? {} : { TRACING } } }, processedInput: { commands } });
    expect(tracingEnabled(stage('xray'), {})).toBe(true);
    expect(tracingEnabled(stage(' XRAY '), {})).toBe(true);
    expect(tracingEnabled(stage('off'), {})).toBe(false);
    expect(tracingEnabled(stage(), {})).toBe(false);
    expect(tracingEnabled(undefined, {})).toBe(false);
    expect(tracingEnabled(stage('off', ['offline', 'start']), { LOCAL_TRACES: 'console' })).toBe(true);
    expect(tracingEnabled(stage('off', ['offline', 'start']), { LOCAL_TRACES: 'off' })).toBe(false);
    expect(tracingEnabled(stage('off', ['offline', 'start']), { LOCAL_TRACES: ' ' })).toBe(false);
    // A deploy from a shell that happens to have LOCAL_TRACES set ships no SDK.
    expect(tracingEnabled(stage('off', ['deploy']), { LOCAL_TRACES: 'console' })).toBe(false);
  });

  it('bundles the SDK set-up only when on: off, the module is empty', async () => {
    const off = await bundleRegister(false);
    const on = await bundleRegister(true);

    expect(off).not.toContain('T1S');
    expect(off).not.toContain('BasicTracerProvider');
    expect(off.length).toBeLessThan(1_000);
    expect(on).toContain('{"format":"json","version":1}\\nT1S');
    expect(on.length).toBeGreaterThan(50_000);
  });

  it('is one of the plugins serverless-esbuild gets, decided from the Serverless instance', () => {
    expect(esbuildPlugins(undefined).map((p) => p.name)).toEqual(['trim-zod', 'dashboard-client', 'openapi-document', 'tracing-setup']);
  });
});
