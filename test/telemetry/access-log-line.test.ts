// The access-log line matches Envoy's default format field for field; the sidecar's adds the
// upstream cluster, as Istio's does.
import { describe, expect, it } from 'vitest';
import { envoyAccessLogLine, sidecarAccessLogLine } from '../../host/telemetry/access-log-line.js';
import type { AccessLogEntry } from '../../host/telemetry/access-log.js';

const base: AccessLogEntry = {
  startTime: Date.UTC(2026, 0, 2, 3, 4, 5, 678),
  method: 'GET',
  path: '/a?b=1',
  code: 200,
  flags: '-',
  bytesReceived: 0,
  bytesSent: 13,
  durationMs: 2,
  upstreamServiceTimeMs: 1,
  requestId: 'abc',
  authority: '127.0.0.1:8080',
  upstreamHost: '127.0.0.1:15101',
  upstreamCluster: 'outbound|5005|v1|web.default.svc.cluster.local',
  route: 'default/web/0',
  version: 1,
};

describe('envoyAccessLogLine', () => {
  it('renders the default format', () => {
    expect(envoyAccessLogLine(base)).toBe(
      '[2026-01-02T03:04:05.678Z] "GET /a?b=1 HTTP/1.1" 200 - 0 13 2 1 "-" "-" "abc" "127.0.0.1:8080" "127.0.0.1:15101"',
    );
  });

  it('writes - for absent values and uses optional fields when present', () => {
    const line = envoyAccessLogLine({
      ...base,
      code: 404,
      flags: 'NR',
      upstreamServiceTimeMs: -1,
      upstreamHost: '-',
      requestId: '',
      forwardedFor: '10.0.0.1',
      userAgent: 'curl/8.0',
      protocol: 'HTTP/1.0',
    });
    expect(line).toBe('[2026-01-02T03:04:05.678Z] "GET /a?b=1 HTTP/1.0" 404 NR 0 13 2 - "10.0.0.1" "curl/8.0" "-" "127.0.0.1:8080" "-"');
  });
});

describe('sidecarAccessLogLine', () => {
  it('ends the default format with the upstream cluster, - when there is none', () => {
    expect(sidecarAccessLogLine(base)).toBe(`${envoyAccessLogLine(base)} outbound|5005|v1|web.default.svc.cluster.local`);
    expect(sidecarAccessLogLine({ ...base, upstreamCluster: '' })).toBe(`${envoyAccessLogLine(base)} -`);
  });
});
