import { describe, expect, it } from 'vitest';
import { jsonBody, type ApiRequest } from '../../lib/http/request';

const req = (rawBody: string, contentType?: string): ApiRequest =>
  ({ method: 'POST', path: '/tasks', params: {}, query: {}, headers: contentType ? { 'content-type': contentType } : {}, rawBody }) as unknown as ApiRequest;

describe('jsonBody', () => {
  it('refuses JSON nested deeper than 32 levels without overflowing the stack', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(() => jsonBody(req(deep), 1e7)).toThrow(/nested deeper/);
    expect(jsonBody(req('{"a":[1,{"b":2}]}', 'application/json; charset=utf-8'), 1000)).toEqual({ a: [1, { b: 2 }] });
  });

  it('refuses other content types, an empty body and a body over the limit', () => {
    expect(() => jsonBody(req('{}', 'text/plain'), 100)).toThrow(/Content-Type/);
    expect(() => jsonBody(req('  '), 100)).toThrow(/empty/);
    expect(() => jsonBody(req('"xxxx"'), 5)).toThrow(/limit is 5/);
    expect(jsonBody(req('"xxx"'), 5)).toBe('xxx');
  });
});
