// Spans as Zipkin's v2 JSON (the body of `POST /api/v2/spans`): ids in hex, timestamps and
// durations in microseconds, kind, the proxy as localEndpoint (serviceName, ipv4/ipv6), the peer
// as remoteEndpoint, tags as strings. Written straight to the string, as otlp-json.ts writes
// OTLP: no object per span, and an endpoint's JSON made once per address (the proxy's own is the
// same for every span, a peer's for every span of that peer), not parsed by regular expressions
// per span.
import type { FinishedSpan } from './span.js';

/** Endpoint JSON kept per (service, address); past this many the cache starts over. */
export const MAX_ENDPOINTS = 1024;

const q = JSON.stringify;

/** An endpoint's JSON (`{"serviceName":…,"ipv4":…,"port":…}`), or '' when it says nothing. */
function endpointText(address: string | null, serviceName: string | null): string {
  let out = '';
  if (serviceName !== null) out += `"serviceName":${q(serviceName)}`;
  if (address !== null && address !== 'unknown') {
    // `ip:port`, `[v6]:port` or a bare address.
    const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(address) ?? /^([^:]+)(?::(\d+))?$/.exec(address);
    const host = m ? m[1]! : address;
    if (host.includes(':')) out += `${out === '' ? '' : ','}"ipv6":${q(host)}`;
    else if (/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) out += `${out === '' ? '' : ','}"ipv4":${q(host)}`;
    if (m?.[2] !== undefined) out += `${out === '' ? '' : ','}"port":${Number(m[2])}`;
  }
  return out === '' ? '' : `{${out}}`;
}

/** Endpoint texts by service, then address ('' for none): two lookups, no key string per span. */
const endpoints = new Map<string, Map<string, string>>();
let endpointCount = 0;

function endpoint(address: string | null, serviceName: string | null): string {
  const service = serviceName ?? '\0';
  let byAddress = endpoints.get(service);
  const key = address ?? '';
  let text = byAddress?.get(key);
  if (text !== undefined) return text;
  text = endpointText(address, serviceName);
  if (endpointCount >= MAX_ENDPOINTS) {
    endpoints.clear();
    endpointCount = 0;
    byAddress = undefined;
  }
  if (byAddress === undefined) endpoints.set(service, (byAddress = new Map()));
  byAddress.set(key, text);
  endpointCount++;
  return text;
}

/** Endpoints held by the cache (tests: it stays bounded). */
export function endpointCacheSize(): number {
  return endpointCount;
}

/** One span as Zipkin v2 JSON: the keys in the order the object form had them. */
function spanJson(s: FinishedSpan): string {
  let out = `{"traceId":${q(s.traceId)},"id":${q(s.spanId)},"name":${q(s.name)},"kind":${q(s.kind)},` +
    `"timestamp":${q(s.startUs)},"duration":${q(Math.max(1, s.durationUs))}`;
  const local = endpoint(s.localIp, s.localService);
  if (local !== '') out += `,"localEndpoint":${local}`;
  out += `,"tags":${q(s.tags)}`;
  if (s.parentId !== null) out += `,"parentId":${q(s.parentId)}`;
  const remote = endpoint(s.remote, null);
  if (remote !== '') out += `,"remoteEndpoint":${remote}`;
  return out + '}';
}

/** A batch as the request body. */
export function zipkinBody(spans: readonly FinishedSpan[]): string {
  let out = '[';
  for (let i = 0; i < spans.length; i++) out += (i === 0 ? '' : ',') + spanJson(spans[i]!);
  return out + ']';
}
