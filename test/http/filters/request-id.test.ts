// x-request-id generation (host/http/filters/request-id.ts): version 4 UUIDs, distinct across batches.
import { describe, expect, it } from 'vitest';
import { randomRequestId } from '../../../host/http/filters/request-id.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomRequestId', () => {
  it('gives RFC 9562 version 4 UUIDs, all distinct over many batches of the random pool', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const id = randomRequestId();
      expect(id).toMatch(UUID_V4);
      seen.add(id);
    }
    expect(seen.size).toBe(20_000);
  });

  it('uses the whole alphabet in every free position (not a counter or a fixed pattern)', () => {
    const perPosition = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 2_000; i++) [...randomRequestId()].forEach((c, p) => perPosition[p]!.add(c));
    for (const p of [0, 7, 9, 15, 20, 35]) expect(perPosition[p]!.size).toBe(16);
    expect([...perPosition[14]!]).toEqual(['4']);
    expect([...perPosition[19]!].sort()).toEqual(['8', '9', 'a', 'b']);
  });
});
