// Wire-level harness for the HTTP/1.1 listener suites: a ProxyServer on loopback in front of a
// raw `net` upstream that records the exact bytes of every request it receives, and raw client
// sockets (no HTTP client library, which would normalise or refuse what the tests must send).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ProxyServer, type ProxyServerOptions } from '../../../host/server/proxy-server.js';
import type { AccessLogEntry } from '../../../host/telemetry/access-log.js';
import type { Limits } from '../../../host/common/limits.js';
import type { MeshConfig } from '../../../host/model/mesh.js';
import { mesh } from '../../helpers/mesh-fixtures.js';

export const HOST = 'svc.test';
/** A second virtual host with its own upstream: a request that reaches it was routed on a smuggled Host. */
export const INTERNAL_HOST = 'internal.example.com';

// ── Recording upstream ───────────────────────────────────────────────────────────────────

export interface UpstreamRequest {
  /** The request's exact bytes as received (latin1), x-request-id normalised to `<id>`. */
  bytes: string;
  /** Upstream connection index, and the request's index on it. */
  connection: number;
}

export interface UpstreamConnection {
  index: number;
  /** Bytes after the last complete request (an incomplete message). */
  leftover: string;
  /** `leftover` when reset() was last called. */
  leftoverAtReset: string;
  closed: boolean;
}

export interface RecordingUpstream {
  port: number;
  requests: UpstreamRequest[];
  connections: UpstreamConnection[];
  /** Bytes that are not a request as the proxy writes them (should never happen). */
  errors: string[];
  /** Forgets the requests recorded (between table cases); connections stay, their leftover noted. */
  reset(): void;
  close(): Promise<void>;
}

const REQUEST_ID = /^x-request-id: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\r\n/m;

/** The request id is random by design: replaced by `<id>` so that bytes compare exactly. */
export function normaliseRequestId(s: string): string {
  return s.replace(REQUEST_ID, 'x-request-id: <id>\r\n');
}

/**
 * Where the request at the start of `buf` ends, framed as the proxy frames what it sends
 * (content-length or chunked, lower-case names); -1 when incomplete. A strict little reader:
 * the proxy's output must be canonical, so anything else throws (and fails the test).
 */
export function requestEnd(buf: string): number {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return -1;
  const head = buf.slice(0, headEnd);
  const cl = /^content-length: (\d+)$/m.exec(head);
  const te = /^transfer-encoding: (.*)$/m.exec(head);
  let at = headEnd + 4;
  if (cl && te) throw new Error(`upstream got both content-length and transfer-encoding:\n${head}`);
  if (cl) return buf.length >= at + Number(cl[1]) ? at + Number(cl[1]) : -1;
  if (!te) return at;
  if (te[1] !== 'chunked') throw new Error(`upstream got transfer-encoding '${te[1]}'`);
  for (;;) {
    const eol = buf.indexOf('\r\n', at);
    if (eol < 0) return -1;
    const line = buf.slice(at, eol);
    if (!/^[0-9a-fA-F]+$/.test(line)) throw new Error(`upstream got a non-canonical chunk-size line ${JSON.stringify(line)}`);
    const size = parseInt(line, 16);
    at = eol + 2;
    if (size === 0) {
      // Trailer section: field lines until an empty line.
      for (;;) {
        const e = buf.indexOf('\r\n', at);
        if (e < 0) return -1;
        const empty = e === at;
        at = e + 2;
        if (empty) return at;
      }
    }
    if (buf.length < at + size + 2) return -1;
    if (buf.slice(at + size, at + size + 2) !== '\r\n') throw new Error('upstream got chunk data without its CRLF');
    at += size + 2;
  }
}

/**
 * A raw TCP upstream that reads the proxy's requests one by one, records each one's exact bytes
 * and answers 200 with the value of the request's `x-n` field as the body (or `#<k>`, its
 * global sequence number), so that clients can tell which request an answer belongs to;
 * `delayMs` holds each answer back that long (answers keep their order).
 */
