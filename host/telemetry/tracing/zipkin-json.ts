// Spans as Zipkin's v2 JSON (the body of `POST /api/v2/spans`): ids in hex, timestamps and
// durations in microseconds, kind, the proxy as localEndpoint (serviceName, ipv4/ipv6), the peer
// as remoteEndpoint, tags as strings.
import type { FinishedSpan } from './span.js';

interface ZipkinEndpoint { serviceName?: string; ipv4?: string; ipv6?: string; port?: number }

function endpoint(address: string | null, serviceName?: string): ZipkinEndpoint | undefined {
  const e: ZipkinEndpoint = {};
  if (serviceName !== undefined) e.serviceName = serviceName;
  if (address !== null && address !== 'unknown') {
    // `ip:port`, `[v6]:port` or a bare address.
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
    const host = m ? m[1]! : address;
    if (host.includes(':')) e.ipv6 = host;
    else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) e.ipv4 = host;
    if (m?.[2] !== undefined) e.port = Number(m[2]);
  }
  return Object.keys(e).length === 0 ? undefined : e;
}

/** One span as a Zipkin v2 object. */
export function zipkinSpan(s: FinishedSpan): Record<string, unknown> {
  const out: Record<string, unknown> = {
    traceId: s.traceId,
    id: s.spanId,
    name: s.name,
    kind: s.kind,
    timestamp: s.startUs,
    duration: Math.max(1, s.durationUs),
    localEndpoint: endpoint(s.localIp, s.localService),
    tags: s.tags,
  };
  if (s.parentId !== null) out['parentId'] = s.parentId;
  const remote = endpoint(s.remote);
  if (remote !== undefined) out['remoteEndpoint'] = remote;
  return out;
}

/** A batch as the request body. */
export function zipkinBody(spans: readonly FinishedSpan[]): string {
  return JSON.stringify(spans.map(zipkinSpan));
}
