// The request values a consistent-hash cluster hashes (DestinationRule consistentHash →
// Envoy's route hash policy): a header's values, a cookie, the client IP or a query
// parameter, read the way Envoy reads them; and the Set-Cookie value Envoy writes when it
// generates a missing hash cookie. Pure string work: hashing itself happens in the core.
import type { HashKeySource } from '../model/hash-lb.js';

/** What the balancer needs to know about one request. */
export interface HashRequest {
  /** Request headers, flat (name, value, name, value …), names lower-case, in arrival order (repeated names allowed). */
  headers: readonly string[];
  /** The downstream peer's IP address, without port. */
  clientIp: string;
  /** Request-target as received: path plus `?query`. */
  path: string;
}

/**
 * The values to hash for `source`, or null when the request lacks its key (Envoy then picks
 * at random). Several header values come back sorted: Envoy sorts them and chains the hashes.
 */
export function hashValues(source: HashKeySource, req: HashRequest): string[] | null {
  switch (source.kind) {
    case 'header': {
      const values: string[] = [];
      const h = req.headers;
      for (let i = 0; i + 1 < h.length; i += 2) if (h[i] === source.name) values.push(h[i + 1]!);
      if (values.length === 0) return null;
      if (values.length > 1) values.sort();
      return values;
    }
    case 'cookie': {
      const v = cookieValue(req.headers, source.name);
      return v === undefined ? null : [v];
    }
    case 'sourceIp':
      return req.clientIp ? [req.clientIp] : null;
    case 'queryParameter': {
      const v = queryParameter(req.path, source.name);
      return v === undefined ? null : [v];
    }
    case 'none':
      return null;
  }
}

/**
 * The value of cookie `name` in the request's Cookie headers (Envoy parseCookieValue: pairs
 * split on `;`, whitespace trimmed, surrounding double quotes removed; the first match wins).
 */
export function cookieValue(headers: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i] !== 'cookie') continue;
    const header = headers[i + 1]!;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      if (part.slice(0, eq).trim() !== name) continue;
      let v = part.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
  }
  return undefined;
}

/**
 * The first value of query parameter `name` as sent (not percent-decoded); '' when the
 * parameter has no `=`; undefined when absent. Names compare exactly, as Envoy's.
 */
export function queryParameter(path: string, name: string): string | undefined {
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const end = path.indexOf('#', q);
  const query = end < 0 ? path.slice(q + 1) : path.slice(q + 1, end);
  for (const pair of query.split('&')) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    if (key === name) return eq < 0 ? '' : pair.slice(eq + 1);
  }
  return undefined;
}

/**
 * The Set-Cookie value for a generated hash cookie, in Envoy's makeSetCookieValue order:
 * `name="value"`, `Max-Age` (seconds, omitted for a session cookie), `Path`, the configured
 * attributes, `HttpOnly`.
 */
export function setCookieValue(name: string, value: string, path: string | null, ttlMs: number, attributes: ReadonlyArray<{ name: string; value: string | null }>): string {
  let s = `${name}="${value}"`;
  const maxAge = Math.floor(ttlMs / 1000);
  if (maxAge > 0) s += `; Max-Age=${maxAge}`;
  if (path) s += `; Path=${path}`;
  for (const a of attributes) s += a.value ? `; ${a.name}=${a.value}` : `; ${a.name}`;
  return s + '; HttpOnly';
}

/**
 * The IP and port a PASSTHROUGH request goes to: its authority when that is an IPv4 or
 * bracketed IPv6 address with a port; null otherwise (a host name cannot be an original
 * destination without DNS, which Envoy's ORIGINAL_DST does not do either).
 */
export function originalDestination(authority: string): { address: string; port: number } | null {
  let m = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(authority);
  if (m && m[1]!.split('.').every((o) => Number(o) <= 255)) return portOk(m[1]!, m[2]!);
  m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(authority);
  if (m && m[1]!.includes(':')) return portOk(m[1]!, m[2]!);
  return null;
}

function portOk(address: string, port: string): { address: string; port: number } | null {
  const p = Number(port);
  return p >= 1 && p <= 65535 ? { address, port: p } : null;
}

/**
 * The destination of a request to PassthroughCluster: the authority as the application's
 * original destination. A sidecar without iptables cannot read SO_ORIGINAL_DST, so the host
 * the client named stands for the address it connected to: an IP address, or a DNS name the
 * connection resolves (system resolver), with port 80 when the authority has none (a client
 * omits only the default port). Null for an authority that is neither.
 */
export function authorityDestination(authority: string): { address: string; port: number } | null {
  const ip = originalDestination(authority);
  if (ip) return ip;
  let m = /^\[([0-9a-fA-F:.]+)\]$/.exec(authority);
  if (m && m[1]!.includes(':')) return { address: m[1]!, port: 80 };
  m = /^([A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(authority);
  if (!m || m[1]!.includes('..')) return null;
  if (m[2] === undefined) return { address: m[1]!.toLowerCase(), port: 80 };
  return portOk(m[1]!.toLowerCase(), m[2]);
}
