// Envoy's access-log format strings (its "command operators", %START_TIME%, %REQ(X?Y):N%, …)
// compiled once per config version into a list of parts, then rendered per request from the
// record of one finished stream: no parsing on the request path. TEXT formats render to a line;
// JSON formats (Envoy's json_format, Istio's logFormat.labels / accessLogEncoding JSON) to one
// JSON object per line. The operators served are those Istio's default formats use, plus a few
// neighbours; any other is refused when compiling (a located error in the translation), never
// printed as `-` silently.
import { GRPC_STATUS_CAMEL, GRPC_STATUS_SNAKE, httpToGrpcStatus } from './grpc-status.js';

// In common: the translation checks formats where they are written and the data path renders them; neither layer may import the other.

/** What one finished stream offers a format (filled by the access-log filter). */
export interface AccessLogRecord {
  /** Request start, ms since the epoch. */
  readonly startTime: number;
  readonly method: string;
  /** :path as routed (after normalization). */
  readonly path: string;
  readonly authority: string;
  readonly protocol: string;
  readonly code: number;
  /** Envoy's response flags, `-` when none. */
  readonly flags: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  readonly durationMs: number;
  /** -1 when no upstream response head arrived. */
  readonly upstreamServiceTimeMs: number;
  /** `address:port` or `-`/''. */
  readonly upstreamHost: string;
  readonly upstreamCluster: string;
  readonly route: string;
  readonly requestId: string;
  /** x-forwarded-for as sent upstream; undefined when none. */
  readonly forwardedFor: string | undefined;
  readonly downstreamRemoteAddress: string;
  readonly downstreamLocalAddress: string;
  readonly requestedServerName: string;
  readonly attempts: number;
  /** The request is gRPC (application/grpc…): %GRPC_STATUS% prints only for such requests. */
  readonly grpc: boolean;
  /** The response's grpc-status (trailers, trailers-only head, or a gRPC local reply); -1 when none. */
  readonly grpcStatus: number;
  /** A request header's value (lower-case name), null when absent. */
  requestHeader(name: string): string | null;
  /** `address:port` of the upstream connection's local end, when the record knows it (TCP connections); absent: `-`. */
  readonly upstreamLocalAddress?: string;
  /** Why the proxy closed the connection (Envoy's connection termination details: an RBAC network filter denial); absent: `-`. */
  readonly connectionTerminationDetails?: string;
}

/** Istio's default TEXT format (meshConfig accessLogFormat empty, EnvoyTextLogFormat), newline included. */
export const ISTIO_DEFAULT_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% ' +
  '%BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% ' +
  '%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

/** Istio's default JSON labels (accessLogEncoding JSON without a format, EnvoyJSONLogFormatIstio), in its order. */
export const ISTIO_DEFAULT_JSON_LABELS: Readonly<Record<string, string>> = Object.freeze({
  start_time: '%START_TIME%',
  route_name: '%ROUTE_NAME%',
  method: '%REQ(:METHOD)%',
  path: '%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%',
  protocol: '%PROTOCOL%',
  response_code: '%RESPONSE_CODE%',
  response_flags: '%RESPONSE_FLAGS%',
  response_code_details: '%RESPONSE_CODE_DETAILS%',
  connection_termination_details: '%CONNECTION_TERMINATION_DETAILS%',
  upstream_transport_failure_reason: '%UPSTREAM_TRANSPORT_FAILURE_REASON%',
  bytes_received: '%BYTES_RECEIVED%',
  bytes_sent: '%BYTES_SENT%',
  duration: '%DURATION%',
  upstream_service_time: '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%',
  x_forwarded_for: '%REQ(X-FORWARDED-FOR)%',
  user_agent: '%REQ(USER-AGENT)%',
  request_id: '%REQ(X-REQUEST-ID)%',
  authority: '%REQ(:AUTHORITY)%',
  upstream_host: '%UPSTREAM_HOST%',
  upstream_cluster: '%UPSTREAM_CLUSTER_RAW%',
  upstream_local_address: '%UPSTREAM_LOCAL_ADDRESS%',
  downstream_local_address: '%DOWNSTREAM_LOCAL_ADDRESS%',
  downstream_remote_address: '%DOWNSTREAM_REMOTE_ADDRESS%',
  requested_server_name: '%REQUESTED_SERVER_NAME%',
});

