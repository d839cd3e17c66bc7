// consistentHashFromIstio: Istio's consistentHash → descriptor, defaults from Envoy, and the
// validation errors Istio's webhook gives, each with a stable code and the field.
import { describe, test, expect } from 'vitest';
import { consistentHashFromIstio, isPrime, HashLbError, type ConsistentHashPolicy } from '../../../host/config/translate/consistent-hash.js';

const W = 'DestinationRule default/web';
const compile = (p: ConsistentHashPolicy) => consistentHashFromIstio(p, W);
const fails = (p: ConsistentHashPolicy, code: string, field: string) => {
  try {
    compile(p);
  } catch (e) {
    expect(e).toBeInstanceOf(HashLbError);
    expect(e).toMatchObject({ code, field: `consistentHash.${field}`, where: W });
    expect((e as Error).message).toContain(W);
    expect((e as Error).message).toContain(code);
    return;
  }
  throw new Error(`expected ${code}`);
};

describe('consistentHashFromIstio: keys', () => {
  test('httpHeaderName → header key, lower-case; default table: ring hash 1024..8M, stable rebuild', () => {
    expect(compile({ httpHeaderName: 'X-User' })).toEqual({
      key: { kind: 'header', name: 'x-user' },
      table: { kind: 'ringHash', minimumRingSize: 1024, maximumRingSize: 8388608, stableRebuild: true },
      warnings: [],
    });
  });

  test('httpCookie with ttl → generated when absent; without ttl → ttlMs null', () => {
    expect(compile({ httpCookie: { name: 'sid', path: '/', ttl: '1.5s' } }).key).toEqual({ kind: 'cookie', name: 'sid', path: '/', ttlMs: 1500, attributes: [] });
    expect(compile({ httpCookie: { name: 'sid', ttl: '0s' } }).key).toMatchObject({ ttlMs: 0, path: null });
    expect(compile({ httpCookie: { name: 'sid', attributes: [{ name: 'SameSite', value: 'Strict' }, { name: 'Secure' }] } }).key).toEqual({
      kind: 'cookie', name: 'sid', path: null, ttlMs: null,
      attributes: [{ name: 'SameSite', value: 'Strict' }, { name: 'Secure', value: null }],
    });
  });

  test('useSourceIp and httpQueryParameterName', () => {
    expect(compile({ useSourceIp: true }).key).toEqual({ kind: 'sourceIp' });
    expect(compile({ httpQueryParameterName: 'user' }).key).toEqual({ kind: 'queryParameter', name: 'user' });
  });

  test('no key → kind none (random per request) with a warning', () => {
    const d = compile({ ringHash: { minimumRingSize: 4096 } });
    expect(d.key).toEqual({ kind: 'none' });
    expect(d.table).toMatchObject({ minimumRingSize: 4096 });
    expect(d.warnings[0]).toContain('random');
    expect(compile({ useSourceIp: false }).key).toEqual({ kind: 'none' });
  });

  test('errors: two keys, bad header name, empty query name, cookie without name, bad ttl', () => {
    fails({ httpHeaderName: 'x', useSourceIp: true }, 'multiple_hash_keys', 'useSourceIp');
    fails({ httpHeaderName: 'bad header' }, 'invalid_hash_key', 'httpHeaderName');
    fails({ httpHeaderName: '' }, 'invalid_hash_key', 'httpHeaderName');
    fails({ httpQueryParameterName: '' }, 'invalid_hash_key', 'httpQueryParameterName');
    fails({ httpCookie: { name: '' } }, 'cookie_name_required', 'httpCookie.name');
    fails({ httpCookie: { name: 'c', ttl: '10 parsecs' } }, 'invalid_cookie_ttl', 'httpCookie.ttl');
  });
});

describe('consistentHashFromIstio: tables', () => {
  test('maglev with a prime size; default 65537 with a warning when unset', () => {
    expect(compile({ useSourceIp: true, maglev: { tableSize: 251 } }).table).toEqual({ kind: 'maglev', tableSize: 251 });
    const d = compile({ useSourceIp: true, maglev: {} });
    expect(d.table).toEqual({ kind: 'maglev', tableSize: 65537 });
    expect(d.warnings.join()).toContain('tableSize');
  });

  test('maglev size errors: not prime, too large, negative', () => {
    fails({ maglev: { tableSize: 65536 } }, 'invalid_maglev_table_size', 'maglev.tableSize');
    fails({ maglev: { tableSize: 5000011 } }, 'invalid_maglev_table_size', 'maglev.tableSize');
    fails({ maglev: { tableSize: 1 } }, 'invalid_maglev_table_size', 'maglev.tableSize');
  });

  test('deprecated minimumRingSize: used with a warning; with ringHash/maglev → ring_size_conflict', () => {
    const d = compile({ useSourceIp: true, minimumRingSize: 2048 });
    expect(d.table).toMatchObject({ kind: 'ringHash', minimumRingSize: 2048 });
    expect(d.warnings.join()).toContain('deprecated');
    fails({ minimumRingSize: 2048, ringHash: {} }, 'ring_size_conflict', 'minimumRingSize');
    fails({ minimumRingSize: 2048, maglev: { tableSize: 251 } }, 'ring_size_conflict', 'minimumRingSize');
  });

  test('ring size errors and the two-algorithm error', () => {
    fails({ ringHash: { minimumRingSize: 8388609 } }, 'invalid_ring_size', 'ringHash.minimumRingSize');
    fails({ ringHash: { minimumRingSize: 1.5 } }, 'invalid_ring_size', 'ringHash.minimumRingSize');
    fails({ ringHash: {}, maglev: { tableSize: 251 } }, 'multiple_hash_algorithms', 'maglev');
  });

  test("isPrime is Envoy's (1, 2, 3 count as prime; 65537 prime; 5000011 prime)", () => {
    expect([0, 1, 2, 3, 4, 9, 65537, 65536, 5000011].map(isPrime)).toEqual([false, true, true, true, false, false, true, false, true]);
  });
});
