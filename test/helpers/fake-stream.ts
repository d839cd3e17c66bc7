// A StreamCallbacks for unit tests of one HTTP filter (host/http/stream-callbacks.ts): a plain
// object holding the request as the filter would see it and recording what the filter does to
// the stream (local replies, response headers, flags, resumes), with no core, listener or socket.
import type { Downstream } from '../../host/listener/downstream.js';
import type { StreamCallbacks, StreamConfig } from '../../host/http/stream-callbacks.js';

/** The request a fake stream carries: method, path and header fields (lower-case names). */
export interface FakeRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
}

export interface FakeStream extends StreamCallbacks {
  /** sendLocalReply calls, in order. */
  readonly replies: Array<{ status: string; headers: Array<readonly [string, string]>; body: string; flag?: string }>;
  /** addResponseHeader calls, in order. */
  readonly responseHeaders: Array<[string, string]>;
  /** continueDecoding calls so far. */
  resumed: number;
}

/** A stream for `req` before routing (route null); `flags` and the record start empty. */
export function fakeStream(req: FakeRequest = {}): FakeStream {
  const fields = Object.entries(req.headers ?? {}).flat();
  const downstream = { method: req.method ?? 'GET', path: req.path ?? '/', authority: req.headers?.host ?? 'svc.test', headers: fields, remoteAddress: '10.0.0.9' } as Partial<Downstream> as Downstream;
  const flags: string[] = [];
  const unused = (what: string) => () => {
    throw new Error(`fakeStream: ${what} is not faked (a filter under test called it)`);
  };
  const stream: FakeStream = {
    downstream,
    config: {} as StreamConfig,
    route: null,
    hasBody: false,
    chunked: false,
    contentLength: 0,
    replies: [],
    responseHeaders: [],
    resumed: 0,
    requestHeader(name) {
      const i = fields.findIndex((f, k) => k % 2 === 0 && f === name);
      return i < 0 ? null : fields[i + 1]!;
    },
    setRequestHeader(name, value) {
      const i = fields.findIndex((f, k) => k % 2 === 0 && f === name);
      if (i < 0) fields.push(name, value);
      else fields[i + 1] = value;
    },
    addRequestHeader(name, value) {
      fields.push(name, value);
    },
    removeRequestHeader(name) {
      for (let k = fields.length - 2; k >= 0; k -= 2) if (fields[k] === name) fields.splice(k, 2);
    },
    removeRequestHeaders(names) {
      for (let k = fields.length - 2; k >= 0; k -= 2) if (names.includes(fields[k]!)) fields.splice(k, 2);
    },
    takeRequestHeaders(names, values) {
      let removed = 0;
      names.forEach((n, k) => {
        const i = fields.findIndex((f, j) => j % 2 === 0 && f === n);
        values[k] = i < 0 ? null : fields[i + 1]!;
      });
      for (let k = fields.length - 2; k >= 0; k -= 2) if (names.includes(fields[k]!)) { fields.splice(k, 2); removed++; }
      return removed;
    },
    requestView: () => null,
    sendLocalReply(status, headers, body, flag) {
      stream.replies.push({ status, headers: [...headers], body, ...(flag === undefined ? {} : { flag }) });
      if (flag !== undefined) flags.push(flag);
    },
    continueDecoding() {
      stream.resumed++;
    },
    addResponseHeader(name, value) {
      stream.responseHeaders.push([name, value]);
    },
    addResponseHeaders(pairs) {
      // Values given as bytes read back as the latin1 text a head carries.
      const text = (v: string | Uint8Array): string => (typeof v === 'string' ? v : Buffer.from(v).toString('latin1'));
      for (let i = 0; i + 1 < pairs.length; i += 2) stream.responseHeaders.push([text(pairs[i]!), text(pairs[i + 1]!)]);
    },
    encodeHeaders: unused('encodeHeaders'),
    encodeData: unused('encodeData'),
    encodeEnd: unused('encodeEnd'),
    resetStream: unused('resetStream'),
    responseStarted: false,
    completed: false,
    pauseRequestBody: unused('pauseRequestBody'),
    resumeRequestBody: unused('resumeRequestBody'),
    setFlag(flag) {
      flags.push(flag);
    },
    flags,
    requestId: '',
    forwardedFor: undefined,
    upstreamHost: '-',
    upstreamCluster: '-',
    upstreamServiceTimeMs: -1,
    attempts: 0,
    grpc: false,
    grpcStatus: -1,
    grpcRequestMessages: 0,
    grpcResponseMessages: 0,
    requestAuth: null,
  };
  return stream;
}
