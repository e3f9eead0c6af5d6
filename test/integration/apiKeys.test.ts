import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadApiKeys, LOCAL_DEV_KEY } from '../../lib/http/apiKeys';

/** A minimal SSM endpoint on the real wire protocol (JSON 1.1): GetParameter only, requests recorded. */
let ssm: Server;
let endpoint: string;
const requests: Array<{ target: string; body: { Name: string; WithDecryption?: boolean } }> = [];
const parameters: Record<string, string> = {};

beforeAll(async () => {
  ssm = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { Name: string; WithDecryption?: boolean };
      requests.push({ target: String(req.headers['x-amz-target']), body });
      const value = parameters[body.Name];
      res.setHeader('content-type', 'application/x-amz-json-1.1');
      if (value === undefined) {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: 'ParameterNotFound', message: `no ${body.Name}` }));
        return;
      }
      res.end(JSON.stringify({ Parameter: { Name: body.Name, Type: 'SecureString', Value: value, Version: 1 } }));
    });
  });
  await new Promise<void>((resolve) => ssm.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(ssm.address() as AddressInfo).port}`;
  process.env.AWS_ENDPOINT_URL_SSM = endpoint;
});
afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL_SSM;
  await new Promise((resolve) => ssm.close(resolve));
});

afterEach(() => {
  vi.useRealTimers();
});

describe('API keys', () => {
  it('reads a deployed stage’s keys from its SSM SecureString, decrypted, and caches them', async () => {
    parameters['/background-tasks/test/api-keys'] = 'key-one, key-two ,';
    const env = { API_KEY_PARAMETER: '/background-tasks/test/api-keys' };
    expect(await loadApiKeys(env)).toEqual(['key-one', 'key-two']);
    expect(await loadApiKeys(env)).toEqual(['key-one', 'key-two']);
    expect(requests).toEqual([{ target: 'AmazonSSM.GetParameter', body: { Name: '/background-tasks/test/api-keys', WithDecryption: true } }]);
  });

  it('keeps them for five minutes, then reads them again, so a rotated key takes effect without a deploy', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const name = '/background-tasks/rotate/api-keys';
    const env = { API_KEY_PARAMETER: name };
    const reads = () => requests.filter((r) => r.body.Name === name).length;
    parameters[name] = 'old-key';
    expect(await loadApiKeys(env)).toEqual(['old-key']);
    parameters[name] = 'new-key';

    vi.advanceTimersByTime(299_000);
    expect(await loadApiKeys(env)).toEqual(['old-key']);
    vi.advanceTimersByTime(2_000);
    expect(await loadApiKeys(env)).toEqual(['new-key']);
    expect(reads()).toBe(2);
  });

  it('fails (so the api answers 503) when the parameter does not exist yet, and reads it once it does', async () => {
    const name = '/background-tasks/test/missing';
    await expect(loadApiKeys({ API_KEY_PARAMETER: name })).rejects.toThrow();
    parameters[name] = 'late-key';
    expect(await loadApiKeys({ API_KEY_PARAMETER: name })).toEqual(['late-key']);
  });

  it('ignores the parameter under serverless-offline, where there is no SSM', async () => {
    const before = requests.length;
    expect(await loadApiKeys({ API_KEY_PARAMETER: '/background-tasks/dev/api-keys', IS_OFFLINE: 'true' })).toEqual([LOCAL_DEV_KEY]);
    expect(await loadApiKeys({ API_KEY_PARAMETER: '/background-tasks/dev/api-keys', IS_OFFLINE: 'true', API_KEY: 'mine' })).toEqual(['mine']);
    expect(requests.length).toBe(before);
  });

  it('has no key at all outside serverless-offline when nothing is configured', async () => {
    expect(await loadApiKeys({})).toEqual([]);
  });
});
