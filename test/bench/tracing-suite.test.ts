import { describe, expect, it } from 'vitest';
import { peerRequest, tracedRequest, tracingSuite } from '../../bench/tracing-suite.js';

describe('the tracing benchmark', () => {
  it('runs a whole traced request: the upstream head grows by the propagation lines; only the sampled one reports spans', () => {
    const unsampled = tracedRequest(0);
    const sampled = tracedRequest(100);
    const plain = unsampled.run();
    // New trace: x-b3-traceid (32), x-b3-spanid, x-b3-parentspanid, x-b3-sampled, traceparent.
    expect(plain).toBe(sampled.run());
    for (let i = 0; i < 10; i++) {
      unsampled.run();
      sampled.run();
    }
    expect(unsampled.reported()).toBe(0);
    // A stream span and an attempt span per sampled request.
    expect(sampled.reported()).toBe(22);
  });

  it('a mesh peer\'s request on the sidecar: the same head and fields left, whether the context came as strings or as bytes', () => {
    const strings = peerRequest(false);
    const bytes = peerRequest(true);
    for (let i = 0; i < 5; i++) expect(bytes.run()).toBe(strings.run());
    // The upstream head with its lines, and the 5 other fields left (10 strings).
    expect(strings.run()).toBeGreaterThan(10 + 300);
  });

  it('has the head copy, the unsampled and the sampled request, and their ratio; the sidecar\'s two paths and theirs', () => {
    const suite = tracingSuite();
    expect(suite.groups).toHaveLength(2);
    expect(suite.groups[1]!.cases).toHaveLength(2);
    for (const c of suite.groups[1]!.cases) c.fn();
    expect(suite.groups[0]!.cases.map((c) => c.name)).toEqual([
      'the upstream head\'s copy out of the core alone (no tracing)',
      'a traced request, not sampled (the 99 %): filter, lines, attempt, log',
      'a traced request, sampled: the same + its 2 spans built and reported',
    ]);
    for (const c of suite.groups[0]!.cases) c.fn();
    const names = new Set(suite.groups[0]!.cases.map((c) => c.name));
    for (const r of suite.groups[0]!.ratios ?? []) expect(names.has(r.num) && names.has(r.den)).toBe(true);
  });
});