export async function startRecordingUpstream(opts: { delayMs?: number } = {}): Promise<RecordingUpstream> {
  const sockets = new Set<net.Socket>();
  let seq = 0;
  const up: RecordingUpstream = {
    port: 0,
    requests: [],
    connections: [],
    errors: [],
    reset() {
      up.requests = [];
      up.connections = up.connections.filter((c) => !c.closed || c.leftover !== '');
      for (const c of up.connections) c.leftoverAtReset = c.leftover;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  let connIndex = 0;
  const server = net.createServer((s) => {
    sockets.add(s);
    const conn: UpstreamConnection = { index: connIndex++, leftover: '', leftoverAtReset: '', closed: false };
    up.connections.push(conn);
    s.on('error', () => {});
    s.on('close', () => {
      conn.closed = true;
      sockets.delete(s);
    });
    s.on('data', (d: Buffer) => {
      conn.leftover += d.toString('latin1');
      for (;;) {
        let end: number;
        try {
          end = requestEnd(conn.leftover);
        } catch (err) {
          up.errors.push(`connection ${conn.index}: ${(err as Error).message}`);
          s.destroy();
          return;
        }
        if (end < 0) return;
        const bytes = conn.leftover.slice(0, end);
        conn.leftover = conn.leftover.slice(end);
        seq++;
        up.requests.push({ bytes: normaliseRequestId(bytes), connection: conn.index });
        const n = /^x-n: (.*)$/m.exec(bytes.slice(0, bytes.indexOf('\r\n\r\n')));
        // A response to HEAD has no body (its length says 0 so that clients need not know).
        const body = bytes.startsWith('HEAD ') ? '' : n ? n[1]! : `#${seq}`;
        const answer = `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body, 'latin1')}\r\n\r\n${body}`;
        if (opts.delayMs) setTimeout(() => s.write(answer, 'latin1'), opts.delayMs);
        else s.write(answer, 'latin1');
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  up.port = (server.address() as AddressInfo).port;
  return up;
}

// ── Proxy ──────────────────────────────────────────────────────────────────────────────────

export interface Rig {
  proxy: ProxyServer;
  upstream: RecordingUpstream;
  /** Upstream of INTERNAL_HOST's route: must never receive anything in these suites. */
  internal: RecordingUpstream;
  logs: AccessLogEntry[];
  close(): Promise<void>;
}

/** `svc.test` → upstream, `internal.example.com` → internal, through a ProxyServer on loopback. */
export async function startRig(opts: { limits?: Partial<Limits>; http1?: ProxyServerOptions['http1']; upstreamDelayMs?: number } = {}): Promise<Rig> {
  const upstream = await startRecordingUpstream({ delayMs: opts.upstreamDelayMs });
  const internal = await startRecordingUpstream();
  const m: MeshConfig = mesh([{ name: 'backend', ports: [upstream.port] }], [{ name: 'default/vs/0', dests: [{ cluster: 'backend' }] }], [HOST]);
  const other = mesh([{ name: 'internal', ports: [internal.port] }], [{ name: 'internal/vs/0', dests: [{ cluster: 'internal' }] }], [INTERNAL_HOST]);
  m.virtualHosts.push({ ...other.virtualHosts[0]!, name: 'internal-vh' });
  m.clusters.push(...other.clusters);
  // The listener's suites check the target as received: no path normalization (the fragment is
  // still stripped, in every mode; test/http/path-normalization.test.ts covers the modes).
  m.pathNormalization = 'NONE';
  const logs: AccessLogEntry[] = [];
  const proxy = new ProxyServer({ host: '127.0.0.1', port: 0, log: (e) => logs.push(e), limits: { drainTimeoutMs: 100, ...opts.limits }, http1: opts.http1, seed: 1 });
  proxy.apply(m, 1);
  await proxy.listen();
  return {
    proxy,
    upstream,
    internal,
    logs,
    close: async () => {
      await proxy.close();
      await upstream.close();
      await internal.close();
    },
  };
}

/**
 * What the upstream receives for a forwarded request: the request line, the client's fields as
 * the proxy forwards them (names lower-cased, order kept), the fields the proxy adds, then the
 * framing field the proxy writes and the body.
 */
export function forwarded(line: string, fields: string[], framing = '', body = ''): string {
  const added = ['x-forwarded-for: 127.0.0.1', 'x-forwarded-proto: http', 'x-request-id: <id>', 'x-envoy-attempt-count: 1'];
  const all = [...fields, ...added, ...(framing ? [framing] : [])];
  return `${line}\r\n${all.map((f) => `${f}\r\n`).join('')}\r\n${body}`;
}

/** A chunked body as the proxy re-frames it (one chunk per piece, lower-case hex, no extensions). */
export function chunked(...pieces: string[]): string {
  return pieces.filter((p) => p.length > 0).map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';
}

// ── Raw client ─────────────────────────────────────────────────────────────────────────────

export interface ParsedResponse {
  status: number;
  head: string;
  /** Field lines, names lower-cased. */
  fields: Array<[string, string]>;
  body: string;
}

/**
 * Splits `data` into complete responses (content-length, chunked, or, when the server closed,
 * close-delimited), returning them and the bytes left over.
 */
export function parseResponses(data: string, closed: boolean): { responses: ParsedResponse[]; rest: string } {
  const responses: ParsedResponse[] = [];
  let at = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const head = data.slice(at, headEnd);
    const lines = head.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(lines[0])}`);
    const status = Number(m[1]);
    const fields = lines.slice(1).map((l): [string, string] => {
      const c = l.indexOf(':');
      return [l.slice(0, c).toLowerCase(), l.slice(c + 1).trim()];
    });
    const get = (n: string): string | undefined => fields.find(([k]) => k === n)?.[1];
    let bodyStart = headEnd + 4;
    let body: string;
    if (status === 100) {
      at = bodyStart;
      continue;
    }
    const cl = get('content-length');
    if (cl !== undefined) {
      if (data.length < bodyStart + Number(cl)) break;
      body = data.slice(bodyStart, bodyStart + Number(cl));
      at = bodyStart + Number(cl);
    } else if (get('transfer-encoding') === 'chunked') {
      body = '';
      let p = bodyStart;
      let done = false;
      for (;;) {
        const eol = data.indexOf('\r\n', p);
        if (eol < 0) break;
        const size = parseInt(data.slice(p, eol), 16);
        if (size === 0) {
          if (data.length < eol + 4) break;
          p = eol + 4;
          done = true;
          break;
        }
        if (data.length < eol + 2 + size + 2) break;
        body += data.slice(eol + 2, eol + 2 + size);
        p = eol + 2 + size + 2;
      }
      if (!done) break;
      at = p;
    } else if (status === 204 || status === 304) {
      body = '';
      at = bodyStart;
    } else {
      if (!closed) break;
      body = data.slice(bodyStart);
      at = data.length;
    }
    responses.push({ status, head, fields, body });
  }
  return { responses, rest: data.slice(at) };
}

export interface Exchange {
  responses: ParsedResponse[];
  /** Bytes after the last complete response. */
  rest: string;
  raw: string;
  closedByServer: boolean;
}

/** A write (string as latin1, so every byte 0x00-0xFF goes out as written) or a pause in ms. */
export type Step = string | Buffer | { pause: number };

/**
 * Writes `steps` on a fresh connection and reads until the server closes, or, once `expect`
 * responses have arrived, `quietMs` passes with nothing more (so keep-alive cases end fast
 * yet an extra answer would still be seen); `maxMs` bounds the wait.
 */
export function exchange(port: number, steps: Step[], expect: number, opts: { quietMs?: number; maxMs?: number } = {}): Promise<Exchange> {
  const quietMs = opts.quietMs ?? 60;
  const maxMs = opts.maxMs ?? 5000;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, '127.0.0.1');
    let closed = false;
    let finished = false;
    let quiet: NodeJS.Timeout | null = null;
    const limit = setTimeout(finish, maxMs);
    function finish(): void {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      if (quiet) clearTimeout(quiet);
      s.destroy();
      const raw = Buffer.concat(chunks).toString('latin1');
      const { responses, rest } = parseResponses(raw, closed);
      resolve({ responses, rest, raw, closedByServer: closed });
    }
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (quiet) clearTimeout(quiet);
      quiet = null;
      if (parseResponses(Buffer.concat(chunks).toString('latin1'), false).responses.length >= expect) quiet = setTimeout(finish, quietMs);
    });
    s.on('error', () => {});
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.on('connect', async () => {
      for (const step of steps) {
        if (s.destroyed) return;
        if (typeof step === 'object' && 'pause' in step) await new Promise((r) => setTimeout(r, step.pause));
        else s.write(typeof step === 'string' ? Buffer.from(step, 'latin1') : step);
      }
      if (expect === 0 && !closed) quiet = setTimeout(finish, quietMs);
    });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function waitFor(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not met in ${ms} ms`);
    await sleep(5);
  }
}