/** One operator's value: a string, a number (JSON keeps it a number, as Envoy does), or null (`-` / JSON null). */
type Value = string | number | null;
type Operator = (r: AccessLogRecord) => Value;

/** A refused format: what is wrong, at which character of the format. */
export class AccessLogFormatError extends Error {
  constructor(readonly offset: number, reason: string) {
    super(reason);
  }
}

const EMPTY = (): Value => null;
const dashed = (v: string | undefined | null): Value => (v === undefined || v === null || v === '' || v === '-' ? null : v);

/** Operators without an argument. */
const SIMPLE: Readonly<Record<string, Operator>> = {
  START_TIME: (r) => new Date(r.startTime).toISOString(),
  // Empty on a TCP connection's record: Envoy prints `-` (JSON null) there.
  PROTOCOL: (r) => dashed(r.protocol),
  RESPONSE_CODE: (r) => r.code,
  RESPONSE_FLAGS: (r) => r.flags === '' ? '-' : r.flags,
  // Envoy's details and failure reasons: wasmesh keeps none of them per stream but a TCP
  // connection's termination details; Envoy prints `-` when it has none.
  RESPONSE_CODE_DETAILS: EMPTY,
  CONNECTION_TERMINATION_DETAILS: (r) => dashed(r.connectionTerminationDetails),
  UPSTREAM_TRANSPORT_FAILURE_REASON: EMPTY,
  UPSTREAM_LOCAL_ADDRESS: (r) => dashed(r.upstreamLocalAddress),
  BYTES_RECEIVED: (r) => r.bytesReceived,
  BYTES_SENT: (r) => r.bytesSent,
  DURATION: (r) => Math.round(r.durationMs),
  UPSTREAM_HOST: (r) => dashed(r.upstreamHost),
  UPSTREAM_CLUSTER: (r) => dashed(r.upstreamCluster),
  UPSTREAM_CLUSTER_RAW: (r) => dashed(r.upstreamCluster),
  UPSTREAM_REQUEST_ATTEMPT_COUNT: (r) => r.attempts,
  DOWNSTREAM_LOCAL_ADDRESS: (r) => dashed(r.downstreamLocalAddress),
  DOWNSTREAM_REMOTE_ADDRESS: (r) => dashed(r.downstreamRemoteAddress),
  DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT: (r) => dashed(withoutPort(r.downstreamRemoteAddress)),
  DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT: (r) => dashed(withoutPort(r.downstreamLocalAddress)),
  REQUESTED_SERVER_NAME: (r) => dashed(r.requestedServerName),
  ROUTE_NAME: (r) => dashed(r.route),
  GRPC_STATUS_NUMBER: (r) => grpcStatusOf(r),
};

/** The address of `addr:port` (IPv6 without its brackets, as Envoy's %…_WITHOUT_PORT% print it). */
function withoutPort(addr: string): string {
  if (addr.startsWith('[')) {
    const end = addr.indexOf(']');
    return end < 0 ? addr : addr.slice(1, end);
  }
  const colon = addr.lastIndexOf(':');
  return colon < 0 || addr.indexOf(':') !== colon ? addr : addr.slice(0, colon);
}

/**
 * The gRPC status %GRPC_STATUS% prints (Envoy's GrpcStatusFormatter over getGrpcStatus): the
 * response's grpc-status, else the one its HTTP status maps to; null for a request that is not
 * gRPC, or one that got no response.
 */
function grpcStatusOf(r: AccessLogRecord): number | null {
  if (!r.grpc) return null;
  if (r.grpcStatus >= 0) return r.grpcStatus;
  return r.code > 0 ? httpToGrpcStatus(r.code) : null;
}

