// The Zipkin v2 body, written as a string: exactly the text JSON.stringify gave for the span
// objects it replaced (a reference copy of that form below), for any span (fast-check), and its
// endpoint cache bounded.
import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { MAX_ENDPOINTS, endpointCacheSize, zipkinBody } from '../../../host/telemetry/tracing/zipkin-json.js';
import type { FinishedSpan } from '../../../host/telemetry/tracing/span.js';

// The object form zipkinBody had before it wrote the string (the reference).
interface ZipkinEndpoint { serviceName?: string; ipv4?: string; ipv6?: string; port?: number }
function refEndpoint(address: string | null, serviceName?: string): ZipkinEndpoint | undefined {
  const e: ZipkinEndpoint = {};
  if (serviceName !== undefined) e.serviceName = serviceName;
  if (address !== null && address !== 'unknown') {
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
    const host = m ? m[1]! : address;
    if (host.includes(':')) e.ipv6 = host;
    else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) e.ipv4 = host;
    if (m?.[2] !== undefined) e.port = Number(m[2]);
  }
  return Object.keys(e).length === 0 ? undefined : e;
}
function refBody(spans: readonly FinishedSpan[]): string {
  return JSON.stringify(spans.map((s) => {
    const out: Record<string, unknown> = {
      traceId: s.traceId, id: s.spanId, name: s.name, kind: s.kind, timestamp: s.startUs, duration: Math.max(1, s.durationUs),
      localEndpoint: refEndpoint(s.localIp, s.localService), tags: s.tags,
    };
    if (s.parentId !== null) out['parentId'] = s.parentId;
    const remote = refEndpoint(s.remote);
    if (remote !== undefined) out['remoteEndpoint'] = remote;
    return out;
  }));
}

function span(extra: Partial<FinishedSpan>): FinishedSpan {
  return {
    traceId: '463ac35c9f6413ad48485a3953bb6124', spanId: '00000000000010ab', parentId: null, name: 'a', kind: 'SERVER',
    startUs: 1_700_000_000_000_123, durationUs: 0, tags: {}, localService: 'reviews.default', localIp: '10.0.0.7', remote: null, ...extra,
  };
}

const address = fc.oneof(
  fc.constant(null), fc.constant('unknown'), fc.constant(''),
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.option(fc.nat(70_000))).map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}${p === null ? '' : `:${p}`}`),
  fc.tuple(fc.constantFrom('::1', 'fd00::7', '2001:db8::1:2'), fc.option(fc.nat(65_535))).map(([h, p]) => (p === null ? `[${h}]` : `[${h}]:${p}`)),
  fc.constantFrom('fd00::9', 'reviews:9080', 'host', '1.2.3', '[::1', '999.1.1.1:x'),
  fc.string(),
);
const spanArb = fc.record({
  traceId: fc.string(), spanId: fc.string(), parentId: fc.option(fc.string()), name: fc.string({ unit: 'binary' }),
  kind: fc.constantFrom('SERVER' as const, 'CLIENT' as const),
  startUs: fc.oneof(fc.nat(), fc.double()), durationUs: fc.oneof(fc.integer({ min: -5, max: 1e9 }), fc.double()),
  tags: fc.dictionary(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' })),
  localService: fc.string(), localIp: address, remote: address,
});

describe('zipkinBody', () => {
  it('is the text of the object form, escapes and all', () => {
    const odd = 'q"uo\\te \n\u0001 é 🚀 </script>';
    const spans = [
      span({ name: odd, tags: { [odd]: odd, 'http.status_code': '500', error: 'true' }, remote: '10.0.0.9:43210' }),
      span({ kind: 'CLIENT', parentId: '00000000000010ab', durationUs: 1500, remote: '[fd00::9]:9080', localIp: null }),
      span({ spanId: '0000000000000003', localIp: 'fd00::7', remote: 'unknown' }),
    ];
    const body = zipkinBody(spans);
    expect(body).toBe(refBody(spans));
    expect(JSON.parse(body)[1]).toEqual({
      traceId: '463ac35c9f6413ad48485a3953bb6124', id: '00000000000010ab', name: 'a', kind: 'CLIENT', timestamp: 1_700_000_000_000_123, duration: 1500,
      localEndpoint: { serviceName: 'reviews.default' }, tags: {}, parentId: '00000000000010ab', remoteEndpoint: { ipv6: 'fd00::9', port: 9080 },
    });
    expect(zipkinBody([])).toBe('[]');
  });

  it('any batch: the same text as the object form (property)', () => {
    fc.assert(fc.property(fc.array(spanArb, { maxLength: 6 }), (spans) => {
      expect(zipkinBody(spans)).toBe(refBody(spans));
    }), { numRuns: 500 });
  });

  it('keeps at most MAX_ENDPOINTS endpoints, and an address seen again after it started over is still written right', () => {
    for (let i = 0; i < MAX_ENDPOINTS * 2 + 10; i++) {
      const s = span({ remote: `10.${i >> 16 & 255}.${i >> 8 & 255}.${i & 255}:${1000 + (i % 50)}` });
      expect(zipkinBody([s])).toBe(refBody([s]));
      expect(endpointCacheSize()).toBeLessThanOrEqual(MAX_ENDPOINTS);
    }
    const first = span({ remote: '10.0.0.0:1000' });
    expect(zipkinBody([first])).toBe(refBody([first]));
  });
});
