// The consistent-hash fast path of the request path: pickKey(string) writes the key's bytes
// straight into the core (ASCII byte by byte, anything else through the encoder) and must pick
// exactly what the BigInt path pick(hashKey(key)) picks, for every retry attempt.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { HashBalancer, hashKey } from '../../../host/core/balance/hash-balancer.js';
import { balanceCore } from './balance-core.js';
import { wasmProperty } from '../../helpers/wasm-deadline.js';
import type { HashTableSpec } from '../../../host/model/hash-lb.js';

const core = balanceCore();
const endpoints = Array.from({ length: 7 }, (_, i) => ({ key: `10.0.0.${i}:8080`, weight: 1 + (i % 3) }));

const TABLES = [{ kind: 'ringHash', minimumRingSize: 1024, maximumRingSize: 8388608, stableRebuild: false }, { kind: 'maglev', tableSize: 65537 }] as const satisfies readonly HashTableSpec[];

// One property per table kind, run in a worker with a deadline per case (test/helpers/wasm-deadline.ts).
const anyKey = new Map(TABLES.map((table) => [table.kind, wasmProperty(import.meta.url, `${table.kind}: any key`, () => {
  const b = HashBalancer.build(core, endpoints, table);
  return [fc.string({ unit: 'binary', maxLength: 64 }), fc.integer({ min: 0, max: 5 }), (key: string, attempt: number) => {
    expect(b.pickKey(key, attempt)).toBe(b.pick(hashKey(core, key), attempt));
    expect(b.pickKey(key, attempt)).toBe(b.pickKey(new TextEncoder().encode(key), attempt));
  }];
})]));

describe('HashBalancer.pickKey(string)', () => {
  for (const table of TABLES) {
    it(`${table.kind}: same endpoint as pick(hashKey(key), attempt), ASCII and not`, async () => {
      const b = HashBalancer.build(core, endpoints, table);
      try {
        for (const key of ['alice', '', '10.1.2.3', 'sess=ünïcødé', '😀 key', 'x'.repeat(5000)]) {
          for (let attempt = 0; attempt < 4; attempt++) expect(b.pickKey(key, attempt)).toBe(b.pick(hashKey(core, key), attempt));
        }
      } finally {
        b.release();
      }
      await anyKey.get(table.kind)!.check();
    });
  }
});
