// One wasmesh match block as the RouteMatch a proxyless gRPC client evaluates (grpc-js-xds, gRFC
// A28). A gRPC call's method, scheme, authority and port are known before it is made — POST,
// `http` (plaintext), the name it dialed — and it has no query string, so those conditions are
// decided here, per listener, the way a sidecar would decide them for that call: a block that
// cannot hold is dropped, a condition that always holds is left out. What is left (the path,
// `/package.Service/Method`, and headers, which are the call's metadata) is Envoy's RouteMatch
// from the Envoy translation.
import type { HeaderMatch, RouteMatch, StringMatch } from '../model/mesh.js';
import { compileRegex } from '../compile/regex/compile-regex.js';
import { runRegexProgram } from '../compile/regex/regex-program.js';
import type { Obj } from './istio-resources.js';
import { envoyRouteMatch } from './route-match.js';

/** What a gRPC call on one listener is, for the conditions decided before it is made. */
export interface GrpcCall {
  /** The name the client dialed, `host:port` (gRPC's :authority for an xds:/// target). */
  authority: string;
  port: number;
}

/** gRPC sends every call as POST over plaintext HTTP/2 here (no TLS from the control plane yet). */
const GRPC_METHOD = 'POST';
const GRPC_SCHEME = 'http';

const utf8 = new TextEncoder();

/** Does `value` satisfy `m`? Regexes run as RE2 full matches (host/config checked them). */
export function stringMatchHolds(m: StringMatch, value: string): boolean {
  if (m.kind === 'exact') return value === m.value;
  if (m.kind === 'prefix') return value.startsWith(m.value);
  return runRegexProgram(compileRegex(m.value).program, utf8.encode(value));
}

/**
 * Why grpc-js never sees header `name` in a call's metadata (so a matcher on it never holds,
 * an inverted one always does), or null when it does. A sidecar would see these headers on the
 * wire: the client's routing and the sidecar's differ for them.
 */
export function unseenHeader(name: string): string | null {
  if (name.startsWith(':')) return 'a pseudo-header, not call metadata';
  // gRFC A28: binary metadata is never matched.
  if (name.endsWith('-bin')) return 'binary metadata (-bin), which gRPC never matches';
  if (name.startsWith('grpc-')) return 'set by the gRPC library (grpc-*), not call metadata';
  if (name === 'user-agent' || name === 'te') return 'set by the gRPC transport, not call metadata';
  return null;
}

/**
 * The RouteMatch of block `m` for `call`, or null when the block cannot hold for it. `where`
 * names the route in warnings about headers grpc-js cannot see.
 */
export function grpcRouteMatch(m: RouteMatch | null, call: GrpcCall, where: string, warnings: Set<string>): Obj | null {
  if (m === null) return { prefix: '/' };
  if (m.port !== null && m.port !== undefined && m.port !== call.port) return null;
  if (m.method && !stringMatchHolds(m.method, GRPC_METHOD)) return null;
  if (m.scheme && !stringMatchHolds(m.scheme, GRPC_SCHEME)) return null;
  if (m.authority && !stringMatchHolds(m.authority, call.authority)) return null;
  if (m.queryParams && m.queryParams.length > 0) return null;
  for (const h of m.headers) warnUnseen(h, where, warnings);
  // The rest is the Envoy translation's, with the decided conditions taken out.
  return envoyRouteMatch({ uri: m.uri, ignoreUriCase: m.ignoreUriCase, headers: m.headers }, call.port);
}

function warnUnseen(h: HeaderMatch, where: string, warnings: Set<string>): void {
  const why = unseenHeader(h.name);
  if (why === null) return;
  const outcome = h.invert ? 'always holds' : 'never holds';
  warnings.add(`${where}: header ${h.name} is ${why}; for a proxyless gRPC client the condition ${outcome}`);
}
