import { describe, expect, it } from 'vitest';
import { daemonAddress, traceExportOf } from '../../lib/tracing/setup/settings';

describe('where a function’s spans go', () => {
  it('nowhere unless the environment asks', () => {
    expect(traceExportOf({})).toBeUndefined();
    expect(traceExportOf({ TRACING: 'off' })).toBeUndefined();
    expect(traceExportOf({ TRACING: ' OFF ', LOCAL_TRACES: 'off' })).toBeUndefined();
    expect(traceExportOf({ LOCAL_TRACES: '  ' })).toBeUndefined();
  });

  it('to the X-Ray daemon on a stage with tracing on, at the address Lambda gives', () => {
    expect(traceExportOf({ TRACING: 'xray', AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000' })).toEqual({ kind: 'xray', host: '169.254.79.129', port: 2000 });
    expect(traceExportOf({ TRACING: 'XRay' })).toEqual({ kind: 'xray', host: '127.0.0.1', port: 2000 });
    // The stage's setting wins over a local one.
    expect(traceExportOf({ TRACING: 'xray', LOCAL_TRACES: 'console' })).toMatchObject({ kind: 'xray' });
  });

  it('to the console or a file under npm start', () => {
    expect(traceExportOf({ TRACING: 'off', LOCAL_TRACES: 'console' })).toEqual({ kind: 'console' });
    expect(traceExportOf({ LOCAL_TRACES: '/tmp/traces.jsonl' })).toEqual({ kind: 'file', path: '/tmp/traces.jsonl' });
    expect(traceExportOf({ LOCAL_TRACES: 'traces.jsonl' })).toEqual({ kind: 'file', path: `${process.cwd()}/traces.jsonl` });
  });

  it('nowhere, with a warning, for a TRACING it does not know (the template refuses it first)', () => {
    const warnings: string[] = [];
    expect(traceExportOf({ TRACING: 'jaeger' }, (m) => warnings.push(m))).toBeUndefined();
    expect(warnings).toEqual(['TRACING="jaeger" is not one of off, xray: tracing stays off']);
  });

  it('reads the daemon’s address in both forms the X-Ray SDKs accept, and falls back with a warning', () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    expect(daemonAddress('127.0.0.1:3000', warn)).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(daemonAddress('tcp:127.0.0.1:2000 udp:127.0.0.2:2001', warn)).toEqual({ host: '127.0.0.2', port: 2001 });
    expect(daemonAddress('localhost:65535', warn)).toEqual({ host: 'localhost', port: 65535 });
    expect(daemonAddress(undefined, warn)).toEqual({ host: '127.0.0.1', port: 2000 });
    expect(daemonAddress(' ', warn)).toEqual({ host: '127.0.0.1', port: 2000 });
    expect(warnings).toEqual([]);
    expect(daemonAddress('nonsense', warn)).toEqual({ host: '127.0.0.1', port: 2000 });
    expect(daemonAddress('host:0', warn)).toEqual({ host: '127.0.0.1', port: 2000 });
    expect(daemonAddress('host:65536', warn)).toEqual({ host: '127.0.0.1', port: 2000 });
    expect(warnings).toEqual([
      'AWS_XRAY_DAEMON_ADDRESS="nonsense" is not host:port; spans go to 127.0.0.1:2000',
      'AWS_XRAY_DAEMON_ADDRESS="host:0" is not host:port; spans go to 127.0.0.1:2000',
      'AWS_XRAY_DAEMON_ADDRESS="host:65536" is not host:port; spans go to 127.0.0.1:2000',
    ]);
  });
});
