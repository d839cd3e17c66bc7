// The access-log filter: one entry per finished stream, or, with a filter on status and flags,
// only for the streams it accepts, the others costing no entry (the sidecar's miss log with the
// access log off wants 404 NR alone: InboundMissLog.wants).
import { describe, expect, it } from 'vitest';
import { accessLogFilter } from '../../../host/http/filters/access-log.js';
import type { AccessLogEntry } from '../../../host/telemetry/access-log.js';
import { InboundMissLog } from '../../../host/sidecar/inbound-miss-log.js';
import { fakeStream } from '../../helpers/fake-stream.js';

/** A finished stream with `status` and `flags`, as the filter's onLog reads it. */
function finished(status: number, flags: string[]) {
  const s = fakeStream({ path: '/p', headers: { host: 'pod:9', 'user-agent': 'ua' } });
  Object.assign(s.downstream, { status, startTime: Date.now(), bytesReceived: 0, bytesSent: 0 });
  for (const f of flags) s.setFlag(f as never);
  Object.assign(s, { config: { version: 1 } });
  return s;
}

describe('accessLogFilter', () => {
  it('writes one entry per stream without a filter', () => {
    const got: AccessLogEntry[] = [];
    const f = accessLogFilter((e) => got.push(e));
    f.onLog!(finished(200, []));
    f.onLog!(finished(404, ['NR']));
    expect(got.map((e) => [e.code, e.flags, e.authority, e.userAgent])).toEqual([[200, '-', 'pod:9', 'ua'], [404, 'NR', 'pod:9', 'ua']]);
  });

  it('with InboundMissLog.wants, writes entries for 404 NR only', () => {
    const got: AccessLogEntry[] = [];
    const f = accessLogFilter((e) => got.push(e), InboundMissLog.wants);
    f.onLog!(finished(200, []));
    f.onLog!(finished(404, []));
    f.onLog!(finished(503, ['UF', 'URX']));
    f.onLog!(finished(404, ['NR']));
    expect(got.map((e) => [e.code, e.flags])).toEqual([[404, 'NR']]);
  });
});

describe('InboundMissLog.wants', () => {
  it('is true for a 404 with the NR flag among others, false otherwise', () => {
    expect(InboundMissLog.wants(404, ['NR'])).toBe(true);
    expect(InboundMissLog.wants(404, ['UF', 'NR'])).toBe(true);
    expect(InboundMissLog.wants(404, [])).toBe(false);
    expect(InboundMissLog.wants(503, ['NR'])).toBe(false);
  });
});