/** %GRPC_STATUS(CAMEL_STRING | SNAKE_STRING | NUMBER)%; a code past the canonical names prints as its number. */
function grpcStatusOperator(arg: string | undefined, at: number): Operator {
  const form = arg ?? 'CAMEL_STRING';
  if (form === 'NUMBER') return (r) => grpcStatusOf(r);
  if (form !== 'CAMEL_STRING' && form !== 'SNAKE_STRING') {
    throw new AccessLogFormatError(at, `%GRPC_STATUS(${form})%: the format is CAMEL_STRING, SNAKE_STRING or NUMBER`);
  }
  const names = form === 'CAMEL_STRING' ? GRPC_STATUS_CAMEL : GRPC_STATUS_SNAKE;
  return (r) => {
    const g = grpcStatusOf(r);
    return g === null ? null : names[g] ?? String(g);
  };
}

/** The request headers Envoy reads as pseudo-headers, from the record's fields. */
function requestValue(name: string): Operator {
  switch (name) {
    case ':method': return (r) => dashed(r.method);
    case ':path': return (r) => dashed(r.path);
    case ':authority': case 'host': return (r) => dashed(r.authority);
    case ':scheme': return () => 'http';
    case 'x-request-id': return (r) => dashed(r.requestId);
    // As sent upstream (the client's address appended), which is what Envoy logs.
    case 'x-forwarded-for': return (r) => dashed(r.forwardedFor ?? r.requestHeader(name));
    default: return (r) => dashed(r.requestHeader(name));
  }
}

const HEADER_NAME = /^:?[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** %REQ(X?Y):N% / %RESP(X)%; the argument text is what sits between the parentheses. */
function headerOperator(kind: 'REQ' | 'RESP', arg: string, maxLen: number | null, at: number): Operator {
  const [main, alt, extra] = arg.split('?');
  if (extra !== undefined || main === undefined || main === '' || !HEADER_NAME.test(main) || (alt !== undefined && !HEADER_NAME.test(alt))) {
    throw new AccessLogFormatError(at, `%${kind}(${arg})% needs a header name, optionally ?another`);
  }
  let op: Operator;
  if (kind === 'RESP') {
    const names = [main, alt].filter((n): n is string => n !== undefined).map((n) => n.toLowerCase());
    // Response headers other than the one the router sets are not kept past the response head.
    if (names.some((n) => n !== 'x-envoy-upstream-service-time')) {
      throw new AccessLogFormatError(at, `%RESP(${arg})%: wasmesh's access log serves only %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% of the response headers`);
    }
    // A header's value: a string in JSON too (Envoy types only its numeric operators).
    op = (r) => (r.upstreamServiceTimeMs < 0 ? null : String(Math.round(r.upstreamServiceTimeMs)));
  } else {
    const first = requestValue(main.toLowerCase());
    const second = alt === undefined ? null : requestValue(alt.toLowerCase());
    op = second === null ? first : (r) => first(r) ?? second(r);
  }
  if (maxLen === null) return op;
  return (r) => {
    const v = op(r);
    return typeof v === 'string' ? v.slice(0, maxLen) : v;
  };
}

/** A compiled format string: literal text and operators, alternating. */
export interface CompiledText {
  readonly literals: readonly string[];
  readonly operators: readonly Operator[];
}

/** Compiles an Envoy format string; throws AccessLogFormatError (with the character offset) on an operator it does not serve. */
export function compileText(format: string): CompiledText {
  const literals: string[] = [];
  const operators: Operator[] = [];
  let text = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i]!;
    if (c !== '%') {
      text += c;
      i++;
      continue;
    }
    // `%%` is a literal percent sign.
    if (format[i + 1] === '%') {
      text += '%';
      i += 2;
      continue;
    }
    const m = /^%([A-Z][A-Z0-9_]*)(?:\(([^)]*)\))?(?::(\d+))?%/.exec(format.slice(i));
    if (m === null) throw new AccessLogFormatError(i, `"%" starts no command operator (write "%%" for a percent sign)`);
    const [whole, name, arg, len] = m as unknown as [string, string, string | undefined, string | undefined];
    literals.push(text);
    text = '';
    operators.push(operatorFor(name, arg, len === undefined ? null : Number(len), i));
    i += whole.length;
  }
  literals.push(text);
  return { literals, operators };
}

