import { describe, expect, it } from 'vitest';
import { isTaskId } from '../../lib/keys';
import { double, sum, writeLog } from '../../lib/tasks/examples';
import { chain, group, isWorkflow, waitFor } from '../../lib/workflows/define';
import { checkSpec, specOfBody } from '../../lib/workflows/spec';
import { stepId } from '../../lib/workflows/stepIds';

describe('workflows: ids, definitions and their checks', () => {
  it('derives each step\'s task id from the workflow and the index: a ULID with the workflow\'s time, the same every time, another per step', () => {
    const workflowId = '01KBZ3NDEKTSV4RRFFQ69G5FAV';
    const ids = Array.from({ length: 1_001 }, (_, i) => stepId(workflowId, i));

    expect(ids.every(isTaskId)).toBe(true);
    expect(ids.every((id) => id.startsWith('01KBZ3NDEK'))).toBe(true);
    expect(new Set(ids).size).toBe(1_001);
    expect(stepId(workflowId, 7)).toBe(ids[7]);
    expect(stepId('01KBZ3NDEKTSV4RRFFQ69G5FAW', 7)).not.toBe(ids[7]);
  });

  it('builds a chain and a group from task definitions, with or without payloads', () => {
    expect(chain(double.with({ n: 1 }), double, waitFor('go', { timeoutSeconds: 60 }))['~workflow']).toEqual({
      kind: 'chain',
      steps: [{ name: 'double', payload: { n: 1 } }, { name: 'double' }, { waitFor: 'go', timeoutSeconds: 60 }],
    });
    expect(group([double.with({ n: 1 })], { then: sum })['~workflow']).toEqual({ kind: 'group', members: [{ name: 'double', payload: { n: 1 } }], then: { name: 'sum' }, allowFailures: false });
    expect(group([double.with({ n: 1 })], { allowFailures: true })['~workflow']).toEqual({ kind: 'group', members: [{ name: 'double', payload: { n: 1 } }], allowFailures: true });
    expect([isWorkflow(chain(double)), isWorkflow(double), isWorkflow(null)]).toEqual([true, false, false]);
    expect(chain(waitFor('go', { timeoutSeconds: 5, onTimeout: double.with({ n: 0 }) }))['~workflow']).toEqual({ kind: 'chain', steps: [{ waitFor: 'go', timeoutSeconds: 5, onTimeout: { name: 'double', payload: { n: 0 } } }] });
  });

  it('reads POST /workflows bodies: a chain or a group, nothing else', () => {
    expect(specOfBody({ chain: [{ name: 'double', payload: { n: 1 } }, { waitFor: 'go', timeoutSeconds: 5 }] })).toEqual({
      kind: 'chain',
      steps: [{ name: 'double', payload: { n: 1 } }, { waitFor: 'go', timeoutSeconds: 5 }],
    });
    expect(specOfBody({ group: [{ name: 'double', payload: { n: 1 } }], then: { name: 'sum' } })).toEqual({ kind: 'group', members: [{ name: 'double', payload: { n: 1 } }], then: { name: 'sum' }, allowFailures: false });
    for (const bad of [{}, { chain: [] }, { chain: [{ name: 'double' }], group: [] }, { group: [{ waitFor: 'x', timeoutSeconds: 1 }] }, { chain: [{ waitFor: 'x', timeoutSeconds: 0 }] }, { chain: Array.from({ length: 101 }, () => ({ name: 'double' })) }]) {
      expect(() => specOfBody(bad), JSON.stringify(bad).slice(0, 60)).toThrow(expect.objectContaining({ code: 'validation_error' }));
    }
    expect(() => specOfBody({ group: Array.from({ length: 1_001 }, () => ({ name: 'double', payload: { n: 1 } })) })).toThrow(expect.objectContaining({ code: 'validation_error' }));
    expect(() => specOfBody({ group: Array.from({ length: 1_000 }, () => ({ name: 'double', payload: { n: 1 } })) })).not.toThrow();
  });

  it('checks every task and every payload given before anything is written, and the size of the whole', () => {
    expect(() => checkSpec({ kind: 'chain', steps: [{ name: 'double', payload: { n: 1 } }, { name: 'write_log' }] })).not.toThrow();
    expect(() => checkSpec({ kind: 'chain', steps: [{ name: 'double', payload: { n: 1 } }, { name: 'nope' }] })).toThrow(expect.objectContaining({ code: 'unknown_task' }));
    expect(() => checkSpec({ kind: 'chain', steps: [{ name: 'double' }] })).toThrow(expect.objectContaining({ code: 'validation_error', message: expect.stringMatching(/^Step 0 \(double\): Payload does not match/) }));
    expect(() => checkSpec({ kind: 'chain', steps: [{ name: 'double', payload: { n: 1 } }, { name: 'write_log', payload: {} }] })).toThrow(expect.objectContaining({ message: expect.stringMatching(/^Step 1 \(write_log\)/) }));
    expect(() => checkSpec({ kind: 'group', members: [{ name: 'double' }], allowFailures: false })).toThrow(expect.objectContaining({ code: 'validation_error' }));
    expect(() => checkSpec({ kind: 'group', members: [{ name: 'double', payload: { n: 1 } }], then: { name: 'sum' }, allowFailures: false })).not.toThrow();
    expect(() => checkSpec({ kind: 'chain', steps: [{ name: 'workflow.wait', payload: { signal: 'x', timeoutSeconds: 1 } }] })).toThrow(expect.objectContaining({ code: 'unknown_task' }));
    // An onTimeout step without a payload gets {signal, timeoutSeconds}: double refuses that, before anything runs.
    expect(() => checkSpec({ kind: 'chain', steps: [{ waitFor: 'go', timeoutSeconds: 5, onTimeout: { name: 'double' } }] })).toThrow(expect.objectContaining({ code: 'validation_error' }));
    expect(() => checkSpec({ kind: 'chain', steps: [{ waitFor: 'go', timeoutSeconds: 5, onTimeout: { name: 'nope' } }] })).toThrow(expect.objectContaining({ code: 'unknown_task' }));
    expect(() => checkSpec({ kind: 'chain', steps: [{ waitFor: 'go', timeoutSeconds: 5, onTimeout: { name: 'double', payload: { n: 1 } } }] })).not.toThrow();
    const big = { kind: 'chain' as const, steps: [{ name: writeLog.name, payload: { message: 'x'.repeat(10_000) } }, ...Array.from({ length: 26 }, () => ({ name: writeLog.name, payload: { message: 'x'.repeat(10_000) } }))] };
    expect(() => checkSpec(big)).toThrow(expect.objectContaining({ code: 'payload_too_large' }));
  });
});
