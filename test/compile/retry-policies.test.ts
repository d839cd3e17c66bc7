// compileRetryPolicies: one record per distinct policy, each route's record in the route
// table's order, Istio's default for a route without one, the record layout the core reads,
// the values a record cannot hold refused with the route named, and the bytes loaded as the
// data path loads them.
import { describe, test, expect } from 'vitest';
import { compileRetryPolicies, encodeRetryPolicy } from '../../host/compile/retry-policies.js';
import { RouteCompileError } from '../../host/compile/route-compile-error.js';
import { RetryPolicies, RETRY_ON, RETRY_POLICY_MAGIC, RETRY_POLICY_SIZE } from '../../host/core/upstream/retry.js';
import { istioDefaultRetryPolicy } from '../../host/model/istio-defaults.js';
import type { RetryPolicySpec } from '../../host/model/retry-policy.js';
import { mesh, vhost, route, core } from '../helpers/route-table-builder.js';

const u32 = (b: Uint8Array, off: number) => new DataView(b.buffer, b.byteOffset).getUint32(off, true);
const spec = (over: Partial<RetryPolicySpec> = {}): RetryPolicySpec => ({
  retries: 3, retryOn: ['5xx', 'retriable-status-codes'], retriableStatusCodes: [409, 429], perTryTimeoutMs: 2000, backoffBaseMs: 100, backoffMaxMs: 1000, ...over,
});
const withRetry = (name: string, retry?: RetryPolicySpec) => ({ ...route(name), ...(retry ? { retry } : {}) });
/** A record keeps retryOn as bits: it reads back in bit order. */
const unordered = (s: RetryPolicySpec) => ({ ...s, retryOn: [...s.retryOn].sort() });

describe('compileRetryPolicies', () => {
  test('identical policies share a record; routes map to theirs in route-table order across virtual hosts', () => {
    const m = mesh([
      vhost('a', ['a'], [withRetry('ns/a/0'), withRetry('ns/a/1', spec()), withRetry('ns/a/2', spec({ retries: 1 }))]),
      vhost('b', ['b'], [withRetry('ns/b/0', spec()), withRetry('ns/b/1'), withRetry('ns/b/2', istioDefaultRetryPolicy())]),
    ]);
    const c = compileRetryPolicies(m);
    expect(c.records.length).toBe(3 * RETRY_POLICY_SIZE);
    // The absent retry and the explicit Istio default are the same record.
    expect([...c.routeRecord]).toEqual([0, 1, 2, 1, 0, 0]);
  });

  test("a route without retry gets Istio's default policy", () => {
    const c = compileRetryPolicies(mesh([vhost('a', ['a'], [withRetry('ns/a/0')])]));
    expect(c.records).toEqual(encodeRetryPolicy(istioDefaultRetryPolicy(), 'x'));
    const loaded = RetryPolicies.load(core(), c.records);
    expect(unordered(loaded.at(0).spec)).toEqual(unordered(istioDefaultRetryPolicy()));
    loaded.free();
  });

  test('no routes: no records, and the core loads the empty set', () => {
    const c = compileRetryPolicies(mesh([]));
    expect(c.records.length).toBe(0);
    expect(c.routeRecord.length).toBe(0);
    const loaded = RetryPolicies.load(core(), c.records);
    expect(loaded.count).toBe(0);
    loaded.free();
  });
});

describe('encodeRetryPolicy', () => {
  test('the record layout of assembly/upstream/retry.ts', () => {
    const r = encodeRetryPolicy(spec(), 'ns/a/0');
    expect(r.length).toBe(RETRY_POLICY_SIZE);
    expect(u32(r, 0)).toBe(RETRY_POLICY_MAGIC);
    expect(u32(r, 4)).toBe(3);
    expect(u32(r, 8)).toBe(RETRY_ON['5xx'] | RETRY_ON['retriable-status-codes']);
    expect([u32(r, 12), u32(r, 16), u32(r, 20), u32(r, 24), u32(r, 28)]).toEqual([2000, 100, 1000, 2, 0]);
    expect([u32(r, 32), u32(r, 36), u32(r, 40)]).toEqual([409, 429, 0]);
  });

  test('loaded by the core, a record reads back as the policy it was compiled from', () => {
    const s = spec({ retryOn: ['gateway-error', 'reset', 'cancelled', 'internal'] });
    const loaded = RetryPolicies.load(core(), encodeRetryPolicy(s, 'ns/a/0'));
    expect(unordered(loaded.at(0).spec)).toEqual(unordered(s));
    loaded.free();
  });

  test('values a record cannot hold are refused with the route and the field', () => {
    const err = (s: RetryPolicySpec): RouteCompileError => {
      try {
        encodeRetryPolicy(s, 'ns/web/0');
      } catch (e) {
        expect(e).toBeInstanceOf(RouteCompileError);
        return e as RouteCompileError;
      }
      throw new Error('expected a RouteCompileError');
    };
    const many = err(spec({ retriableStatusCodes: Array.from({ length: 17 }, (_, i) => 400 + i) }));
    expect(many).toMatchObject({ code: 'invalid_retry_policy', where: 'ns/web/0', field: 'retry.retriableStatusCodes' });
    expect(many.message).toContain('route ns/web/0');
    expect(err(spec({ perTryTimeoutMs: 2 ** 32 }))).toMatchObject({ code: 'invalid_retry_policy', field: 'retry.perTryTimeoutMs' });
    expect(err(spec({ retries: -1 }))).toMatchObject({ field: 'retry.retries' });
    expect(err(spec({ retriableStatusCodes: [503, 1.5] }))).toMatchObject({ field: 'retry.retriableStatusCodes[1]' });
  });

  test('a record the core refuses fails the load with its code, and frees what was copied', () => {
    const good = encodeRetryPolicy(spec(), 'ns/a/0');
    const bad = encodeRetryPolicy(spec({ backoffBaseMs: 0 }), 'ns/a/1');
    const both = new Uint8Array(2 * RETRY_POLICY_SIZE);
    both.set(good, 0);
    both.set(bad, RETRY_POLICY_SIZE);
    expect(() => RetryPolicies.load(core(), both)).toThrow(expect.objectContaining({ code: 'bad_value', message: expect.stringContaining('record 1') }));
    expect(() => RetryPolicies.load(core(), good.subarray(0, RETRY_POLICY_SIZE - 4))).toThrow(expect.objectContaining({ code: 'bad_value' }));
  });
});