function operatorFor(name: string, arg: string | undefined, maxLen: number | null, at: number): Operator {
  if (name === 'REQ' || name === 'RESP') {
    if (arg === undefined) throw new AccessLogFormatError(at, `%${name}% needs a header name: %${name}(name)%`);
    return headerOperator(name, arg, maxLen, at);
  }
  if (name === 'GRPC_STATUS') return withMaxLen(grpcStatusOperator(arg, at), maxLen);
  if (name === 'START_TIME' && arg !== undefined) {
    // Envoy's strftime patterns: not served; the default (RFC 3339 with milliseconds) is.
    throw new AccessLogFormatError(at, `%START_TIME(${arg})%: custom time formats are not served (use %START_TIME%)`);
  }
  const op = SIMPLE[name];
  if (op === undefined || arg !== undefined) throw new AccessLogFormatError(at, `%${name}${arg !== undefined ? `(${arg})` : ''}% is not a command operator wasmesh serves (served: ${[...Object.keys(SIMPLE), 'GRPC_STATUS(…)', 'REQ(…)', 'RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)'].join(', ')})`);
  return withMaxLen(op, maxLen);
}

/** An operator cut at `:N` characters (strings only: a number stays whole, as Envoy's typed values). */
function withMaxLen(op: Operator, maxLen: number | null): Operator {
  if (maxLen === null) return op;
  return (r) => {
    const v = op(r);
    return typeof v === 'string' ? v.slice(0, maxLen) : v;
  };
}

/** Renders a compiled format string (Envoy writes `-` for a missing value). */
export function renderText(f: CompiledText, r: AccessLogRecord): string {
  let out = f.literals[0]!;
  for (let i = 0; i < f.operators.length; i++) {
    const v = f.operators[i]!(r);
    out += (v === null ? '-' : String(v)) + f.literals[i + 1]!;
  }
  return out;
}

/** A compiled JSON format: each key's value a format string. */
export interface CompiledJson {
  readonly entries: ReadonlyArray<{ readonly key: string; readonly value: CompiledText }>;
}

/** Compiles JSON labels; an error names the key (as `key`) and the offset in its value. */
export function compileJson(labels: Readonly<Record<string, string>>): CompiledJson {
  const entries: Array<{ key: string; value: CompiledText }> = [];
  // Keys sorted: Envoy's json_format is a protobuf Struct, whose keys it writes in sorted order.
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key]!;
    try {
      entries.push({ key, value: compileText(value) });
    } catch (e) {
      if (e instanceof AccessLogFormatError) throw new KeyedFormatError(key, e.offset, e.message);
      throw e;
    }
  }
  return { entries };
}

/** A JSON label's refused value. */
export class KeyedFormatError extends AccessLogFormatError {
  constructor(readonly key: string, offset: number, reason: string) {
    super(offset, reason);
  }
}

/**
 * One JSON object, keys sorted (as Envoy writes them). A value that is exactly one operator keeps its
 * type (a number stays a number, a missing value is null), as Envoy's json_format does; a value
 * mixing text and operators is a string.
 */
export function renderJson(f: CompiledJson, r: AccessLogRecord): string {
  let out = '{';
  for (let i = 0; i < f.entries.length; i++) {
    const { key, value } = f.entries[i]!;
    if (i > 0) out += ',';
    out += JSON.stringify(key) + ':';
    if (value.operators.length === 1 && value.literals[0] === '' && value.literals[1] === '') {
      const v = value.operators[0]!(r);
      out += v === null ? 'null' : JSON.stringify(v);
    } else out += JSON.stringify(renderText(value, r));
  }
  return out + '}';
}
