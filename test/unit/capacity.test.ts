import { describe, expect, it } from 'vitest';
import { itemSize, writeCost, type TableSchema } from '../support/capacity';

/** The meter the cost tests and the bench rely on, against DynamoDB's documented rules. */
const table: TableSchema = { name: 't', keys: ['pk', 'sk'], indexes: [{ name: 'i', keys: ['g'], projection: ['p'] }] };

describe('item size, by DynamoDB’s rules', () => {
  it('counts names and values: strings in UTF-8, numbers by significant digits, lists and maps with their overhead', () => {
    expect(itemSize({ a: { S: 'abc' } })).toBe(1 + 3);
    expect(itemSize({ é: { S: '€' } })).toBe(2 + 3);
    // 12345 significant digits: ceil(5 / 2) + 1.
    expect(itemSize({ n: { N: '-123.450' } })).toBe(1 + 4);
    expect(itemSize({ b: { BOOL: true }, z: { NULL: true } })).toBe(2 + 2);
    // 3 bytes of overhead, 1 per element, plus the elements (and their names in a map).
    expect(itemSize({ l: { L: [{ S: 'x' }, { S: 'yy' }] } })).toBe(1 + 3 + (1 + 1) + (1 + 2));
    expect(itemSize({ m: { M: { k: { S: 'v' } } } })).toBe(1 + 3 + (1 + 1 + 1));
  });
});

describe('write cost', () => {
  const small = { pk: { S: 'p' }, sk: { S: 's' } };

  it('bills an update on the larger of the item before and after, one unit per KB', () => {
    const big = { ...small, data: { S: 'x'.repeat(3000) } };
    expect(writeCost(table, undefined, small)).toEqual({ tableUnits: 1, indexUnits: 0 });
    expect(writeCost(table, big, small)).toEqual({ tableUnits: 3, indexUnits: 0 });
    expect(writeCost(table, small, big)).toEqual({ tableUnits: 3, indexUnits: 0 });
  });

  it('bills an index entry put, moved (delete and put), changed, or left alone', () => {
    const inIndex = { ...small, g: { S: 'a' }, p: { S: '1' } };
    expect(writeCost(table, small, inIndex).indexUnits).toBe(1);
    expect(writeCost(table, inIndex, { ...inIndex, g: { S: 'b' } }).indexUnits).toBe(2);
    expect(writeCost(table, inIndex, { ...inIndex, p: { S: '2' } }).indexUnits).toBe(1);
    expect(writeCost(table, inIndex, { ...inIndex, other: { S: 'not projected' } }).indexUnits).toBe(0);
    expect(writeCost(table, inIndex, small).indexUnits).toBe(1);
  });
});
