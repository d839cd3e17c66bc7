// The status catalogue: the host's table agrees with the core (count and HTTP mapping), codes
// are unique snake_case strings, and the load-time check notices a disagreement.
import { test, expect } from 'vitest';
import { STATUS_TABLE, checkStatusTable } from '../../host/core/status.js';
import { Core } from '../../host/core/wasm.js';
import { testCore } from './codec/codec-helpers.js';

test('host table and core agree on every code', () => {
  expect(() => checkStatusTable(testCore())).not.toThrow();
  const e = testCore().exports as unknown as { status_count(): number; status_http(c: number): number };
  expect(e.status_count()).toBe(STATUS_TABLE.length);
  STATUS_TABLE.forEach((s, i) => expect(e.status_http(i), s.code).toBe(s.httpStatus));
});

test('codes are unique, snake_case, with a message', () => {
  const codes = STATUS_TABLE.map((s) => s.code);
  expect(new Set(codes).size).toBe(codes.length);
  for (const s of STATUS_TABLE) {
    expect(s.code).toMatch(/^[a-z][a-z0-9_]*$/);
    expect(s.message.length).toBeGreaterThan(5);
  }
});

test('a core that disagrees is refused at load time', () => {
  const core = testCore();
  const fake = { exports: { ...core.exports, status_count: () => STATUS_TABLE.length + 1 } } as unknown as Core;
  expect(() => checkStatusTable(fake)).toThrow(/status codes/);
  const statusHttp = (core.exports as unknown as { status_http(code: number): number }).status_http;
  const fake2 = { exports: { ...core.exports, status_http: (c: number) => (c === 14 ? 400 : statusHttp(c)) } } as unknown as Core;
  expect(() => checkStatusTable(fake2)).toThrow(/headers_too_large/);
});
